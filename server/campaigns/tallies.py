"""Running counts behind a campaign's report (table ``campaign_tallies``), kept in the
same transaction as the conversation writes they count, so the report reads a few small
rows instead of scanning every conversation, answer and theme.

A transaction's change is the counts of the conversations it touched as they are at the
end, less their counts before it touched them. ``Tally`` collects that:

    tally = Tally()
    await tally.retract(session, ids)  # BEFORE changing existing conversations
    tally.add(ids)                     # created or changed ones (read at flush)
    await tally.flush(session)         # once, before the commit: the net upserts

``retract`` reads the current counts of those ids (one grouped statement) the first time
the transaction touches them; ``flush`` reads the final counts of every added id (one
grouped statement) and upserts the net non-zero deltas in key order, so that concurrent
syncs of a campaign lock its rows in the same order. Inside ``async with tally.item():``
(around an item's savepoint) what is recorded counts only if the block ends without an
exception: a rolled-back item leaves no trace.

Distinct residents are not a sum: MET rows count a campaign's conversations with each
resident, and REACHED moves by one when a MET row goes from zero to more or back.

Kinds are counts of what ``_sources`` selects. Other domains keep kinds of their own
(residents' responses: a count, a rating sum and NPS counts, and MET rows for the residents
who answered) with ``add_counts``, and add them again when a campaign is rebuilt by
listening to ``TALLIES_REBUILT``. ``rebuild`` recomputes a campaign's tallies from scratch
(demo, benchmark seeding, tests, ``doorstep recount-tallies`` as a repair): run it while
nothing syncs into that campaign.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Campaign,
    CampaignTally,
    Conversation,
    ConversationTheme,
)
from server.campaigns.signals import TALLIES_REBUILT

NIL = uuid.UUID(int=0)


class TallyKind(StrEnum):
    CONVERSATIONS = "CONVERSATIONS"
    INVOLVED = "INVOLVED"  # conversations where the resident wants to get involved
    MET = "MET"  # ref: a resident; the campaign's conversations with them
    REACHED = "REACHED"  # distinct residents met (MET rows above zero)
    THEME = "THEME"  # ref: a theme; conversations raising it
    WEEK = "WEEK"  # value: the Monday (ISO date, UTC) of the conversations' week
    ANSWERED = "ANSWERED"  # version, ref: a question; answers to it
    NUMBER = "NUMBER"  # version, ref: a question, value: the number; answers giving it
    CHOICE = "CHOICE"  # version, ref: a question, value: the choice; answers choosing it
    # Residents' own responses (kept by server/residents through ``add_counts``).
    RESPONSES = "RESPONSES"
    RATED = "RATED"  # responses with a rating
    RATING_SUM = "RATING_SUM"  # their ratings added up (for the average)
    PROMOTERS = "PROMOTERS"  # ratings of 9 or 10
    DETRACTORS = "DETRACTORS"  # ratings of 0 to 6
    RESPONSE_THEME = "RESPONSE_THEME"  # ref: a theme; responses tagged with it


Key = tuple[uuid.UUID, str, int, uuid.UUID, str]
_KEY = ("campaign_id", "kind", "version", "ref", "value")
_TABLE: sa.Table = CampaignTally.__table__  # type: ignore[attr-defined]

# --- what is counted -------------------------------------------------------------------

Scope = Callable[[Any], sa.ColumnElement[bool]]


def week_starting(dialect: str) -> sa.ColumnElement[Any]:
    """The Monday (ISO text) of the ISO week of ``occurred_at``, stored in UTC."""
    occurred = col(Conversation.occurred_at)
    if dialect == "postgresql":
        # Literals, not bound parameters, so GROUP BY sees the same expression as SELECT.
        utc = sa.func.timezone(sa.literal_column("'UTC'"), occurred)
        day = sa.cast(sa.func.date_trunc(sa.literal_column("'week'"), utc), sa.Date)
        return sa.cast(day, sa.String)
    # SQLite keeps UTC text; %w is 0 for Sunday, so a Monday is (w + 6) % 7 days back.
    weekday = sa.cast(sa.func.strftime(sa.literal_column("'%w'"), occurred), sa.Integer)
    days_back = sa.cast((weekday + 6) % 7, sa.String)
    return sa.func.date(
        occurred, sa.literal_column("'-'") + days_back + sa.literal_column("' days'")
    )


def _part(
    table: Any,
    kind: TallyKind,
    n: sa.ColumnElement[Any],
    *,
    version: Any = None,
    ref: Any = None,
    value: Any = None,
) -> sa.Select[Any]:
    """One grouped select of a kind, in the tally's column order, grouped by its key."""
    parts = [e for e in (version, ref, value) if e is not None]
    return sa.select(
        col(table.campaign_id).label("campaign_id"),
        sa.literal(kind.value, sa.String).label("kind"),
        (version if version is not None else sa.literal(0, sa.Integer)).label("version"),
        (ref if ref is not None else sa.literal(NIL, sa.Uuid)).label("ref"),
        (value if value is not None else sa.literal("", sa.String)).label("value"),
        n.label("n"),
    ).group_by(col(table.campaign_id), *parts)


