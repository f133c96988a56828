"""The batched path of sync, first half: a whole batch checked in Python.

``plan`` reads what the batch names with one statement per table (campaigns, stored
conversations; for the items that will write: question set versions, residents,
follow-ups), never one per item, and decides each item by the rules of ``sync_rules``,
as the per-item path (``sync_items``) would: REJECTED, UNCHANGED and CONFLICT results are
final; CREATED and UPDATED items are ``Accepted``, with everything ``sync_write`` needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns import access, residents
from server.campaigns.answers import CleanAnswer
from server.campaigns.columns import CONVERSATION_COLUMNS
from server.campaigns.enums import SyncStatus
from server.campaigns.models import (
    Campaign,
    Conversation,
    FollowUp,
    QuestionSet,
    Resident,
)
from server.campaigns.sync_rules import (
    checked_answers,
    decide,
    no_question_set,
    parse_id,
    theme_names,
)
from server.campaigns.sync_types import ConversationData, ConversationRow, ItemResult
from server.core.bulk import read_rows
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.validation import uuid_or_none
from server.security.access import Actor

_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)

_CONVERSATIONS = sa.select(
    *CONVERSATION_COLUMNS, col(Conversation.organisation_id), col(Conversation.content_hash)
).where(col(Conversation.id).in_(_IDS))
_VERSIONS = sa.select(
    col(QuestionSet.id),
    col(QuestionSet.campaign_id),
    col(QuestionSet.version),
    col(QuestionSet.questions),
    col(QuestionSet.answered_at),
).where(
    col(QuestionSet.campaign_id).in_(_IDS),
    col(QuestionSet.version).in_(sa.bindparam("versions", expanding=True)),
)
_RESIDENT_FIELDS = (
    "name",
    "postcode",
    "email",
    "phone",
    "store_details",
    "contact_again",
    "hear_back",
    "consent_recorded_at",
)
_RESIDENTS = sa.select(
    col(Resident.id),
    col(Resident.organisation_id),
    col(Resident.erased_at),
    *(getattr(Resident, name) for name in _RESIDENT_FIELDS),
).where(col(Resident.id).in_(_IDS))
_FOLLOW_UPS = sa.select(col(FollowUp.id), col(FollowUp.organisation_id)).where(
    col(FollowUp.id).in_(_IDS)
)


@dataclass
class Accepted:
    """An item the plan accepted (CREATED or UPDATED), with everything its rows need."""

    index: int
    data: ConversationData
    id: uuid.UUID
    campaign_id: uuid.UUID
    status: SyncStatus
    digest: str
    existing: Any | None
    question_set_id: uuid.UUID
    mark_answered: bool
    answers: list[CleanAnswer]
    themes: dict[str, str]
    meeting: residents.Meeting | None
    follow_up_id: uuid.UUID | None
    problems: list[Problem]
    row: ConversationRow | None = None

    @property
    def resident_id(self) -> uuid.UUID | None:
        """The conversation's resident: the one met when linked, else the stored one."""
        if self.meeting is not None and self.meeting.linked:
            return self.meeting.resident_id
        return self.existing.resident_id if self.existing is not None else None


@dataclass
class Plan:
    results: list[ItemResult | None]  # decided items; None where an Accepted one goes
    accepted: list[Accepted] = field(default_factory=list)

    def created_ids(self) -> list[uuid.UUID]:
        return [a.id for a in self.accepted if a.status is SyncStatus.CREATED]

    def updated_ids(self) -> list[uuid.UUID]:
        return [a.id for a in self.accepted if a.status is SyncStatus.UPDATED]

    def item_results(self) -> list[ItemResult]:
        """Every item's result, in the batch's order (after ``write``)."""
        out = list(self.results)
        for a in self.accepted:
            out[a.index] = ItemResult(a.data.id, a.status, a.row, a.problems)
        return [r for r in out if r is not None]


def repeats_an_id(items: Sequence[ConversationData]) -> bool:
    """Whether two items name one conversation, resident or follow-up: such a batch goes
    item by item, each seeing what the one before stored."""
    for ids in (
        [i.id for i in items],
        [i.resident.id for i in items if i.resident is not None],
        [i.follow_up.id for i in items if i.follow_up is not None],
    ):
        keys = [_key(v) for v in ids]
        if len(set(keys)) != len(keys):
            return True
    return False


