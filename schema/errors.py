"""userErrors, and converting domain errors into them."""

from __future__ import annotations

import strawberry

from schema.enums import UserErrorCode
from server.core.errors import UserError as DomainUserError


@strawberry.type
class UserError:
    field: str | None
    message: str
    code: UserErrorCode


def user_errors(error: DomainUserError) -> list[UserError]:
    return [UserError(field=p.field, message=p.message, code=p.code) for p in error.problems]


@strawberry.type
class OkPayload:
    ok: bool
    user_errors: list[UserError] = strawberry.field(default_factory=list)
