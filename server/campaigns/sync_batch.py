"""The batched path of sync: a whole batch checked in Python, then written in bulk.

``plan`` reads what the batch names with one statement per table (campaigns, stored
conversations; for the items that will write: question set versions, residents,
follow-ups) and decides each item by the rules of ``sync_rules``, as the per-item path
would. ``write`` stores what the plan accepted with a few statements per table, whatever
the batch's length: ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for what is new, so
that a row a concurrent copy of the batch committed meanwhile is seen, not doubled (the
write then raises ``Raced``, and the caller rolls its savepoint back and plans again: the
other copy's rows are visible now, and those items are UNCHANGED or CONFLICT).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from server.campaigns import access, residents
from server.campaigns.answers import CleanAnswer, check_answers
from server.campaigns.columns import CONVERSATION_COLUMNS
from server.campaigns.enums import ConsentMethod, FollowUpStatus, QuestionKind, SyncStatus
from server.campaigns.followups import schedule_follow_up_reminders
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Campaign,
    CampaignTheme,
    Consent,
    Conversation,
    ConversationTheme,
    FollowUp,
    QuestionSet,
    Resident,
    Theme,
)
from server.campaigns.sync_rules import (
    check_fields,
    conversation_values,
    decide,
    follow_up_note,
    no_question_set,
    parse_id,
    theme_names,
)
from server.campaigns.sync_types import ConversationData, ConversationRow, ItemResult
from server.core.bulk import insert_rows
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.models import table_of, utcnow
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
_THEMES = sa.select(col(Theme.key), col(Theme.id)).where(
    col(Theme.organisation_id) == sa.bindparam("organisation_id"),
    col(Theme.key).in_(sa.bindparam("keys", expanding=True)),
)
_LOCK_CHANGED = (
    sa.select(col(Conversation.id), col(Conversation.version))
    .where(col(Conversation.id).in_(_IDS))
    .with_for_update()
)


class Raced(Exception):
    """A row the plan counted as new (or unchanged since read) was written by a
    concurrent request meanwhile: plan again."""


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
        for row in await _read(
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
        for row in await _read(session, _CONVERSATIONS, {"ids": [i for _, i, _ in named]})
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
        for row in await _read(
            session,
            _VERSIONS,
            {
                "ids": list({c for _, _, c, _, _ in pending}),
                "versions": list({i.question_set_version for i in wanted}),
            },
        )
    }
    resident_ids = [_uuid(i.resident.id) for i in wanted if i.resident is not None]
    people = await _by_id(session, _RESIDENTS, resident_ids)
    follow_up_ids = [_uuid(i.follow_up.id) for i in wanted if i.follow_up is not None]
    follow_ups = await _by_id(session, _FOLLOW_UPS, follow_up_ids)
    for index, conversation_id, campaign_id, digest, status in pending:
        item = items[index]
        problems: list[Problem] = []
        try:
            version = versions.get((campaign_id, item.question_set_version))
            if version is None:
                raise no_question_set()
            clean, answer_problems = check_answers(version.questions, item.answers)
            if answer_problems:
                raise UserError(*answer_problems)
            check_fields(item)
            meeting = None
            if item.resident is not None:
                found = people.get(_uuid(item.resident.id) or uuid.UUID(int=0))
                meeting = residents.meeting(
                    actor.organisation_id, item.resident, found, "resident", problems
                )
        except UserError as error:
            out.results[index] = _reject(item, error)
            continue
        follow_up_id = None
        if item.follow_up is not None:
            follow_up_id = _uuid(item.follow_up.id)
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


async def _read(session: AsyncSession, stmt: Any, params: Any = None) -> Any:
    """Plain rows, on the session's connection: without the ORM's result machinery."""
    return await (await session.connection()).execute(stmt, params)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def _by_id(
    session: AsyncSession, stmt: Any, ids: list[uuid.UUID | None]
) -> dict[uuid.UUID, Any]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {row.id: row for row in await _read(session, stmt, {"ids": wanted})}


# --- writing ---------------------------------------------------------------------------


def _insert(session: AsyncSession, model: type[SQLModel]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the session's database."""
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.on_conflict_do_nothing()


async def _insert_new(
    session: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]]
) -> None:
    """Insert rows by their client ids (sorted, so that concurrent batches take their
    locks in one order); one that is there already was written meanwhile: Raced."""
    if not rows:
        return
    rows.sort(key=lambda r: r["id"])
    stmt = _insert(session, model).returning(table_of(model).c.id)
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
    params = {"organisation_id": actor.organisation_id, "keys": list(names)}
    found = {row.key: row.id for row in await _read(session, _THEMES, params)}
    now = utcnow()
    new = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "organisation_id": actor.organisation_id,
            "key": key,
            "name": name,
        }
        for key, name in sorted(names.items())
        if key not in found
    ]
    if new:
        stmt = _insert(session, Theme).returning(table_of(Theme).c.key, table_of(Theme).c.id)
        found |= {row.key: row.id for row in await session.execute(stmt, new)}
        if len(found) < len(names):  # a concurrent request created some: theirs
            missing = {
                "organisation_id": actor.organisation_id,
                "keys": [k for k in names if k not in found],
            }
            found |= {row.key: row.id for row in await _read(session, _THEMES, missing)}
    pairs = sorted({(a.campaign_id, found[key]) for a in accepted for key in a.themes})
    await session.execute(
        _insert(session, CampaignTheme),
        [{"campaign_id": c, "theme_id": t, "created_at": now} for c, t in pairs],
    )
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
    for row in changed:  # a known resident met again: rare, and each changes other columns
        await session.execute(
            sa.update(table_of(Resident))
            .where(table_of(Resident).c.id == row.pop("id"))
            .values(**row, updated_at=now)
        )
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
    locked = {row.id: row.version for row in await _read(session, _LOCK_CHANGED, {"ids": ids})}
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
            answers.append(
                {
                    **where,
                    "question_id": answer.question_id,
                    "question_set_version": version,
                    "text": answer.text,
                    "number": answer.number,
                    "choices": list(answer.choices) if answer.choices is not None else None,
                }
            )
            if answer.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE):
                choices += [
                    {
                        **where,
                        "question_id": answer.question_id,
                        "choice": choice,
                        "question_set_version": version,
                    }
                    for choice in answer.choices or ()
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
