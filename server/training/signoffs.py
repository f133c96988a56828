"""Competency sign-off by a trainer of the cohort (or an admin), with evidence.

Signing a competency that is signed already keeps the first sign-off and changes
nothing. A sign-off may be the last condition of completion: it is checked in the same
transaction.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.core.errors import UserError, UserErrorCode, not_found
from server.core.validation import optional_text
from server.security.access import Actor
from server.training import access
from server.training.completion import complete_if_done
from server.training.enums import EnrolmentStatus
from server.training.models import Cohort, Competency, Enrolment, SignOff

_COMPETENCY_OF_COHORT = (
    sa.select(col(Competency.id))
    .join(Cohort, col(Cohort.programme_id) == col(Competency.programme_id))
    .where(
        col(Competency.id) == sa.bindparam("competency_id"),
        col(Cohort.id) == sa.bindparam("cohort_id"),
    )
)
_SIGNED = sa.select(sa.literal(1)).where(
    col(SignOff.enrolment_id) == sa.bindparam("enrolment_id"),
    col(SignOff.competency_id) == sa.bindparam("competency_id"),
)


async def sign_off(
    session: AsyncSession,
    actor: Actor,
    enrolment_id: uuid.UUID,
    competency_id: uuid.UUID,
    evidence: str | None,
) -> Enrolment:
    enrolment = await access.enrolment_to_change(session, actor, enrolment_id, "input.enrolmentId")
    params = {"competency_id": competency_id, "cohort_id": enrolment.cohort_id}
    if await session.scalar(_COMPETENCY_OF_COHORT, params) is None:
        raise not_found("competency", "input.competencyId")
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise UserError.of(
            UserErrorCode.INVALID, "This trainee has withdrawn.", "input.enrolmentId"
        )
    text = optional_text(evidence, "input.evidence", "the evidence", 5000)
    signed = {"enrolment_id": enrolment.id, "competency_id": competency_id}
    if await session.scalar(_SIGNED, signed) is not None:
        return enrolment  # the first sign-off stays
    session.add(
        SignOff(
            organisation_id=enrolment.organisation_id,
            enrolment_id=enrolment.id,
            competency_id=competency_id,
            signed_by_id=actor.user_id,
            evidence=text,
        )
    )
    await session.flush()
    audit(session, actor, "competency.sign_off", enrolment, {"competency_id": str(competency_id)})
    await complete_if_done(session, [enrolment.id], actor)
    await session.commit()
    return enrolment
