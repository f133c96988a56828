"""The trainers' weekly digest section: active trainees of their cohorts who are behind.

A trainer (a member listed as a trainer of a cohort) finds, in the digest of each Monday
(their local date), every ACTIVE trainee of their cohorts who is not on track, with the
reason: attendance under 75% of the sessions held, or fewer conversations than expected by
now (``server/training/progress.py`` has the rules). A daily digest carries it on Mondays
only, so it stays weekly; nobody behind, no section.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.training.models import Cohort, CohortTrainer
from server.training.progress import Progress, progress_in_cohorts

DIGEST_LIMIT = 20
MONDAY = 0

_MY_COHORTS = (
    sa.select(col(Cohort.id))
    .join(CohortTrainer, col(CohortTrainer.cohort_id) == col(Cohort.id))
    .where(
        col(CohortTrainer.user_id) == sa.bindparam("user_id"),
        col(Cohort.organisation_id) == sa.bindparam("organisation_id"),
    )
)
_NAMES = sa.select(col(User.id), col(User.display_name)).where(
    col(User.id).in_(sa.bindparam("ids", expanding=True))
)


def _reason(p: Progress) -> str:
    parts = []
    if "attendance" in p.behind_reasons:
        parts.append(f"attendance: {p.sessions_attended} of {p.sessions_held} sessions")
    if "conversations" in p.behind_reasons:
        parts.append(
            f"conversations: {p.conversations_logged} of {p.expected_conversations} by now"
        )
    return "; ".join(parts)


async def behind_lines(session: AsyncSession, user: User, day: date) -> list[str]:
    if day.weekday() != MONDAY:
        return []
    params = {"user_id": user.id, "organisation_id": user.organisation_id}
    cohort_ids = list((await session.scalars(_MY_COHORTS, params)).all())
    behind = [p for p in await progress_in_cohorts(session, cohort_ids) if p.behind_reasons]
    if not behind:
        return []
    ids = [p.trainee_id for p in behind]
    names = {row.id: row.display_name for row in await session.execute(_NAMES, {"ids": ids})}
    behind.sort(key=lambda p: (p.cohort_name, names.get(p.trainee_id, ""), p.enrolment_id))
    lines = ["Trainees behind in your cohorts:"]
    for p in behind[:DIGEST_LIMIT]:
        lines.append(f"- {names.get(p.trainee_id, '?')} ({p.cohort_name}): {_reason(p)}")
    if len(behind) > DIGEST_LIMIT:
        lines.append(f"- and {len(behind) - DIGEST_LIMIT} more: see the app")
    return lines