def _sources(dialect: str, scope: Scope) -> list[sa.Select[Any]]:
    """The counts of the conversations ``scope`` picks (it is given each table)."""
    count = sa.func.count()
    a, c = Answer, AnswerChoice
    return [
        _part(Conversation, TallyKind.CONVERSATIONS, count).where(scope(Conversation)),
        _part(Conversation, TallyKind.INVOLVED, count).where(
            scope(Conversation), col(Conversation.wants_involvement).is_(True)
        ),
        _part(Conversation, TallyKind.MET, count, ref=col(Conversation.resident_id)).where(
            scope(Conversation), col(Conversation.resident_id).is_not(None)
        ),
        _part(Conversation, TallyKind.WEEK, count, value=week_starting(dialect)).where(
            scope(Conversation)
        ),
        _part(ConversationTheme, TallyKind.THEME, count, ref=col(ConversationTheme.theme_id)).where(
            scope(ConversationTheme)
        ),
        _part(
            a,
            TallyKind.ANSWERED,
            count,
            version=col(a.question_set_version),
            ref=col(a.question_id),
        ).where(scope(a)),
        _part(
            a,
            TallyKind.NUMBER,
            count,
            version=col(a.question_set_version),
            ref=col(a.question_id),
            value=sa.cast(col(a.number), sa.String),
        ).where(scope(a), col(a.number).is_not(None)),
        _part(
            c,
            TallyKind.CHOICE,
            count,
            version=col(c.question_set_version),
            ref=col(c.question_id),
            value=col(c.choice),
        ).where(scope(c)),
    ]


_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
# PostgreSQL: one array parameter rather than an IN list of every id at each use. (As
# ``= ANY(array)`` the cached generic plan turned to scanning whole tables.)
_ID_ARRAY: sa.BindParameter[Any] = sa.bindparam("ids", type_=postgresql.ARRAY(sa.Uuid()))
_ID_ROWS = sa.select(sa.func.unnest(_ID_ARRAY).label("id")).cte("wanted")
_CAMPAIGN: sa.BindParameter[Any] = sa.bindparam("campaign_id")


def _of_ids(dialect: str) -> Scope:
    def scope(table: Any) -> sa.ColumnElement[bool]:
        column = col(table.id if table is Conversation else table.conversation_id)
        if dialect == "postgresql":
            return column.in_(sa.select(_ID_ROWS.c.id))
        return column.in_(_IDS)

    return scope


def _of_campaign(table: Any) -> sa.ColumnElement[bool]:
    return col(table.campaign_id) == _CAMPAIGN


def _counts_statement(dialect: str) -> sa.CompoundSelect[Any]:
    return sa.union_all(*_sources(dialect, _of_ids(dialect)))


