"""The batched path of sync, second half: what ``sync_plan`` accepted, written in bulk.

A few statements per table whatever the batch's length: ``INSERT ... ON CONFLICT DO
NOTHING RETURNING`` for rows with client ids, so that a row a concurrent copy of the batch
committed meanwhile is seen, not doubled (the write raises ``Raced``; the caller rolls its
savepoint back and plans again, and those items are UNCHANGED or CONFLICT then), one
executemany UPDATE for changed conversations (locked first, still at the version read),
plain multi-row INSERTs for answers, chosen options, themes, consent lines and reminders.
Rows are sorted by id, so that concurrent batches take their locks in one order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from server.campaigns import residents, theme_rows
from server.campaigns.enums import ConsentMethod, FollowUpStatus, SyncStatus
from server.campaigns.followups import schedule_follow_up_reminders
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Consent,
    Conversation,
    ConversationTheme,
    FollowUp,
    QuestionSet,
    Resident,
)
from server.campaigns.sync_plan import Accepted, Plan
from server.campaigns.sync_rules import (
    answer_values,
    chosen,
    conversation_values,
    follow_up_note,
)
from server.campaigns.sync_types import ConversationRow
from server.core.bulk import insert_or_skip, insert_rows, read_rows
from server.core.models import table_of, utcnow
from server.security.access import Actor

_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_LOCK_CHANGED = (
    sa.select(col(Conversation.id), col(Conversation.version))
    .where(col(Conversation.id).in_(_IDS))
    .with_for_update()
)


class Raced(Exception):
    """A row the plan counted as new (or unchanged since read) was written by a
    concurrent request meanwhile: plan again."""


async def _insert_new(
    session: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]]
) -> None:
    """Insert rows by their client ids (sorted, so that concurrent batches take their
    locks in one order); one that is there already was written meanwhile: Raced."""
    if not rows:
        return
    rows.sort(key=lambda r: r["id"])
    stmt = insert_or_skip(session, model).returning(table_of(model).c.id)
    written = (await session.execute(stmt, rows)).scalars().all()
    if len(written) != len(rows):
        raise Raced(model.__name__)


async def write(session: AsyncSession, actor: Actor, plan: Plan) -> None:
    """Store what ``plan`` accepted, in the session's transaction."""
    accepted = plan.accepted
    if not accepted:
        return
    now = utcnow()
    themes = await _themes(session, actor, accepted)
    await _residents(session, actor, accepted, now)
    await _conversations(session, actor, accepted, now)
    await _contents(session, accepted, themes)
    await _follow_ups(session, actor, accepted, now)
    answered = list({a.question_set_id for a in accepted if a.mark_answered})
    if answered:
        await session.execute(
            sa.update(table_of(QuestionSet))
            .where(
                table_of(QuestionSet).c.id.in_(answered),
                table_of(QuestionSet).c.answered_at.is_(None),
            )
            .values(answered_at=now)
        )


async def _themes(
    session: AsyncSession, actor: Actor, accepted: list[Accepted]
) -> dict[str, uuid.UUID]:
    """The batch's themes by key, new ones created with their first spelling, and linked
    to the campaigns that raised them; one statement each."""
    names: dict[str, str] = {}
    for a in accepted:
        for key, name in a.themes.items():
            names.setdefault(key, name)
    if not names:
        return {}
    found = await theme_rows.theme_ids(session, actor.organisation_id, names)
    pairs = {(a.campaign_id, found[key]) for a in accepted for key in a.themes}
    await theme_rows.link_to_campaigns(session, pairs)
    return found


async def _residents(
    session: AsyncSession, actor: Actor, accepted: list[Accepted], now: datetime
) -> None:
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for a in accepted:
        meeting, data = a.meeting, a.data.resident
        if meeting is None or data is None:
            continue
        if meeting.new:
            new.append(
                {"id": meeting.resident_id, "created_at": now, "updated_at": now, **meeting.values}
            )
        elif meeting.values:
            changed.append({"id": meeting.resident_id, **meeting.values})
        lines += residents.ledger_rows(
            actor.organisation_id,
            meeting,
            data.consent.recorded_at,
            ConsentMethod.DOORSTEP,
            actor.user_id,
        )
    await _insert_new(session, Resident, new)
    # Known residents met again: one executemany for each set of columns that changes.
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in sorted(changed, key=lambda r: r["id"]):
        by_columns.setdefault(tuple(sorted(row)), []).append(
            {f"b_{k}": v for k, v in row.items()} | {"b_updated_at": now}
        )
    table = table_of(Resident)
    for columns, params in by_columns.items():
        names = [c for c in columns if c != "id"] + ["updated_at"]
        stmt = (
            sa.update(table)
            # One erased since the plan read it stays erased.
            .where(table.c.id == sa.bindparam("b_id"), table.c.erased_at.is_(None))
            .values({name: sa.bindparam(f"b_{name}") for name in names})
        )
        await session.execute(stmt, params)
    if lines:
        for line in lines:
            line |= {"id": uuid.uuid4(), "created_at": now, "updated_at": now}
        await insert_rows(session, Consent, lines)


