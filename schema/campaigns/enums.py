"""The campaigns domain's GraphQL enums (names and values fixed by the client contract)."""

import strawberry

from server.campaigns.enums import (
    CampaignKind,
    CampaignStatus,
    EventKind,
    FollowUpStatus,
    QuestionKind,
    RsvpStatus,
    SyncStatus,
)

for _enum in (
    CampaignKind,
    CampaignStatus,
    EventKind,
    FollowUpStatus,
    QuestionKind,
    RsvpStatus,
    SyncStatus,
):
    strawberry.enum(_enum, name=_enum.__name__)

__all__ = [
    "CampaignKind",
    "CampaignStatus",
    "EventKind",
    "FollowUpStatus",
    "QuestionKind",
    "RsvpStatus",
    "SyncStatus",
]