def rebuild_statement(dialect: str) -> sa.Insert:
    """INSERT ... SELECT of a campaign's tallies (``campaign_id``) into none of its own."""
    reached = _part(
        Conversation,
        TallyKind.REACHED,
        sa.func.count(sa.distinct(col(Conversation.resident_id))),
    ).where(_of_campaign(Conversation), col(Conversation.resident_id).is_not(None))
    select = sa.union_all(*_sources(dialect, _of_campaign), reached)
    return sa.insert(_TABLE).from_select([*_KEY, "n"], select)


_DIALECTS = ("postgresql", "sqlite")
_COUNTS = {d: _counts_statement(d) for d in _DIALECTS}
_REBUILD = {d: rebuild_statement(d) for d in _DIALECTS}
_CLEAR = sa.delete(_TABLE).where(_TABLE.c.campaign_id == _CAMPAIGN)


async def rebuild(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    """Recompute the campaign's tallies from its rows (two statements, and what the
    listeners of ``TALLIES_REBUILT`` add)."""
    dialect = session.get_bind().dialect.name
    await session.flush()
    await session.execute(_CLEAR, {"campaign_id": campaign_id})
    await session.execute(_REBUILD[dialect], {"campaign_id": campaign_id})
    await TALLIES_REBUILT.fire(session, campaign_id)


async def recount(session: AsyncSession, campaign_ids: Sequence[uuid.UUID] = ()) -> int:
    """Rebuild the tallies of those campaigns (all when none given), one transaction per
    campaign; returns how many (``doorstep recount-tallies``, a repair)."""
    ids = list(campaign_ids) or list(await session.scalars(sa.select(col(Campaign.id))))
    for campaign_id in ids:
        await rebuild(session, campaign_id)
        await session.commit()
    return len(ids)


# --- keeping them ----------------------------------------------------------------------


@dataclass
class _Changes:
    net: Counter[Key] = field(default_factory=Counter)
    added: set[uuid.UUID] = field(default_factory=set)  # read at flush
    touched: set[uuid.UUID] = field(default_factory=set)  # their before is accounted for

    def merge(self, other: _Changes) -> None:
        self.net.update(other.net)
        self.added |= other.added
        self.touched |= other.touched


async def _counts(session: AsyncSession, ids: Iterable[uuid.UUID]) -> Counter[Key]:
    found: Counter[Key] = Counter()
    wanted = sorted(set(ids))
    if not wanted:
        return found
    stmt = _COUNTS[session.get_bind().dialect.name]
    for row in await session.execute(stmt, {"ids": wanted}):
        found[(row.campaign_id, row.kind, row.version, row.ref, row.value)] += int(row.n)
    return found


class Tally:
    """The net change of one transaction's conversation writes to the tallies."""

    def __init__(self) -> None:
        self._done = _Changes()
        self._item: _Changes | None = None

    @property
    def _open(self) -> _Changes:
        return self._item if self._item is not None else self._done

    def _touched(self, conversation_id: uuid.UUID) -> bool:
        return conversation_id in self._done.touched or (
            self._item is not None and conversation_id in self._item.touched
        )

    @contextlib.asynccontextmanager
    async def item(self) -> AsyncIterator[None]:
        """What is recorded inside counts only if the block ends without an exception
        (put it around an item's savepoint). Not nested."""
        self._item = _Changes()
        try:
            yield
            self._done.merge(self._item)
        finally:
            self._item = None

    async def retract(self, session: AsyncSession, conversation_ids: Sequence[uuid.UUID]) -> None:
        """Take away the current counts of existing conversations, before changing them;
        those this transaction touched already are accounted for and skipped."""
        fresh = [i for i in conversation_ids if not self._touched(i)]
        changes = self._open
        changes.net.subtract(await _counts(session, fresh))
        changes.touched.update(fresh)

    def add(self, conversation_ids: Iterable[uuid.UUID]) -> None:
        """Count these conversations (created or changed) as they are at the flush."""
        changes = self._open
        changes.added.update(conversation_ids)
        changes.touched.update(changes.added)

    async def flush(self, session: AsyncSession) -> None:
        """Write the net change: at most three statements (the added conversations'
        counts, MET rows, the rest), each in key order; then start afresh."""
        done, self._done = self._done, _Changes()
        net = done.net
        net.update(await _counts(session, done.added))
        await add_counts(session, net)


def key(
    campaign_id: uuid.UUID,
    kind: TallyKind,
    *,
    version: int = 0,
    ref: uuid.UUID = NIL,
    value: str = "",
) -> Key:
    return (campaign_id, kind.value, version, ref, value)


async def add_counts(session: AsyncSession, net: Counter[Key]) -> None:
    """Add these deltas to the tallies: at most two statements (MET rows, then the rest,
    with REACHED moved by the MET rows that went from zero to more or back), in key order."""
    deltas = {k: n for k, n in sorted(net.items()) if n}
    met = {k: n for k, n in deltas.items() if k[1] == TallyKind.MET}
    rest = {k: n for k, n in deltas.items() if k[1] != TallyKind.MET}
    reached: Counter[Key] = Counter()
    for row in await _upsert(session, met, returning=True):
        before = row.n - met[(row.campaign_id, TallyKind.MET.value, 0, row.ref, "")]
        step = (before <= 0 < row.n) - (row.n <= 0 < before)
        reached[(row.campaign_id, TallyKind.REACHED.value, 0, NIL, "")] += step
    for k, n in reached.items():
        rest[k] = rest.get(k, 0) + n
    await _upsert(session, {k: n for k, n in sorted(rest.items()) if n}, returning=False)


_COLUMNS = (*_KEY, "n")


def _on_conflict_add(stmt: Any, *, returning: bool) -> Any:
    stmt = stmt.on_conflict_do_update(
        index_elements=list(_KEY), set_={"n": _TABLE.c.n + stmt.excluded.n}
    )
    if returning:
        stmt = stmt.returning(_TABLE.c.campaign_id, _TABLE.c.ref, _TABLE.c.n)
    return stmt


def _unnest_upsert(*, returning: bool) -> Any:
    """PostgreSQL: INSERT ... SELECT FROM unnest(one array a column), in the arrays' order:
    six parameters whatever the number of rows, one statement compiled once."""
    arrays: list[Any] = [
        sa.bindparam(c.name, type_=postgresql.ARRAY(c.type)) for c in _TABLE.columns
    ]
    given = (
        sa.func.unnest(*arrays)
        .table_valued(*_COLUMNS, with_ordinality="at")
        .render_derived(name="given")
    )
    select = sa.select(*(given.c[name] for name in _COLUMNS)).order_by(given.c.at)
    return _on_conflict_add(
        postgresql.insert(_TABLE).from_select(list(_COLUMNS), select), returning=returning
    )


_UNNEST_UPSERT = {r: _unnest_upsert(returning=r) for r in (True, False)}
_SQLITE_CHUNK = 1000  # rows per statement: 6 parameters each, under SQLite's 32,766


async def _upsert(
    session: AsyncSession, deltas: dict[Key, int], *, returning: bool
) -> list[sa.Row[Any]]:
    """Add each delta to its row (created at the delta), in the order given."""
    if not deltas:
        return []
    rows = [(*key, n) for key, n in deltas.items()]
    if session.get_bind().dialect.name == "postgresql":
        arrays = {name: [row[i] for row in rows] for i, name in enumerate(_COLUMNS)}
        result = await session.execute(_UNNEST_UPSERT[returning], arrays)
        return list(result.all()) if returning else []
    out: list[sa.Row[Any]] = []
    for start in range(0, len(rows), _SQLITE_CHUNK):
        values = [
            dict(zip(_COLUMNS, row, strict=True)) for row in rows[start : start + _SQLITE_CHUNK]
        ]
        stmt = _on_conflict_add(sqlite.insert(_TABLE).values(values), returning=returning)
        result = await session.execute(stmt)
        out += result.all() if returning else []
    return out
