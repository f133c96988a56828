"""Campaign updates ("you said, we did"): staff publish what came of a campaign, and every
resident of it who asked to hear back is told once, by email (preferred) or SMS.

A resident is "of the campaign" when they were met in one of its conversations or sent
one of its responses; erased residents and those without hear-back consent or without a
contact detail are not told. The update is unique per campaign and content: a retried
publish (or two at once) finds the update made first and tells nobody again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.campaigns import access
from server.campaigns.models import Conversation, Resident
from server.core.bulk import insert_or_skip
from server.core.enums import ChannelName
from server.core.errors import Problem
from server.core.models import table_of, utcnow
from server.core.validation import checked, collect, required_text
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec, ResidentRecipient
from server.residents.models import CampaignUpdate, Response
from server.residents.update_templates import CAMPAIGN_UPDATE
from server.security.access import Actor

MAX_TITLE = 200
MAX_BODY = 5000
# What a message carries of the body (an SMS is short; staff read the whole update).
SUMMARY_LENGTH = 480
# The newest updates a campaign lists (a handful in practice).
MAX_LISTED = 100

_CAMPAIGN: sa.BindParameter[Any] = sa.bindparam("campaign_id")
_ORG: sa.BindParameter[Any] = sa.bindparam("organisation_id")

_MET = sa.select(col(Conversation.resident_id)).where(
    col(Conversation.campaign_id) == _CAMPAIGN, col(Conversation.resident_id).is_not(None)
)
_RESPONDED = sa.select(col(Response.resident_id)).where(
    col(Response.campaign_id) == _CAMPAIGN, col(Response.resident_id).is_not(None)
)
# Everyone to tell, each once, in two statements whatever the campaign's size: the
# campaign's resident ids, then their rows by primary key. (As one statement joining the
# two, PostgreSQL chose a nested loop on tables not analysed yet: 6 to 9 s for 10,000.)
_OF_CAMPAIGN = sa.union(_MET, _RESPONDED)
_REACHABLE = (
    col(Resident.organisation_id) == _ORG,
    col(Resident.hear_back).is_(True),
    col(Resident.erased_at).is_(None),
    sa.or_(col(Resident.email).is_not(None), col(Resident.phone).is_not(None)),
)
_COLUMNS = (col(Resident.id), col(Resident.email), col(Resident.phone))
_IDS_ARRAY: sa.BindParameter[Any] = sa.bindparam("ids", type_=postgresql.ARRAY(sa.Uuid()))
_HEAR_BACK = {
    # One array parameter: an index scan of the primary key for any number of ids.
    "postgresql": sa.select(*_COLUMNS)
    .where(col(Resident.id) == sa.func.any(_IDS_ARRAY), *_REACHABLE)
    .order_by(col(Resident.id)),
    "sqlite": sa.select(*_COLUMNS)
    .where(col(Resident.id).in_(sa.bindparam("ids", expanding=True)), *_REACHABLE)
    .order_by(col(Resident.id)),
}
_SQLITE_CHUNK = 5000  # ids a statement, under SQLite's 32,766 parameters
_EXISTING = sa.select(CampaignUpdate).where(
    col(CampaignUpdate.campaign_id) == _CAMPAIGN,
    col(CampaignUpdate.content_hash) == sa.bindparam("content_hash"),
)
_LIST = (
    sa.select(CampaignUpdate)
    .where(
        col(CampaignUpdate.campaign_id) == _CAMPAIGN, col(CampaignUpdate.organisation_id) == _ORG
    )
    .order_by(col(CampaignUpdate.published_at).desc(), col(CampaignUpdate.id))
    .limit(MAX_LISTED)
)


def content_hash(title: str, body: str) -> str:
    """The same update however it was spaced: whitespace folded, then hashed."""
    normal = " ".join(title.split()) + "\n" + " ".join(body.split())
    return hashlib.sha256(normal.encode()).hexdigest()


def summary(body: str, length: int = SUMMARY_LENGTH) -> str:
    """The body's first ``length`` characters, cut at a word, with an ellipsis if cut."""
    text = " ".join(body.split())
    if len(text) <= length:
        return text
    cut = text[: length - 1].rsplit(" ", 1)[0]
    return cut + "\u2026"