def _key(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _reject(item: ConversationData, error: UserError) -> ItemResult:
    return ItemResult(item.id, SyncStatus.REJECTED, problems=error.problems)


async def plan(session: AsyncSession, actor: Actor, items: Sequence[ConversationData]) -> Plan:
    results: list[ItemResult | None] = [None] * len(items)
    named: list[tuple[int, uuid.UUID, uuid.UUID]] = []
    for index, item in enumerate(items):
        try:
            conversation_id = parse_id(item.id, "id", "conversation")
            campaign_id = parse_id(item.campaign_id, "campaignId", "campaign")
        except UserError as error:
            results[index] = _reject(item, error)
            continue
        named.append((index, conversation_id, campaign_id))
    if not named:
        return Plan(results)
    campaign_ids = list({c for _, _, c in named})
    campaigns = {
        row.id: row.status
        for row in await read_rows(
            session,
            access.scope(
                sa.select(col(Campaign.id), col(Campaign.status)).where(  # type: ignore[arg-type]
                    col(Campaign.id).in_(campaign_ids)
                ),
                actor,
            ),
        )
    }
    stored = {
        row.id: row
        for row in await read_rows(session, _CONVERSATIONS, {"ids": [i for _, i, _ in named]})
    }
    pending: list[tuple[int, uuid.UUID, uuid.UUID, str, SyncStatus]] = []
    for index, conversation_id, campaign_id in named:
        item = items[index]
        existing = stored.get(conversation_id)
        try:
            if campaign_id not in campaigns:
                raise UserError.of(UserErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
            digest = item.content_hash()
            status = decide(
                item, digest, actor.organisation_id, campaign_id, campaigns[campaign_id], existing
            )
        except UserError as error:
            results[index] = _reject(item, error)
            continue
        if status in (SyncStatus.UNCHANGED, SyncStatus.CONFLICT):
            results[index] = ItemResult(item.id, status, existing)
        else:
            pending.append((index, conversation_id, campaign_id, digest, status))
    out = Plan(results)
    if pending:
        await _accept(session, actor, items, pending, stored, out)
    return out


async def _accept(
    session: AsyncSession,
    actor: Actor,
    items: Sequence[ConversationData],
    pending: list[tuple[int, uuid.UUID, uuid.UUID, str, SyncStatus]],
    stored: dict[uuid.UUID, Any],
    out: Plan,
) -> None:
    """The checks of the items that will write, against their question set versions,
    residents and follow-ups (each read with one statement for the batch)."""
    wanted = [items[index] for index, *_ in pending]
    versions = {
        (row.campaign_id, row.version): row
        for row in await read_rows(
            session,
            _VERSIONS,
            {
                "ids": list({c for _, _, c, _, _ in pending}),
                "versions": list({i.question_set_version for i in wanted}),
            },
        )
    }
    resident_ids = [uuid_or_none(i.resident.id) for i in wanted if i.resident is not None]
    people = await _by_id(session, _RESIDENTS, resident_ids)
    follow_up_ids = [uuid_or_none(i.follow_up.id) for i in wanted if i.follow_up is not None]
    follow_ups = await _by_id(session, _FOLLOW_UPS, follow_up_ids)
    for index, conversation_id, campaign_id, digest, status in pending:
        item = items[index]
        problems: list[Problem] = []
        try:
            version = versions.get((campaign_id, item.question_set_version))
            if version is None:
                raise no_question_set()
            clean = checked_answers(version.questions, item)
            meeting = None
            if item.resident is not None:
                found = people.get(uuid_or_none(item.resident.id) or uuid.UUID(int=0))
                meeting = residents.meeting(
                    actor.organisation_id, item.resident, found, "resident", problems
                )
        except UserError as error:
            out.results[index] = _reject(item, error)
            continue
        follow_up_id = None
        if item.follow_up is not None:
            follow_up_id = uuid_or_none(item.follow_up.id)
            known = follow_ups.get(follow_up_id) if follow_up_id else None
            if follow_up_id is None or (
                known is not None and known.organisation_id != actor.organisation_id
            ):
                problems.append(
                    Problem(UserErrorCode.NOT_FOUND, "No such follow-up.", "followUp.id")
                )
            if known is not None:
                follow_up_id = None
        out.accepted.append(
            Accepted(
                index=index,
                data=item,
                id=conversation_id,
                campaign_id=campaign_id,
                status=status,
                digest=digest,
                existing=stored.get(conversation_id),
                question_set_id=version.id,
                mark_answered=version.answered_at is None,
                answers=clean,
                themes=theme_names(item.themes),
                meeting=meeting,
                follow_up_id=follow_up_id,
                problems=problems,
            )
        )


async def _by_id(
    session: AsyncSession, stmt: Any, ids: list[uuid.UUID | None]
) -> dict[uuid.UUID, Any]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {row.id: row for row in await read_rows(session, stmt, {"ids": wanted})}
