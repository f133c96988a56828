"""Training rows for the benchmarks (``bench training``, ``bench http``): a programme, and
cohorts with trainees, sessions, attendance, sign-offs and listening conversations, in
bulk INSERTs (the tables' own column defaults apply)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.campaigns.enums import CampaignKind, CampaignStatus
from server.campaigns.models import Campaign, Conversation
from server.core.enums import Role
from server.training.enums import AttendanceStatus
from server.training.models import (
    AttendanceMark,
    Cohort,
    CohortTrainer,
    Competency,
    Enrolment,
    Programme,
    SignOff,
    TrainingSession,
)


@dataclass(frozen=True)
class Shape:
    """One cohort's size."""

    trainees: int
    sessions: int  # three quarters held, the rest coming; one in ten held is cancelled
    conversations: int = 10  # per trainee, in an ACTIVE listening campaign


@dataclass(frozen=True)
class Framework:
    organisation_id: uuid.UUID
    programme_id: uuid.UUID
    competency_ids: list[uuid.UUID]
    campaign_id: uuid.UUID


async def _insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(sa.insert(table), rows)


async def programme(
    session: AsyncSession, organisation_id: uuid.UUID, name: str, competencies: int, now: datetime
) -> Framework:
    """A programme with ``competencies`` competencies and a live campaign to log in."""
    programme_id, campaign_id = uuid.uuid4(), uuid.uuid4()
    org = {"organisation_id": organisation_id}
    await _insert(session, Programme, [{**org, "id": programme_id, "name": name,
        "target_trainees": 5000, "target_date": (now + timedelta(days=200)).date(),
        "target_conversations_per_trainee": 20}])  # fmt: skip
    ids = [uuid.uuid4() for _ in range(competencies)]
    await _insert(session, Competency, [{**org, "id": c, "programme_id": programme_id,
        "position": i, "code": f"C{i:02}", "title": f"Competency {i}"}
        for i, c in enumerate(ids)])  # fmt: skip
    await _insert(session, Campaign, [{**org, "id": campaign_id, "kind": CampaignKind.LISTENING,
        "title": f"{name} practice", "status": CampaignStatus.ACTIVE}])  # fmt: skip
    return Framework(organisation_id, programme_id, ids, campaign_id)


async def cohort(
    session: AsyncSession,
    framework: Framework,
    trainer_id: uuid.UUID,
    name: str,
    shape: Shape,
    now: datetime,
    rng: random.Random,
) -> uuid.UUID:
    """A cohort half way through, trained by ``trainer_id``; its id."""
    org = {"organisation_id": framework.organisation_id}
    cohort_id = uuid.uuid4()
    starts = now - timedelta(days=60)
    await _insert(session, Cohort, [{**org, "id": cohort_id, "programme_id":
        framework.programme_id, "name": name, "starts_on": starts.date(),
        "ends_on": (now + timedelta(days=60)).date()}])  # fmt: skip
    await _insert(session, CohortTrainer, [{**org, "cohort_id": cohort_id, "user_id": trainer_id}])
    users = [uuid.uuid4() for _ in range(shape.trainees)]
    await _insert(session, User, [{**org, "id": u, "email": f"t{u.hex[:12]}@bench.test",
        "display_name": f"{name} trainee {i:03}", "role": Role.ORGANISER}
        for i, u in enumerate(users)])  # fmt: skip
    enrolments = [uuid.uuid4() for _ in users]
    await _insert(session, Enrolment, [{**org, "id": e, "cohort_id": cohort_id, "trainee_id": u}
        for e, u in zip(enrolments, users, strict=True)])  # fmt: skip
    held = shape.sessions * 3 // 4
    sessions = []
    for s in range(shape.sessions):
        begins = (
            starts + timedelta(days=1 + s * 3) if s < held else now + timedelta(days=s - held + 1)
        )
        sessions.append({**org, "id": uuid.uuid4(), "cohort_id": cohort_id,
            "title": f"Session {s:02}", "starts_at": begins, "ends_at": begins + timedelta(hours=2),
            "cancelled_at": now if s < held and s % 10 == 9 else None})  # fmt: skip
    await _insert(session, TrainingSession, sessions)
    statuses = list(AttendanceStatus)
    await _insert(session, AttendanceMark, [{**org, "session_id": s["id"], "enrolment_id": e,
        "status": AttendanceStatus.PRESENT if rng.random() < 0.8 else rng.choice(statuses)}
        for s in sessions[:held] for e in enrolments])  # fmt: skip
    competencies = framework.competency_ids
    await _insert(session, SignOff, [{**org, "enrolment_id": e, "competency_id": c,
        "signed_by_id": trainer_id}
        for e in enrolments for c in competencies[: rng.randrange(len(competencies))]])  # fmt: skip
    await _insert(session, Conversation, [{**org, "campaign_id": framework.campaign_id,
        "organiser_id": u, "content_hash": "0" * 64, "question_set_version": 1,
        "occurred_at": starts + timedelta(hours=rng.randrange(24 * 59))}
        for u in users for _ in range(rng.randrange(shape.conversations * 2 + 1))])  # fmt: skip
    return cohort_id
