"""Small checks on what callers send, shared by every domain."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TypeVar

from server.core.errors import Problem, UserError, UserErrorCode

T = TypeVar("T")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str) -> str:
    email = normalise_email(email)
    if not email:
        raise UserError.of(UserErrorCode.REQUIRED, "Enter an email address.", field)
    if len(email) > 320 or not _EMAIL.match(email):
        raise UserError.of(UserErrorCode.INVALID, "Enter a valid email address.", field)
    return email


def required_text(value: str | None, field: str, what: str, max_length: int = 200) -> str:
    text = (value or "").strip()
    if not text:
        raise UserError.of(UserErrorCode.REQUIRED, f"Enter {what}.", field)
    if len(text) > max_length:
        raise UserError.of(
            UserErrorCode.INVALID, f"Use at most {max_length} characters for {what}.", field
        )
    return text


def optional_text(value: str | None, field: str, what: str, max_length: int = 200) -> str | None:
    if value is None or not value.strip():
        return None
    return required_text(value, field, what, max_length)


def collect(*checks: Problem | None) -> None:
    """Raise one UserError with every problem found, so the caller can fix them all."""
    problems = [p for p in checks if p is not None]
    if problems:
        raise UserError(*problems)


def checked(check: Callable[[], T], problems: list[Problem]) -> T | None:
    """Run one check; a problem is kept for reporting with the others."""
    try:
        return check()
    except UserError as error:
        problems.extend(error.problems)
        return None


def uuid_or_none(value: object) -> uuid.UUID | None:
    """The UUID a client sent, or None when it is not one (callers report NOT_FOUND at its
    place, as for an unknown id)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
