"""Offline sync: conversations logged on a phone with no signal, uploaded later.

Each item is applied on its own, in its own SAVEPOINT: one bad item never rejects the
others. Ids are the client's, and each conversation keeps a hash of what the client sent
(``content_hash``), so an item sent again is UNCHANGED and stores nothing twice. Two
copies of one batch racing (a retrying client) meet at the primary key: the loser's
savepoint rolls back and it finds the winner's row, UNCHANGED. A stale ``baseVersion``
is CONFLICT with the server's copy (docs/decisions/0010).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from server.audit.service import audit
from server.campaigns import access, residents, watermark
from server.campaigns.answers import AnswerData, CleanAnswer, check_answers
from server.campaigns.enums import CampaignStatus, QuestionKind, SyncStatus
from server.campaigns.followups import schedule_follow_up_reminders
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Campaign,
    CampaignTheme,
    Conversation,
    ConversationTheme,
    FollowUp,
    QuestionSet,
    Theme,
)
from server.campaigns.tallies import Tally
from server.campaigns.themes import theme_key, theme_name
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.models import utcnow
from server.core.services import Services
from server.security.access import Actor

MAX_ITEMS = 500
MAX_THEMES = 20
MAX_NOTES = 5000


@dataclass(frozen=True)
class FollowUpData:
    id: str
    due_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class ConversationData:
    id: str
    campaign_id: str
    occurred_at: datetime
    question_set_version: int
    answers: Sequence[AnswerData]
    themes: Sequence[str]
    base_version: int | None = None
    interest_level: int | None = None
    wants_involvement: bool | None = None
    notes: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_meters: float | None = None
    resident: residents.ResidentData | None = None
    follow_up: FollowUpData | None = None

    def content_hash(self) -> str:
        """What the client said, without the version it based it on."""
        content = asdict(self)
        content.pop("base_version")
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class ItemResult:
    id: str
    status: SyncStatus
    conversation: Conversation | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def version(self) -> int | None:
        return self.conversation.version if self.conversation else None


@dataclass(frozen=True)
class SyncResult:
    server_time: datetime
    results: list[ItemResult]


@dataclass
class _Batch:
    """What one sync has looked up already: campaigns and question sets by id; and the
    report tallies' change of the items that stuck."""

    campaigns: dict[uuid.UUID, Campaign | None] = field(default_factory=dict)
    versions: dict[tuple[uuid.UUID, int], QuestionSet | None] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)


async def sync_conversations(
    session: AsyncSession, services: Services, actor: Actor, items: Sequence[ConversationData]
) -> SyncResult:
    if len(items) > MAX_ITEMS:
        raise UserError.of(
            UserErrorCode.INVALID,
            f"Send at most {MAX_ITEMS} conversations at a time; send the rest in another call.",
            "input.conversations",
        )
    prefix = services.settings.redis_prefix
    batch = _Batch()
    results: list[ItemResult] = []
    async with watermark.writing(services.redis, prefix, actor.organisation_id):
        for item in items:
            results.append(await _one(session, actor, item, batch))
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status.value] = counts.get(result.status.value, 0) + 1
        audit(session, actor, "conversations.sync", (Conversation, None), counts)
        await batch.tally.flush(session)
        await session.commit()
    server_time = await watermark.safe_since(services.redis, prefix, actor.organisation_id)
    return SyncResult(server_time=server_time, results=results)


async def _one(
    session: AsyncSession, actor: Actor, item: ConversationData, batch: _Batch
) -> ItemResult:
    """One item in its savepoint; a clash with a concurrent copy is looked at once more:
    another request stored the same conversation, resident, follow-up or theme between our
    read and our write, and has committed it now. A second clash is a bug and propagates."""
    try:
        return await _attempt(session, actor, item, batch)
    except IntegrityError:
        batch.versions.clear()
        return await _attempt(session, actor, item, batch)


async def _attempt(
    session: AsyncSession, actor: Actor, item: ConversationData, batch: _Batch
) -> ItemResult:
    problems: list[Problem] = []
    try:
        async with batch.tally.item(), session.begin_nested():
            status, conversation = await _apply(session, actor, item, batch, problems)
    except UserError as error:
        return ItemResult(item.id, SyncStatus.REJECTED, problems=error.problems)
    return ItemResult(item.id, status, conversation, problems)