def _recipient(row: Any) -> ResidentRecipient:
    if row.email:
        return ResidentRecipient(row.id, ChannelName.EMAIL, row.email)
    return ResidentRecipient(row.id, ChannelName.SMS, row.phone)


async def hear_back_recipients(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[ResidentRecipient]:
    """The campaign's residents who asked to hear back, each once, by their channel."""
    found = await session.scalars(_OF_CAMPAIGN, {"campaign_id": campaign_id})
    ids = sorted(i for i in found.all() if i is not None)
    dialect = session.get_bind().dialect.name
    size = max(len(ids), 1) if dialect == "postgresql" else _SQLITE_CHUNK
    rows: list[Any] = []
    for start in range(0, len(ids), size):
        params = {"organisation_id": organisation_id, "ids": ids[start : start + size]}
        rows += (await session.execute(_HEAR_BACK[dialect], params)).all()
    return [_recipient(row) for row in rows if row.email or row.phone]


def _insert_once(session: AsyncSession, values: dict[str, Any]) -> Any:
    """The update, unless the same one is there: a concurrent publish of the same content
    wins quietly (PostgreSQL waits for it to commit, then inserts nothing)."""
    insert = insert_or_skip(session, CampaignUpdate).values(**values)
    return insert.returning(table_of(CampaignUpdate).c.id)


async def publish_update(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, title: str, body: str
) -> CampaignUpdate:
    """Store the update and stage one message to every resident who asked to hear back;
    the same update published again returns the first and tells nobody twice."""
    access.require_staff(actor)
    campaign = await access.require_visible(session, actor, campaign_id)
    problems: list[Problem] = []
    clean_title = checked(
        lambda: required_text(title, "input.title", "a title", MAX_TITLE), problems
    )
    clean_body = checked(lambda: required_text(body, "input.body", "a body", MAX_BODY), problems)
    collect(*problems)
    assert clean_title is not None and clean_body is not None
    digest = content_hash(clean_title, clean_body)
    params = {"campaign_id": campaign.id, "content_hash": digest}
    existing = (await session.scalars(_EXISTING, params)).one_or_none()
    if existing is not None:
        return existing
    update_id = uuid.uuid4()
    now = utcnow()
    inserted = await session.scalar(
        _insert_once(
            session,
            {
                "id": update_id,
                "created_at": now,
                "updated_at": now,
                "organisation_id": campaign.organisation_id,
                "campaign_id": campaign.id,
                "title": clean_title,
                "body": clean_body,
                "content_hash": digest,
                "published_by_id": actor.user_id,
                "published_at": now,
                "recipient_count": 0,
            },
        )
    )
    if inserted is None:  # published at the same moment by another request: theirs
        return (await session.scalars(_EXISTING, params)).one()
    recipients = await hear_back_recipients(session, campaign.organisation_id, campaign.id)
    if recipients:
        stage_notification(
            session,
            NotifySpec(
                organisation_id=campaign.organisation_id,
                user_ids=[],
                template=CAMPAIGN_UPDATE,
                event_key=f"campaign_update:{update_id}",
                params={
                    "title": clean_title,
                    "summary": summary(clean_body),
                    "campaign": campaign.title,
                },
                residents=recipients,
            ),
        )
    update = await session.get_one(CampaignUpdate, update_id)
    update.recipient_count = len(recipients)
    audit(
        session,
        actor,
        "campaign.update_publish",
        update,
        {"campaign_id": str(campaign.id), "recipients": len(recipients)},
    )
    return update


async def list_updates(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID
) -> Sequence[CampaignUpdate]:
    """The campaign's newest MAX_LISTED updates, newest first (none for a campaign the
    actor cannot see)."""
    campaign = await access.get_visible(session, actor, campaign_id)
    if campaign is None:
        return []
    params = {"campaign_id": campaign.id, "organisation_id": campaign.organisation_id}
    return (await session.scalars(_LIST, params)).all()
