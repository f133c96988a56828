"""The columns each training type shows: list resolvers and loaders read plain rows of
these (docs/decisions/0009)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col

from server.training.models import Cohort, Competency, Enrolment, Programme

PROGRAMME_COLUMNS: tuple[Any, ...] = (
    col(Programme.id),
    col(Programme.name),
    col(Programme.target_trainees),
    col(Programme.target_date),
    col(Programme.target_conversations_per_trainee),
)

COMPETENCY_COLUMNS: tuple[Any, ...] = (
    col(Competency.id),
    col(Competency.programme_id),
    col(Competency.position),
    col(Competency.code),
    col(Competency.title),
)

COHORT_COLUMNS: tuple[Any, ...] = (
    col(Cohort.id),
    col(Cohort.programme_id),
    col(Cohort.name),
    col(Cohort.starts_on),
    col(Cohort.ends_on),
)

ENROLMENT_COLUMNS: tuple[Any, ...] = (
    col(Enrolment.id),
    col(Enrolment.cohort_id),
    col(Enrolment.trainee_id),
    col(Enrolment.status),
    col(Enrolment.status_at),
    col(Enrolment.status_reason),
    col(Enrolment.created_at),
)
