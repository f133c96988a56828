"""GraphQL types of the residents domain: invitations, the public view a token opens, and
responses."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.campaigns.types import QuestionSetType, QuestionType
from schema.residents.enums import InvitationChannel
from server.residents.invitations import OpenInvitation
from server.residents.models import Invitation, Response


@strawberry.type(name="Invitation")
class InvitationType:
    id: strawberry.ID
    url: str | None = strawberry.field(
        description="The link to share or print (LINK); null for SMS and EMAIL, whose link "
        "travels only in the message to the resident."
    )
    channel: InvitationChannel
    expires_at: datetime

    @classmethod
    def of(cls, invitation: Invitation, url: str | None) -> InvitationType:
        return cls(
            id=strawberry.ID(str(invitation.id)),
            url=url,
            channel=invitation.channel,
            expires_at=invitation.expires_at,
        )


@strawberry.type(name="PublicOrganisation", description="An organisation as residents see it.")
class PublicOrganisationType:
    name: str


@strawberry.type(
    name="PublicCampaign",
    description="A campaign as residents see it: its title, description and organisation.",
)
class PublicCampaignType:
    title: str
    description: str | None
    organisation: PublicOrganisationType


@strawberry.type(name="PublicInvitation", description="What an invitation token opens.")
class PublicInvitationType:
    expires_at: datetime
    already_responded: bool
    privacy_notice: str
    campaign: PublicCampaignType
    question_set: QuestionSetType = strawberry.field(
        description="The campaign's current questions: answer this version."
    )

    @classmethod
    def of(cls, found: OpenInvitation) -> PublicInvitationType:
        return cls(
            expires_at=found.expires_at,
            already_responded=found.already_responded,
            privacy_notice=found.privacy_notice,
            campaign=PublicCampaignType(
                title=found.campaign_title,
                description=found.campaign_description,
                organisation=PublicOrganisationType(name=found.organisation_name),
            ),
            question_set=QuestionSetType(
                version=found.question_set_version,
                questions=[QuestionType.of(q) for q in found.questions],
            ),
        )


@strawberry.type(
    name="SubmittedResponse", description="A resident's response, as its sender sees it."
)
class ResponseType:
    id: strawberry.ID
    submitted_at: datetime

    @classmethod
    def of(cls, response: Response) -> ResponseType:
        return cls(id=strawberry.ID(str(response.id)), submitted_at=response.submitted_at)
