"""A campaign's questions: checking what staff send, and keeping versions.

A question set is stored as a list of ``{id, kind, prompt, choices, required}``. A version
nothing has answered yet (``answered_at`` null) changes in place; once a conversation has
answered it, a change makes version N+1 and the campaign moves to it, the old one staying
readable for the conversations that answered it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from server.campaigns.enums import QuestionKind
from server.campaigns.models import Campaign, QuestionSet
from server.core.errors import Problem, UserErrorCode
from server.core.models import utcnow
from server.core.validation import checked, collect, required_text

MAX_QUESTIONS = 50
MAX_CHOICES = 20
MAX_PROMPT = 500
MAX_CHOICE = 200  # AnswerChoice.choice

CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE)


@dataclass(frozen=True)
class QuestionData:
    """One question as sent; ``id`` is the client's (kept when the current version has it)."""

    kind: QuestionKind
    prompt: str
    required: bool
    choices: Sequence[str] | None = None
    id: str | None = None


def _known_id(value: str | None, current: set[str]) -> str | None:
    if value is None:
        return None
    try:
        text = str(uuid.UUID(str(value)))
    except ValueError:
        return None
    return text if text in current else None


def _text(value: str, field: str, what: str, limit: int, problems: list[Problem]) -> str | None:
    return checked(lambda: required_text(value, field, what, limit), problems)


def _choices(question: QuestionData, field: str, problems: list[Problem]) -> list[str]:
    if question.kind not in CHOICE_KINDS:
        if question.choices:
            problems.append(
                Problem(UserErrorCode.INVALID, "Only choice questions have choices.", field)
            )
        return []
    raw = list(question.choices or ())
    if len(raw) < 2:
        problems.append(Problem(UserErrorCode.REQUIRED, "Give at least two choices.", field))
        return []
    if len(raw) > MAX_CHOICES:
        problems.append(
            Problem(UserErrorCode.INVALID, f"Give at most {MAX_CHOICES} choices.", field)
        )
        return []
    cleaned: list[str] = []
    seen: set[str] = set()
    for i, choice in enumerate(raw):
        text = _text(choice, f"{field}.{i}", "a choice", MAX_CHOICE, problems)
        if text is None:
            continue
        if text.casefold() in seen:
            problems.append(
                Problem(UserErrorCode.INVALID, "Each choice must be different.", f"{field}.{i}")
            )
            continue
        seen.add(text.casefold())
        cleaned.append(text)
    return cleaned


def checked_questions(
    questions: Sequence[QuestionData], field: str, current: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The questions as stored, or a UserError naming every problem by its path
    (``{field}.2.prompt``). A question keeps its id when the current version has it;
    any other gets a new one."""
    problems: list[Problem] = []
    if len(questions) > MAX_QUESTIONS:
        problems.append(
            Problem(UserErrorCode.INVALID, f"Ask at most {MAX_QUESTIONS} questions.", field)
        )
        collect(*problems)
    known = {str(q["id"]) for q in current}
    used: set[str] = set()
    stored: list[dict[str, Any]] = []
    for n, question in enumerate(questions):
        at = f"{field}.{n}"
        prompt = _text(question.prompt, f"{at}.prompt", "a question", MAX_PROMPT, problems)
        choices = _choices(question, f"{at}.choices", problems)
        kept = _known_id(question.id, known)
        if kept is not None and kept in used:
            problems.append(
                Problem(UserErrorCode.INVALID, "Two questions have this id.", f"{at}.id")
            )
        question_id = kept or str(uuid.uuid4())
        used.add(question_id)
        stored.append(
            {
                "id": question_id,
                "kind": question.kind.value,
                "prompt": prompt,
                "choices": choices,
                "required": bool(question.required),
            }
        )
    collect(*problems)
    return stored


_CURRENT = sa.select(QuestionSet).where(
    col(QuestionSet.campaign_id) == sa.bindparam("campaign_id"),
    col(QuestionSet.version) == sa.bindparam("version"),
)


async def current_set(session: AsyncSession, campaign: Campaign) -> QuestionSet:
    """The campaign's current version, locked: an answer (sync) and an edit take turns."""
    found = await session.scalars(
        _CURRENT.with_for_update(),
        {"campaign_id": campaign.id, "version": campaign.question_set_version},
    )
    return found.one()


def first_set(campaign: Campaign, questions: list[dict[str, Any]]) -> QuestionSet:
    return QuestionSet(
        organisation_id=campaign.organisation_id,
        campaign_id=campaign.id,
        version=1,
        questions=questions,
    )


def replace(
    session: AsyncSession, campaign: Campaign, current: QuestionSet, questions: list[dict[str, Any]]
) -> QuestionSet:
    """Apply checked questions: the same version while unanswered, else a new one. The
    caller has locked the campaign and ``current``; unchanged questions change nothing."""
    if questions == current.questions:
        return current
    if current.answered_at is None:
        current.questions = questions  # a new list: SQLAlchemy sees the JSON change
        session.add(current)
        return current
    successor = QuestionSet(
        organisation_id=campaign.organisation_id,
        campaign_id=campaign.id,
        version=current.version + 1,
        questions=questions,
    )
    campaign.question_set_version = successor.version
    session.add_all([successor, campaign])
    return successor


async def mark_answered(session: AsyncSession, question_set: QuestionSet) -> None:
    """Record the version's first answer (from then on a change makes a new version)."""
    if question_set.answered_at is not None:
        return
    answered_at = utcnow()
    await session.execute(
        sa.update(QuestionSet)
        .where(col(QuestionSet.id) == question_set.id, col(QuestionSet.answered_at).is_(None))
        .values(answered_at=answered_at)
    )
    # Known now, without a second UPDATE at the next flush.
    set_committed_value(question_set, "answered_at", answered_at)
