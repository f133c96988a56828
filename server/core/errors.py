"""Expected failures, raised by domain code and shown to clients.

``UserError`` becomes ``userErrors { field message code }`` in a mutation's payload;
``AccessDenied`` becomes a GraphQL error with ``extensions.code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class UserErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"
    ALREADY_DONE = "ALREADY_DONE"
    RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class Problem:
    code: UserErrorCode
    message: str
    field: str | None = None


class UserError(Exception):
    """One or more problems with what the caller sent; nothing was changed."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)
        # Raised outside a mutation's payload (a query argument), it is a GraphQL error.
        self.extensions = {"code": "BAD_USER_INPUT", "field": problems[0].field}

    @classmethod
    def of(cls, code: UserErrorCode, message: str, field: str | None = None) -> UserError:
        return cls(Problem(code, message, field))


class AccessDenied(Exception):
    """The caller is not signed in (UNAUTHENTICATED) or may not do this (FORBIDDEN)."""

    def __init__(self, code: str = "FORBIDDEN", message: str | None = None) -> None:
        default = "Sign in to do this." if code == "UNAUTHENTICATED" else "You may not do this."
        super().__init__(message or default)
        self.extensions = {"code": code}


def not_found(what: str, field: str | None = "id") -> UserError:
    return UserError.of(UserErrorCode.NOT_FOUND, f"No such {what}.", field)
