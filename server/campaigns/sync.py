"""Offline sync: conversations logged on a phone with no signal, uploaded later.

Ids are the client's, and each conversation keeps a hash of what the client sent
(``content_hash``), so an item sent again is UNCHANGED and stores nothing twice. A stale
``baseVersion`` is CONFLICT with the server's copy (docs/decisions/0010). Each item gets
its own result, and one bad item never rejects the others.

A batch is checked whole in Python and written in bulk (``sync_plan``, ``sync_write``), a few
statements per table whatever its length, inside a savepoint. Two copies of one batch
racing (a retrying client) meet at the primary keys: the later one's write finds rows it
planned as new, rolls its savepoint back and plans again, now seeing the other's rows
(UNCHANGED). A batch naming one id twice, or whose bulk write meets an integrity error it
did not expect, goes item by item instead (``sync_items``), each in its own savepoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import audit
from server.campaigns import sync_items, sync_plan, sync_write, watermark
from server.campaigns.enums import SyncStatus
from server.campaigns.models import Conversation
from server.campaigns.signals import CONVERSATIONS_LOGGED
from server.campaigns.sync_types import (
    MAX_ITEMS,
    ConversationData,
    ConversationRow,
    FollowUpData,
    ItemResult,
    SyncResult,
)
from server.campaigns.tallies import Tally
from server.core.errors import UserError, UserErrorCode
from server.core.services import Services
from server.security.access import Actor

__all__ = [
    "MAX_ITEMS",
    "ConversationData",
    "ConversationRow",
    "FollowUpData",
    "ItemResult",
    "SyncResult",
    "sync_conversations",
]

# Plans of one batch: the first, and one more after a concurrent copy raced it.
ATTEMPTS = 2


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
    async with watermark.writing(services.redis, prefix, actor.organisation_id):
        tally = Tally()
        results = await _apply(session, actor, items, tally)
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status.value] = counts.get(result.status.value, 0) + 1
        audit(session, actor, "conversations.sync", (Conversation, None), counts)
        if counts.get(SyncStatus.CREATED.value):
            await CONVERSATIONS_LOGGED.fire(session, [actor.user_id])
        await tally.flush(session)
        await session.commit()
    server_time = await watermark.safe_since(services.redis, prefix, actor.organisation_id)
    return SyncResult(server_time=server_time, results=results)


async def _apply(
    session: AsyncSession, actor: Actor, items: Sequence[ConversationData], tally: Tally
) -> list[ItemResult]:
    """Every item's result, its rows written (not committed): in bulk when it can be,
    else item by item; the report tallies' change recorded in ``tally``."""
    if sync_plan.repeats_an_id(items):
        return await sync_items.apply_each(session, actor, items, tally)
    for _ in range(ATTEMPTS):
        plan = await sync_plan.plan(session, actor, items)
        if not plan.accepted:
            return plan.item_results()  # a replay: nothing to write
        try:
            # A raced attempt rolls back to the savepoint and plans again; what the tally
            # recorded in it is dropped with it.
            async with tally.item(), session.begin_nested():
                await tally.retract(session, plan.updated_ids())
                await sync_write.write(session, actor, plan)
                tally.add([*plan.created_ids(), *plan.updated_ids()])
        except sync_write.Raced:
            continue
        except IntegrityError:
            break
        return plan.item_results()
    return await sync_items.apply_each(session, actor, items, tally)
