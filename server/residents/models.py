"""Tables of the residents domain.

A resident's personal data lives in the campaigns domain's ``residents`` and ``consents``
tables (one record whichever path met them); this domain adds what reaches residents and
what they send back: invitations, responses with their answers, manage tokens, campaign
updates ("you said, we did") and each organisation's retention setting. Tokens are stored
only as hashes (server/residents/tokens.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.campaigns.enums import ConsentMethod
from server.core.enums import enum_column
from server.core.models import Table, utcnow
from server.residents.enums import InvitationChannel

DEFAULT_INVITATION_DAYS = 30
DEFAULT_RETENTION_MONTHS = 24


class Invitation(Table, table=True):
    """One invitation to answer a campaign: a link, or a message to one resident."""

    __tablename__ = "invitations"

    __table_args__ = (sa.Index("ix_invitations_campaign", "campaign_id", "created_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    channel: InvitationChannel = Field(sa_type=enum_column(InvitationChannel))
    token_hash: str = Field(max_length=64, unique=True)
    # The resident an SMS or EMAIL invitation was sent to (none for a LINK).
    resident_id: uuid.UUID | None = Field(
        default=None, foreign_key="residents.id", index=True, ondelete="SET NULL"
    )
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    expires_at: datetime
    responded_at: datetime | None = None


class Response(Table, table=True):
    """A resident's answer to an invitation: one per invitation (the unique
    ``invitation_id`` decides between two that arrive at once)."""

    __tablename__ = "responses"

    __table_args__ = (sa.Index("ix_responses_campaign", "campaign_id", "submitted_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    invitation_id: uuid.UUID = Field(foreign_key="invitations.id", unique=True, ondelete="CASCADE")
    # Set only with consent to store details; then the resident's record (an erased
    # record keeps its id, with nothing identifying left).
    resident_id: uuid.UUID | None = Field(
        default=None, foreign_key="residents.id", index=True, ondelete="SET NULL"
    )
    method: ConsentMethod = Field(sa_type=enum_column(ConsentMethod))
    question_set_version: int
    rating: int | None = None
    comment: str | None = Field(default=None, max_length=5000)
    submitted_at: datetime = Field(default_factory=utcnow)
    redacted_at: datetime | None = None


class ResponseAnswer(SQLModel, table=True):
    """One answer of a response; as ``answers`` is for conversations."""

    __tablename__ = "response_answers"

    __table_args__ = (
        sa.Index(
            "ix_response_answers_campaign_version",
            "campaign_id",
            "question_set_version",
            "question_id",
        ),
    )

    response_id: uuid.UUID = Field(foreign_key="responses.id", primary_key=True, ondelete="CASCADE")
    question_id: uuid.UUID = Field(primary_key=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    question_set_version: int
    text: str | None = Field(default=None, max_length=5000)
    number: int | None = None
    choices: list[str] | None = Field(default=None, sa_type=sa.JSON)


class ResponseTheme(SQLModel, table=True):
    """A theme staff tagged a response with (what it was about, in the campaign's words)."""

    __tablename__ = "response_themes"

    response_id: uuid.UUID = Field(foreign_key="responses.id", primary_key=True, ondelete="CASCADE")
    theme_id: uuid.UUID = Field(foreign_key="themes.id", primary_key=True, index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", ondelete="CASCADE")


class ManageToken(Table, table=True):
    """The long-lived token that lets a resident see, stop or erase what is held about
    them; deleted with their data."""

    __tablename__ = "manage_tokens"

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    resident_id: uuid.UUID = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    last_used_at: datetime | None = None


class CampaignUpdate(Table, table=True):
    """ "You said, we did": what came of a campaign, told to residents who asked to hear
    back. ``content_hash`` makes a retried publish find the update it made before."""

    __tablename__ = "campaign_updates"

    __table_args__ = (sa.UniqueConstraint("campaign_id", "content_hash"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", ondelete="CASCADE")
    title: str = Field(max_length=200)
    body: str = Field(max_length=5000)
    content_hash: str = Field(max_length=64)
    published_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    published_at: datetime = Field(default_factory=utcnow)
    recipient_count: int = 0


class ResidentSettings(SQLModel, table=True):
    """An organisation's rules for residents' data (a row only once changed)."""

    __tablename__ = "resident_settings"

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", primary_key=True)
    # Identifying details of residents not contacted for this long are erased nightly.
    retention_months: int = DEFAULT_RETENTION_MONTHS
    # Shown to residents before they answer; none: the standard notice (server/residents/texts.py).
    privacy_notice: str | None = Field(default=None, max_length=10000)
    updated_at: datetime = Field(default_factory=utcnow)


MODELS = (
    Invitation,
    Response,
    ResponseAnswer,
    ResponseTheme,
    ManageToken,
    CampaignUpdate,
    ResidentSettings,
)
