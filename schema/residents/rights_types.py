"""Types of a resident's data rights: what MyData shows them, and the settings admins keep."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.campaigns.types import AnswerType, ConsentType
from server.residents.retention import SettingsView
from server.residents.rights import MyConversation, MyData, MyResponse


@strawberry.type(name="MyDataCampaign")
class MyDataCampaignType:
    """A campaign as the resident sees it in their data: its title."""

    title: str


@strawberry.type(name="MyResponse")
class MyResponseType:
    campaign: MyDataCampaignType
    submitted_at: datetime
    rating: int | None
    comment: str | None
    answers: list[AnswerType]

    @classmethod
    def of(cls, item: MyResponse) -> MyResponseType:
        return cls(
            campaign=MyDataCampaignType(title=item.campaign_title),
            submitted_at=item.submitted_at,
            rating=item.rating,
            comment=item.comment,
            answers=[AnswerType.of(a) for a in item.answers],
        )


@strawberry.type(name="MyConversation")
class MyConversationType:
    """A conversation an organiser logged with the resident, with what they wrote."""

    campaign: MyDataCampaignType
    occurred_at: datetime
    notes: str | None
    answers: list[AnswerType]

    @classmethod
    def of(cls, item: MyConversation) -> MyConversationType:
        return cls(
            campaign=MyDataCampaignType(title=item.campaign_title),
            occurred_at=item.occurred_at,
            notes=item.notes,
            answers=[AnswerType.of(a) for a in item.answers],
        )


@strawberry.type(name="MyData")
class MyDataType:
    """Everything held about the resident."""

    name: str | None
    email: str | None
    phone: str | None
    postcode: str | None
    consent: ConsentType
    responses: list[MyResponseType]
    conversations: list[MyConversationType]

    @classmethod
    def of(cls, data: MyData) -> MyDataType:
        return cls(
            name=data.name,
            email=data.email,
            phone=data.phone,
            postcode=data.postcode,
            consent=ConsentType(
                store_details=data.consent.store_details,
                contact_again=data.consent.contact_again,
                hear_back=data.consent.hear_back,
                recorded_at=data.consent.recorded_at,
            ),
            responses=[MyResponseType.of(r) for r in data.responses],
            conversations=[MyConversationType.of(c) for c in data.conversations],
        )


@strawberry.type(name="ResidentSettings")
class ResidentSettingsType:
    retention_months: int = strawberry.field(
        description="Identifying details of residents not contacted for this many months "
        "are erased nightly."
    )
    privacy_notice: str | None = strawberry.field(
        description="Shown to residents before they answer; null: the standard notice."
    )

    @classmethod
    def of(cls, view: SettingsView) -> ResidentSettingsType:
        return cls(retention_months=view.retention_months, privacy_notice=view.privacy_notice)
