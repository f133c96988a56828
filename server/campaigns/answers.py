"""Checking answers against the question-set version they answer.

One function for every path answers arrive by (an organiser's synced conversation, a
resident's response), so the rules and the field paths are the same everywhere:
TEXT takes text, SCALE a number 1..5, YES_NO 0 or 1, SINGLE_CHOICE exactly one of the
choices, MULTI_CHOICE one or more distinct choices; exactly one of text, number and
choices is set; every required question is answered, none twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.campaigns.enums import QuestionKind
from server.core.errors import Problem, UserErrorCode

MAX_TEXT = 5000
SCALE = range(1, 6)
YES_NO = (0, 1)


@dataclass(frozen=True)
class AnswerData:
    question_id: str
    text: str | None = None
    number: int | None = None
    choices: Sequence[str] | None = None


@dataclass(frozen=True)
class CleanAnswer:
    question_id: uuid.UUID
    kind: QuestionKind
    text: str | None = None
    number: int | None = None
    choices: tuple[str, ...] | None = None


def _invalid(message: str, field: str) -> Problem:
    return Problem(UserErrorCode.INVALID, message, field)


def _one(
    question: dict[str, Any], answer: AnswerData, at: str
) -> tuple[CleanAnswer | None, Problem | None]:
    kind = QuestionKind(question["kind"])
    question_id = uuid.UUID(str(question["id"]))
    given = [
        name
        for name, value in (
            ("text", answer.text),
            ("number", answer.number),
            ("choices", answer.choices),
        )
        if value is not None
    ]
    wanted = {
        QuestionKind.TEXT: "text",
        QuestionKind.SCALE: "number",
        QuestionKind.YES_NO: "number",
        QuestionKind.SINGLE_CHOICE: "choices",
        QuestionKind.MULTI_CHOICE: "choices",
    }[kind]
    if given != [wanted]:
        return None, _invalid(
            f"A {kind.value} question takes {wanted} and nothing else.", f"{at}.{wanted}"
        )
    if kind is QuestionKind.TEXT:
        text = (answer.text or "").strip()
        if not text:
            return None, Problem(UserErrorCode.REQUIRED, "Write an answer.", f"{at}.text")
        if len(text) > MAX_TEXT:
            return None, _invalid(f"At most {MAX_TEXT} characters.", f"{at}.text")
        return CleanAnswer(question_id, kind, text=text), None
    if kind is QuestionKind.SCALE:
        if answer.number not in SCALE:
            return None, _invalid("A scale answer is a number from 1 to 5.", f"{at}.number")
        return CleanAnswer(question_id, kind, number=answer.number), None
    if kind is QuestionKind.YES_NO:
        if answer.number not in YES_NO:
            return None, _invalid("A yes/no answer is 1 (yes) or 0 (no).", f"{at}.number")
        return CleanAnswer(question_id, kind, number=answer.number), None
    options = list(question.get("choices") or [])
    picked = list(answer.choices or [])
    for i, choice in enumerate(picked):
        if choice not in options:
            return None, _invalid("Not one of the question's choices.", f"{at}.choices.{i}")
    if len(set(picked)) != len(picked):
        return None, _invalid("Each choice may be given once.", f"{at}.choices")
    if kind is QuestionKind.SINGLE_CHOICE and len(picked) != 1:
        return None, _invalid("Choose exactly one.", f"{at}.choices")
    if not picked:
        return None, _invalid("Choose one or more.", f"{at}.choices")
    return CleanAnswer(question_id, kind, choices=tuple(picked)), None


def check_answers(
    questions: Sequence[dict[str, Any]], answers: Sequence[AnswerData], prefix: str = ""
) -> tuple[list[CleanAnswer], list[Problem]]:
    """The answers that fit, and a Problem for each that does not (field paths start at
    ``prefix``: "" for a synced item's "answers.2.number", "input." for a response)."""
    by_id = {str(q["id"]): q for q in questions}
    clean: list[CleanAnswer] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, answer in enumerate(answers):
        at = f"{prefix}answers.{i}"
        try:
            key = str(uuid.UUID(str(answer.question_id)))
        except ValueError:
            key = ""
        question = by_id.get(key)
        if question is None:
            problems.append(
                Problem(UserErrorCode.NOT_FOUND, "No such question.", f"{at}.questionId")
            )
            continue
        if key in seen:
            problems.append(_invalid("This question is answered twice.", f"{at}.questionId"))
            continue
        seen.add(key)
        answered, problem = _one(question, answer, at)
        if problem is not None:
            problems.append(problem)
        elif answered is not None:
            clean.append(answered)
    for question in questions:
        if question.get("required") and str(question["id"]) not in seen:
            problems.append(
                Problem(
                    UserErrorCode.REQUIRED,
                    f'Answer the required question "{question["prompt"]}".',
                    f"{prefix}answers",
                )
            )
    return clean, problems
