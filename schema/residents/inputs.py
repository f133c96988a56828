"""Inputs of the residents domain (shapes fixed by the client contract's inputs.graphql)."""

from __future__ import annotations

import strawberry

from schema.campaigns.conversations import AnswerInput
from schema.lists import capped
from schema.residents.enums import InvitationChannel
from server.campaigns.answers import AnswerData
from server.campaigns.questions import MAX_QUESTIONS
from server.residents.invitations import MAX_INVITATIONS
from server.residents.responses import ResponseData


@strawberry.input
class CreateInvitationsInput:
    campaign_id: strawberry.ID
    channel: InvitationChannel
    count: int | None = strawberry.field(
        default=None, description=f"LINK only: how many links, 1 to {MAX_INVITATIONS} (1)."
    )
    resident_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"SMS and EMAIL only: at most {MAX_INVITATIONS} residents, each with "
        "consent to be contacted again and the detail for the channel.",
    )
    expires_in_days: int | None = strawberry.field(default=None, description="1 to 365 days (30).")


@strawberry.input
class ResponseContactInput:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    postcode: str | None = None


@strawberry.input(description="What the resident agrees to; contact needs storeDetails.")
class ResponseConsentInput:
    store_details: bool
    contact_again: bool
    hear_back: bool


@strawberry.input
class ResponseInput:
    question_set_version: int
    answers: list[AnswerInput] = strawberry.field(description=f"At most {MAX_QUESTIONS} answers.")
    rating: int | None = strawberry.field(
        default=None,
        description="0..10: how likely they are to recommend getting involved to a neighbour.",
    )
    comment: str | None = None
    consent: ResponseConsentInput
    contact: ResponseContactInput | None = strawberry.field(
        default=None, description="Kept only with storeDetails."
    )

    def data(self) -> ResponseData:
        answers = capped(self.answers, MAX_QUESTIONS, "input.answers", "answers")
        contact = self.contact or ResponseContactInput()
        return ResponseData(
            question_set_version=self.question_set_version,
            answers=[AnswerData(str(a.question_id), a.text, a.number, a.choices) for a in answers],
            rating=self.rating,
            comment=self.comment,
            store_details=self.consent.store_details,
            contact_again=self.consent.contact_again,
            hear_back=self.consent.hear_back,
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            postcode=contact.postcode,
        )
