"""The per-item path of sync: each item with the ORM in its own SAVEPOINT.

The batched path (``sync_plan``, ``sync_write``) is the usual one; this one takes a batch
that repeats an id, and one whose bulk write met an integrity error it did not expect,
so that one bad item never rejects the others. Two copies of one batch racing meet at
the primary key: the loser's savepoint rolls back and it finds the winner's row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns import access, residents
from server.campaigns.answers import CleanAnswer
from server.campaigns.enums import SyncStatus
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
from server.campaigns.questions import mark_answered
from server.campaigns.sync_rules import (
    answer_values,
    checked_answers,
    chosen,
    conversation_values,
    decide,
    follow_up_note,
    no_question_set,
    parse_id,
    theme_names,
)
from server.campaigns.sync_types import ConversationData, FollowUpData, ItemResult
from server.campaigns.tallies import Tally
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.models import utcnow
from server.security.access import Actor


@dataclass
class _Batch:
    """What one sync has looked up already: campaigns and question sets by id."""

    campaigns: dict[uuid.UUID, Campaign | None] = field(default_factory=dict)
    versions: dict[tuple[uuid.UUID, int], QuestionSet | None] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)


async def apply_each(
    session: AsyncSession, actor: Actor, items: Sequence[ConversationData], tally: Tally
) -> list[ItemResult]:
    batch = _Batch(tally=tally)
    return [await _one(session, actor, item, batch) for item in items]


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


async def _apply(
    session: AsyncSession,
    actor: Actor,
    item: ConversationData,
    batch: _Batch,
    problems: list[Problem],
) -> tuple[SyncStatus, Conversation]:
    conversation_id = parse_id(item.id, "id", "conversation")
    campaign = await _campaign(
        session, actor, parse_id(item.campaign_id, "campaignId", "campaign"), batch
    )
    if campaign is None:
        raise UserError.of(UserErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    existing = await session.get(Conversation, conversation_id, populate_existing=True)
    digest = item.content_hash()
    status = decide(item, digest, actor.organisation_id, campaign.id, campaign.status, existing)
    if status in (SyncStatus.UNCHANGED, SyncStatus.CONFLICT):
        assert existing is not None
        return status, existing
    question_set = await _version(session, campaign.id, item.question_set_version, batch)
    if question_set is None:
        raise no_question_set()
    clean = checked_answers(question_set.questions, item)
    resident = (
        await residents.met(session, actor, item.resident, "resident", problems)
        if item.resident is not None
        else None
    )
    if resident is not None:
        await session.flush()
    resident_id = resident.id if resident is not None and resident.store_details else None
    values = conversation_values(item, digest)
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
    await session.flush()
    _store_answers(session, conversation, clean)
    await _store_themes(session, actor, conversation, item.themes)
    await mark_answered(session, question_set)
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
                campaign_id=conversation.campaign_id,
                question_set_version=conversation.question_set_version,
                **answer_values(answer),
            )
        )
        session.add_all(
            AnswerChoice(
                conversation_id=conversation.id,
                question_id=answer.question_id,
                choice=choice,
                campaign_id=conversation.campaign_id,
                question_set_version=conversation.question_set_version,
            )
            for choice in chosen(answer)
        )


async def _store_themes(
    session: AsyncSession, actor: Actor, conversation: Conversation, typed: Sequence[str]
) -> None:
    names = theme_names(typed)
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
    follow_up = FollowUp(
        id=follow_up_id,
        organisation_id=actor.organisation_id,
        campaign_id=conversation.campaign_id,
        conversation_id=conversation.id,
        resident_id=conversation.resident_id,
        assignee_id=actor.user_id,
        created_by_id=actor.user_id,
        due_at=data.due_at,
        note=follow_up_note(data),
    )
    session.add(follow_up)
    await session.flush()
    await schedule_follow_up_reminders(session, follow_up)