def _row(a: Accepted, actor: Actor, now: datetime) -> ConversationRow:
    existing = a.existing
    return ConversationRow(
        id=a.id,
        campaign_id=a.campaign_id,
        organiser_id=existing.organiser_id if existing is not None else actor.user_id,
        resident_id=a.resident_id,
        version=existing.version + 1 if existing is not None else 1,
        updated_at=now,
        occurred_at=a.data.occurred_at,
        question_set_version=a.data.question_set_version,
        interest_level=a.data.interest_level,
        wants_involvement=a.data.wants_involvement,
        notes=a.data.notes,
        redacted_at=existing.redacted_at if existing is not None else None,
    )


async def _conversations(
    session: AsyncSession, actor: Actor, accepted: list[Accepted], now: datetime
) -> None:
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for a in accepted:
        a.row = _row(a, actor, now)
        values = conversation_values(a.data, a.digest) | {
            "resident_id": a.row.resident_id,
            "version": a.row.version,
            "updated_at": now,
        }
        if a.status is SyncStatus.CREATED:
            new.append(
                {
                    "id": a.id,
                    "organisation_id": actor.organisation_id,
                    "campaign_id": a.campaign_id,
                    "organiser_id": actor.user_id,
                    "created_at": now,
                    **values,
                }
            )
        else:
            changed.append({"b_id": a.id, **{f"b_{k}": v for k, v in values.items()}})
    if changed:
        await _change(session, accepted, changed)
    await _insert_new(session, Conversation, new)


async def _change(
    session: AsyncSession, accepted: list[Accepted], changed: list[dict[str, Any]]
) -> None:
    """Updated conversations: locked, still at the version the plan read (else Raced),
    their answers and themes cleared, their columns set (one executemany)."""
    ids = sorted(row["b_id"] for row in changed)
    read = {a.id: a.existing.version for a in accepted if a.existing is not None}
    locked = {row.id: row.version for row in await read_rows(session, _LOCK_CHANGED, {"ids": ids})}
    if any(locked.get(i) != read[i] for i in ids):
        raise Raced("Conversation")
    for model in (Answer, AnswerChoice, ConversationTheme):
        table = table_of(model)
        await session.execute(sa.delete(table).where(table.c.conversation_id.in_(ids)))
    table = table_of(Conversation)
    columns = [k.removeprefix("b_") for k in changed[0] if k != "b_id"]
    stmt = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values({name: sa.bindparam(f"b_{name}") for name in columns})
    )
    await session.execute(stmt, changed)


async def _contents(
    session: AsyncSession, accepted: list[Accepted], themes: dict[str, uuid.UUID]
) -> None:
    """Answers, chosen options and themes of the written conversations."""
    answers: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    linked: list[dict[str, Any]] = []
    for a in accepted:
        where = {"conversation_id": a.id, "campaign_id": a.campaign_id}
        version = a.data.question_set_version
        for answer in a.answers:
            answers.append({**where, "question_set_version": version, **answer_values(answer)})
            choices += [
                {
                    **where,
                    "question_id": answer.question_id,
                    "choice": choice,
                    "question_set_version": version,
                }
                for choice in chosen(answer)
            ]
        linked += [{**where, "theme_id": themes[key]} for key in a.themes]
    for model, rows in ((Answer, answers), (AnswerChoice, choices), (ConversationTheme, linked)):
        await insert_rows(session, model, rows)


async def _follow_ups(
    session: AsyncSession, actor: Actor, accepted: list[Accepted], now: datetime
) -> None:
    rows: list[dict[str, Any]] = []
    for a in accepted:
        data = a.data.follow_up
        if a.follow_up_id is None or data is None:
            continue
        rows.append(
            {
                "id": a.follow_up_id,
                "created_at": now,
                "updated_at": now,
                "organisation_id": actor.organisation_id,
                "campaign_id": a.campaign_id,
                "conversation_id": a.id,
                "resident_id": a.resident_id,
                "assignee_id": actor.user_id,
                "created_by_id": actor.user_id,
                "due_at": data.due_at,
                "note": follow_up_note(data),
                "status": FollowUpStatus.OPEN,
            }
        )
    await _insert_new(session, FollowUp, rows)
    await schedule_follow_up_reminders(session, *(SimpleNamespace(**r) for r in rows))