async def _campaign(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, batch: _Batch
) -> Campaign | None:
    if campaign_id not in batch.campaigns:
        batch.campaigns[campaign_id] = await access.get_visible(session, actor, campaign_id)
    return batch.campaigns[campaign_id]


async def _version(
    session: AsyncSession, campaign_id: uuid.UUID, version: int, batch: _Batch
) -> QuestionSet | None:
    key = (campaign_id, version)
    if key not in batch.versions:
        batch.versions[key] = await session.scalar(
            sa.select(QuestionSet).where(
                col(QuestionSet.campaign_id) == campaign_id, col(QuestionSet.version) == version
            )
        )
    return batch.versions[key]


def _uuid(value: str, at: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserError.of(UserErrorCode.NOT_FOUND, f"No such {what}.", at) from None


def _fields(item: ConversationData) -> None:
    if item.interest_level is not None and not 0 <= item.interest_level <= 5:
        raise UserError.of(UserErrorCode.INVALID, "Interest is from 0 to 5.", "interestLevel")
    if item.notes is not None and len(item.notes) > MAX_NOTES:
        raise UserError.of(UserErrorCode.INVALID, f"At most {MAX_NOTES} characters.", "notes")
    if len(item.themes) > MAX_THEMES:
        raise UserError.of(UserErrorCode.INVALID, f"At most {MAX_THEMES} themes.", "themes")


async def _apply(
    session: AsyncSession,
    actor: Actor,
    item: ConversationData,
    batch: _Batch,
    problems: list[Problem],
) -> tuple[SyncStatus, Conversation]:
    conversation_id = _uuid(item.id, "id", "conversation")
    campaign = await _campaign(
        session, actor, _uuid(item.campaign_id, "campaignId", "campaign"), batch
    )
    if campaign is None:
        raise UserError.of(UserErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    existing = await session.get(Conversation, conversation_id, populate_existing=True)
    if existing is not None and (
        existing.organisation_id != actor.organisation_id or existing.campaign_id != campaign.id
    ):
        raise UserError.of(UserErrorCode.NOT_FOUND, "No such conversation.", "id")
    digest = item.content_hash()
    if existing is not None and existing.content_hash == digest:
        return SyncStatus.UNCHANGED, existing
    if campaign.status is not CampaignStatus.ACTIVE:
        message = (
            "This campaign is closed: it takes no more conversations."
            if campaign.status is CampaignStatus.CLOSED
            else "This campaign has not started yet."
        )
        raise UserError.of(UserErrorCode.CLOSED, message, "campaignId")
    if existing is not None and item.base_version != existing.version:
        return SyncStatus.CONFLICT, existing
    if existing is None and item.base_version is not None:
        raise UserError.of(UserErrorCode.NOT_FOUND, "No such conversation.", "id")
    question_set = await _version(session, campaign.id, item.question_set_version, batch)
    if question_set is None:
        raise UserError.of(
            UserErrorCode.INVALID, "No such question set version.", "questionSetVersion"
        )
    clean, answer_problems = check_answers(question_set.questions, item.answers)
    if answer_problems:
        raise UserError(*answer_problems)
    _fields(item)
    resident = (
        await residents.met(session, actor, item.resident, "resident", problems)
        if item.resident is not None
        else None
    )
    if resident is not None:
        await session.flush()
    resident_id = resident.id if resident is not None and resident.store_details else None
    values: dict[str, Any] = {
        "occurred_at": item.occurred_at,
        "question_set_version": question_set.version,
        "interest_level": item.interest_level,
        "wants_involvement": item.wants_involvement,
        "notes": item.notes,
        "latitude": item.latitude,
        "longitude": item.longitude,
        "accuracy_meters": item.accuracy_meters,
        "content_hash": digest,
    }
    if existing is None:
        conversation = Conversation(
            id=conversation_id,
            organisation_id=actor.organisation_id,
            campaign_id=campaign.id,
            organiser_id=actor.user_id,
            resident_id=resident_id,
            **values,
        )
        session.add(conversation)
        status = SyncStatus.CREATED
    else:
        await batch.tally.retract(session, [existing.id])
        conversation = existing
        for key, value in values.items():
            setattr(conversation, key, value)
        if resident_id is not None:
            conversation.resident_id = resident_id
        conversation.version += 1
        conversation.updated_at = utcnow()
        for table in (Answer, AnswerChoice, ConversationTheme):
            await session.execute(
                sa.delete(table).where(col(table.conversation_id) == conversation.id)
            )
        status = SyncStatus.UPDATED
    await session.flush()
    _store_answers(session, conversation, clean)
    await _store_themes(session, actor, conversation, item.themes)
    if question_set.answered_at is None:
        answered_at = utcnow()
        await session.execute(
            sa.update(QuestionSet)
            .where(col(QuestionSet.id) == question_set.id, col(QuestionSet.answered_at).is_(None))
            .values(answered_at=answered_at)
        )
        # Known now, without a second UPDATE at the next flush.
        set_committed_value(question_set, "answered_at", answered_at)
    if item.follow_up is not None:
        await _follow_up(session, actor, conversation, item.follow_up, problems)
    await session.flush()
    batch.tally.add([conversation.id])
    return status, conversation


def _store_answers(
    session: AsyncSession, conversation: Conversation, clean: list[CleanAnswer]
) -> None:
    for answer in clean:
        session.add(
            Answer(
                conversation_id=conversation.id,
                question_id=answer.question_id,
                campaign_id=conversation.campaign_id,
                question_set_version=conversation.question_set_version,
                text=answer.text,
                number=answer.number,
                choices=list(answer.choices) if answer.choices is not None else None,
            )
        )
        if answer.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE):
            session.add_all(
                AnswerChoice(
                    conversation_id=conversation.id,
                    question_id=answer.question_id,
                    choice=choice,
                    campaign_id=conversation.campaign_id,
                    question_set_version=conversation.question_set_version,
                )
                for choice in answer.choices or ()
            )


async def _store_themes(
    session: AsyncSession, actor: Actor, conversation: Conversation, typed: Sequence[str]
) -> None:
    names = {theme_key(t): theme_name(t) for t in reversed(typed) if theme_key(t)}
    if not names:
        return
    found = {
        theme.key: theme
        for theme in await session.scalars(
            sa.select(Theme).where(
                col(Theme.organisation_id) == actor.organisation_id, col(Theme.key).in_(names)
            )
        )
    }
    for key, name in names.items():
        if key not in found:
            found[key] = Theme(organisation_id=actor.organisation_id, key=key, name=name)
            session.add(found[key])
    await session.flush()
    known = set(
        (
            await session.scalars(
                sa.select(col(CampaignTheme.theme_id)).where(
                    col(CampaignTheme.campaign_id) == conversation.campaign_id,
                    col(CampaignTheme.theme_id).in_([t.id for t in found.values()]),
                )
            )
        ).all()
    )
    for theme in found.values():
        session.add(
            ConversationTheme(
                conversation_id=conversation.id,
                theme_id=theme.id,
                campaign_id=conversation.campaign_id,
            )
        )
        if theme.id not in known:
            session.add(CampaignTheme(campaign_id=conversation.campaign_id, theme_id=theme.id))


async def _follow_up(
    session: AsyncSession,
    actor: Actor,
    conversation: Conversation,
    data: FollowUpData,
    problems: list[Problem],
) -> None:
    """The organiser's own follow-up, idempotent by its id; a problem with it is a
    userError on ``followUp.*`` and the conversation still applies."""
    try:
        follow_up_id = uuid.UUID(str(data.id))
    except ValueError:
        problems.append(Problem(UserErrorCode.NOT_FOUND, "No such follow-up.", "followUp.id"))
        return
    existing = await session.get(FollowUp, follow_up_id)
    if existing is not None:
        if existing.organisation_id != actor.organisation_id:
            problems.append(Problem(UserErrorCode.NOT_FOUND, "No such follow-up.", "followUp.id"))
        return
    note = " ".join((data.note or "").split())[:2000] or None
    follow_up = FollowUp(
        id=follow_up_id,
        organisation_id=actor.organisation_id,
        campaign_id=conversation.campaign_id,
        conversation_id=conversation.id,
        resident_id=conversation.resident_id,
        assignee_id=actor.user_id,
        created_by_id=actor.user_id,
        due_at=data.due_at,
        note=note,
    )
    session.add(follow_up)
    await session.flush()
    await schedule_follow_up_reminders(session, follow_up)
