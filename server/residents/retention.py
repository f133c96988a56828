"""How long residents' identifying details are kept: each organisation's setting (months
without contact, 24 unless changed), and the nightly job that erases the details of
residents not contacted for that long, as an erasure by request would.

Last contact is the latest of: the resident record's creation, the consent on record,
the conversations they were met in, their responses, and messages sent to them.
"""

from __future__ import annotations

import calendar
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Organisation
from server.audit.service import audit
from server.campaigns import watermark
from server.campaigns.models import Conversation, Resident
from server.core.enums import Role
from server.core.errors import UserError, UserErrorCode
from server.core.manifest import Job, JobContext, JobOptions
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.models import Notification
from server.residents.erasure import RETENTION, erase_resident
from server.residents.models import DEFAULT_RETENTION_MONTHS, ResidentSettings, Response
from server.security.access import Actor

log = logging.getLogger(__name__)

MIN_MONTHS, MAX_MONTHS = 1, 120
MAX_PRIVACY_NOTICE = 10000
BATCH = 200


@dataclass(frozen=True)
class SettingsView:
    retention_months: int
    privacy_notice: str | None  # None: the standard notice


def months_before(moment: datetime, months: int) -> datetime:
    """The same time ``months`` calendar months earlier (the 31st becomes a month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def resident_settings(session: AsyncSession, actor: Actor) -> SettingsView:
    """The caller's organisation's settings (admins)."""
    actor.require(Role.ADMIN)
    row = await session.get(ResidentSettings, actor.organisation_id)
    if row is None:
        return SettingsView(DEFAULT_RETENTION_MONTHS, None)
    return SettingsView(row.retention_months, row.privacy_notice)


async def set_resident_settings(
    session: AsyncSession,
    actor: Actor,
    retention_months: int | None = None,
    privacy_notice: str | None = None,
    *,
    change_notice: bool = False,
) -> SettingsView:
    """Change what is given (admins); a blank notice means the standard one."""
    actor.require(Role.ADMIN)
    if retention_months is not None and not MIN_MONTHS <= retention_months <= MAX_MONTHS:
        raise UserError.of(
            UserErrorCode.INVALID,
            f"Keep details from {MIN_MONTHS} to {MAX_MONTHS} months.",
            "input.retentionMonths",
        )
    notice = (privacy_notice or "").strip() or None
    if notice is not None and len(notice) > MAX_PRIVACY_NOTICE:
        raise UserError.of(
            UserErrorCode.INVALID,
            f"At most {MAX_PRIVACY_NOTICE} characters.",
            "input.privacyNotice",
        )
    row = await session.get(ResidentSettings, actor.organisation_id, with_for_update=True)
    if row is None:
        row = ResidentSettings(organisation_id=actor.organisation_id)
        session.add(row)
    if retention_months is not None:
        row.retention_months = retention_months
    if change_notice:
        row.privacy_notice = notice
    row.updated_at = utcnow()
    audit(
        session,
        actor,
        "residents.settings",
        (Organisation, actor.organisation_id),
        {"retentionMonths": row.retention_months, "privacyNoticeChanged": change_notice},
    )
    await session.flush()
    return SettingsView(row.retention_months, row.privacy_notice)


_ORGANISATIONS = (
    sa.select(
        col(Resident.organisation_id),
        sa.func.coalesce(col(ResidentSettings.retention_months), DEFAULT_RETENTION_MONTHS),
    )
    .outerjoin(
        ResidentSettings, col(ResidentSettings.organisation_id) == col(Resident.organisation_id)
    )
    .where(col(Resident.erased_at).is_(None))
    .distinct()
)


def _contact_since(column: Any, owner: Any, cutoff: datetime) -> sa.Exists:
    return sa.exists().where(owner == col(Resident.id), column >= cutoff)


def _stale(organisation_id: uuid.UUID, cutoff: datetime, limit: int) -> sa.Select[Any]:
    """Residents of the organisation with no contact since ``cutoff``."""
    return (
        sa.select(col(Resident.id))
        .where(
            col(Resident.organisation_id) == organisation_id,
            col(Resident.erased_at).is_(None),
            col(Resident.created_at) < cutoff,
            sa.or_(
                col(Resident.consent_recorded_at).is_(None),
                col(Resident.consent_recorded_at) < cutoff,
            ),
            ~_contact_since(col(Conversation.occurred_at), col(Conversation.resident_id), cutoff),
            ~_contact_since(col(Response.submitted_at), col(Response.resident_id), cutoff),
            ~_contact_since(col(Notification.created_at), col(Notification.resident_id), cutoff),
        )
        .order_by(col(Resident.id))
        .limit(limit)
    )


async def erase_stale(services: Services, now: datetime | None = None, batch: int = BATCH) -> int:
    """Erase every resident past their organisation's retention, a batch per transaction
    (the change watermark held for each); returns how many."""
    now = now or utcnow()
    async with services.db.session() as session:
        organisations = [(row[0], int(row[1])) for row in await session.execute(_ORGANISATIONS)]
    erased = 0
    for organisation_id, months in organisations:
        cutoff = months_before(now, months)
        while True:
            done, seen = await _erase_batch(services, organisation_id, cutoff, batch)
            erased += done
            if seen < batch:
                break
    if erased:
        log.info("retention: erased %d residents' details", erased)
    return erased


async def _erase_batch(
    services: Services, organisation_id: uuid.UUID, cutoff: datetime, batch: int
) -> tuple[int, int]:
    prefix = services.settings.redis_prefix
    async with services.db.session() as session:
        ids: list[uuid.UUID] = list(
            (await session.scalars(_stale(organisation_id, cutoff, batch))).all()
        )
        if not ids:
            return 0, 0
        done = 0
        async with watermark.writing(services.redis, prefix, organisation_id):
            for resident_id in ids:
                try:
                    await erase_resident(
                        session, organisation_id, resident_id, actor_id=None, reason=RETENTION
                    )
                except UserError:  # erased meanwhile (by request): nothing left to do
                    continue
                done += 1
            await session.commit()
    return done, len(ids)


async def erase_stale_residents(ctx: JobContext) -> int:
    return await erase_stale(ctx.services)


ERASE_STALE_RESIDENTS = Job(
    erase_stale_residents,
    JobOptions(timeout=1800, retries=3, retry_delay=60, retry_backoff=True),
    cron="30 2 * * *",
)
