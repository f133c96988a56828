"""A resident's response to an invitation (public: the token is the key)."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import UserError, user_errors
from schema.mutation import attempt
from schema.residents.inputs import ResponseInput
from schema.residents.public import allowed, rate_limited
from schema.residents.types import ResponseType
from server.residents import responses


@strawberry.type
class RespondToCampaignPayload:
    response: ResponseType | None = None
    manage_token: str | None = strawberry.field(
        default=None,
        description="Shown once, when details were stored: lets the resident see, stop or "
        "erase what is held about them.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResponseMutations:
    @strawberry.mutation(
        description="Answer the token's invitation, once (again: ALREADY_DONE; unknown or "
        "expired: EXPIRED). Anything identifying is kept only with storeDetails. Rate "
        "limited per address and token."
    )
    async def respond_to_campaign(
        self, info: Info, token: str, input: ResponseInput
    ) -> RespondToCampaignPayload:
        ctx = info.context
        if not await allowed(ctx, token):
            return RespondToCampaignPayload(user_errors=user_errors(rate_limited()))

        done, errors = await attempt(
            ctx, lambda session: responses.respond(session, token, input.data())
        )
        if done is None:
            return RespondToCampaignPayload(user_errors=errors)
        return RespondToCampaignPayload(
            response=ResponseType.of(done.response), manage_token=done.manage_token
        )
