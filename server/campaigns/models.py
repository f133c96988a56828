"""Tables of the campaigns domain: campaigns, question sets, residents and their consent,
conversations with their answers and themes, follow-ups, events and RSVPs.

Ids of what the mobile app creates offline (conversations, residents, follow-ups) are the
client's own UUIDs, so a retried upload finds what it stored before. Answers, choices and
themes carry their campaign (and version) so that the report's aggregates read one index.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.campaigns.enums import (
    CampaignKind,
    CampaignStatus,
    ConsentKind,
    ConsentMethod,
    EventKind,
    FollowUpStatus,
    RsvpStatus,
)
from server.core.enums import enum_column
from server.core.models import Table, utcnow


class Campaign(Table, table=True):
    __tablename__ = "campaigns"

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    kind: CampaignKind = Field(sa_type=enum_column(CampaignKind))
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    status: CampaignStatus = Field(
        default=CampaignStatus.DRAFT, sa_type=enum_column(CampaignStatus)
    )
    area_id: uuid.UUID | None = Field(default=None, foreign_key="areas.id", index=True)
    starts_on: date | None = None
    ends_on: date | None = None
    target_conversations: int | None = None
    # The version of the question set that new conversations answer.
    question_set_version: int = 1
    activated_at: datetime | None = None
    closed_at: datetime | None = None


class CampaignOrganiser(SQLModel, table=True):
    """A member assigned to work on a campaign."""

    __tablename__ = "campaign_organisers"

    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class QuestionSet(Table, table=True):
    """One version of a campaign's questions. ``questions`` is a list of
    ``{id, kind, prompt, choices, required}``; a question keeps its id across versions."""

    __tablename__ = "question_sets"

    __table_args__ = (sa.UniqueConstraint("campaign_id", "version"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    version: int
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    # Set by the first answer: from then on a change makes a new version.
    answered_at: datetime | None = None


class Theme(Table, table=True):
    """What residents care about, in the organisation's words: ``key`` is the normalised
    name ("bins" for "Bins", "bins " and "BINS!"), ``name`` its first spelling."""

    __tablename__ = "themes"

    __table_args__ = (sa.UniqueConstraint("organisation_id", "key"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id")
    key: str = Field(max_length=100)
    name: str = Field(max_length=100)


class CampaignTheme(SQLModel, table=True):
    """A theme raised in a campaign (kept as conversations are synced)."""

    __tablename__ = "campaign_themes"

    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", primary_key=True, ondelete="CASCADE")
    theme_id: uuid.UUID = Field(foreign_key="themes.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Resident(Table, table=True):
    """A person met, stored only with their consent to store details. The consent columns
    mirror the latest line of each kind in the ledger (``consents``), which is the record."""

    __tablename__ = "residents"

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    name: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=10)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=20)
    store_details: bool = False
    contact_again: bool = False
    hear_back: bool = False
    consent_recorded_at: datetime | None = None
    erased_at: datetime | None = None


class Consent(Table, table=True):
    """One line of the consent ledger: a grant or change of one kind, when, how and by
    whom it was recorded. Never updated; the latest line of each kind is current."""

    __tablename__ = "consents"

    __table_args__ = (sa.Index("ix_consents_resident_kind", "resident_id", "kind", "recorded_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    resident_id: uuid.UUID = Field(foreign_key="residents.id", ondelete="CASCADE")
    kind: ConsentKind = Field(sa_type=enum_column(ConsentKind))
    granted: bool
    method: ConsentMethod = Field(sa_type=enum_column(ConsentMethod))
    recorded_at: datetime
    recorded_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class Conversation(Table, table=True):
    """A listening conversation, as the organiser logged it (offline, synced later).

    ``version`` starts at 1 and goes up with each accepted change; ``content_hash`` is the
    hash of what the client last sent, so a replayed item is recognised as UNCHANGED.
    ``updated_at`` is set by the server and is what ConversationChanges pages by.
    """

    __tablename__ = "conversations"

    __table_args__ = (
        sa.Index("ix_conversations_campaign_changes", "campaign_id", "updated_at", "id"),
        sa.Index("ix_conversations_campaign_occurred", "campaign_id", "occurred_at"),
        # The report's stats read only this index (count, residents reached, involvement).
        sa.Index(
            "ix_conversations_campaign_residents", "campaign_id", "resident_id", "wants_involvement"
        ),
    )

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")
    organiser_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    resident_id: uuid.UUID | None = Field(default=None, foreign_key="residents.id", index=True)
    version: int = 1
    content_hash: str = Field(max_length=64)
    occurred_at: datetime
    question_set_version: int
    interest_level: int | None = None
    wants_involvement: bool | None = None
    notes: str | None = Field(default=None, max_length=5000)
    latitude: float | None = None
    longitude: float | None = None
    accuracy_meters: float | None = None
    redacted_at: datetime | None = None


class Answer(SQLModel, table=True):
    """One answer of a conversation; exactly one of text, number and choices is set."""

    __tablename__ = "answers"

    __table_args__ = (
        # Wide enough for the report's counts by value to read only the index.
        sa.Index(
            "ix_answers_campaign_version",
            "campaign_id",
            "question_set_version",
            "question_id",
            "number",
        ),
    )

    conversation_id: uuid.UUID = Field(
        foreign_key="conversations.id", primary_key=True, ondelete="CASCADE"
    )
    question_id: uuid.UUID = Field(primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")
    question_set_version: int
    text: str | None = Field(default=None, max_length=5000)
    number: int | None = None
    choices: list[str] | None = Field(default=None, sa_type=sa.JSON)


class AnswerChoice(SQLModel, table=True):
    """One chosen option of a choice answer: what the report counts choices by."""

    __tablename__ = "answer_choices"

    __table_args__ = (
        sa.Index(
            "ix_answer_choices_campaign_version",
            "campaign_id",
            "question_set_version",
            "question_id",
            "choice",
        ),
    )

    conversation_id: uuid.UUID = Field(
        foreign_key="conversations.id", primary_key=True, ondelete="CASCADE"
    )
    question_id: uuid.UUID = Field(primary_key=True)
    choice: str = Field(primary_key=True, max_length=200)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")
    question_set_version: int


class ConversationTheme(SQLModel, table=True):
    __tablename__ = "conversation_themes"

    __table_args__ = (sa.Index("ix_conversation_themes_campaign", "campaign_id", "theme_id"),)

    conversation_id: uuid.UUID = Field(
        foreign_key="conversations.id", primary_key=True, ondelete="CASCADE"
    )
    theme_id: uuid.UUID = Field(foreign_key="themes.id", primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")


class CampaignTally(SQLModel, table=True):
    """A running count (or sum) of one of a campaign's report figures, kept in the same
    transaction as the writes it counts (server/campaigns/tallies.py). The key is
    ``(campaign, kind, version, ref, value)``; a part a kind does not use is 0, the nil
    UUID or ''."""

    __tablename__ = "campaign_tallies"

    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(primary_key=True, max_length=32)
    version: int = Field(default=0, primary_key=True)
    ref: uuid.UUID = Field(default=uuid.UUID(int=0), primary_key=True)
    value: str = Field(default="", primary_key=True, max_length=200)
    n: int = Field(default=0, sa_type=sa.BigInteger)


class FollowUp(Table, table=True):
    """Something an organiser must do by ``due_at``; the id is the client's."""

    __tablename__ = "follow_ups"

    __table_args__ = (sa.Index("ix_follow_ups_assignee_status", "assignee_id", "status", "due_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", index=True)
    conversation_id: uuid.UUID | None = Field(default=None, foreign_key="conversations.id")
    resident_id: uuid.UUID | None = Field(default=None, foreign_key="residents.id", index=True)
    assignee_id: uuid.UUID = Field(foreign_key="users.id")
    created_by_id: uuid.UUID = Field(foreign_key="users.id")
    due_at: datetime
    note: str | None = Field(default=None, max_length=2000)
    status: FollowUpStatus = Field(default=FollowUpStatus.OPEN, sa_type=enum_column(FollowUpStatus))
    outcome: str | None = Field(default=None, max_length=2000)
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = Field(default=None, max_length=2000)
    escalated_at: datetime | None = None


class Event(Table, table=True):
    __tablename__ = "events"

    __table_args__ = (sa.Index("ix_events_campaign_starts", "campaign_id", "starts_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id")
    kind: EventKind = Field(sa_type=enum_column(EventKind))
    title: str = Field(max_length=200)
    starts_at: datetime
    ends_at: datetime | None = None
    location: str | None = Field(default=None, max_length=500)
    created_by_id: uuid.UUID = Field(foreign_key="users.id")


class EventRsvp(SQLModel, table=True):
    """A member's answer to an event invitation; changeable, one per member."""

    __tablename__ = "event_rsvps"

    event_id: uuid.UUID = Field(foreign_key="events.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, index=True)
    status: RsvpStatus = Field(sa_type=enum_column(RsvpStatus))
    updated_at: datetime = Field(default_factory=utcnow)


MODELS = (
    Campaign,
    CampaignOrganiser,
    QuestionSet,
    Theme,
    CampaignTheme,
    Resident,
    Consent,
    Conversation,
    Answer,
    AnswerChoice,
    ConversationTheme,
    CampaignTally,
    FollowUp,
    Event,
    EventRsvp,
)
