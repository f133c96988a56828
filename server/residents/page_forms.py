"""The response page's form: what the resident typed, as a response to send, and the
problems the domain found, each put next to the field it is about."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from server.campaigns.answers import AnswerData
from server.campaigns.enums import QuestionKind
from server.core.errors import Problem
from server.residents.responses import ResponseData
from server.residents.texts import PageTexts

CONSENTS = ("store_details", "contact_again", "hear_back")
CONTACT = ("name", "email", "phone", "postcode")
NUMBERED = (QuestionKind.SCALE, QuestionKind.YES_NO)
# Domain field paths that are one of the page's fields (the rest go to the summary only).
FIELDS = {
    "input.rating": "rating",
    "input.comment": "comment",
    "input.consent.storeDetails": "store_details",
    "input.consent.contactAgain": "contact_again",
    "input.consent.hearBack": "hear_back",
    "input.contact": "name",
    **{f"input.contact.{name}": name for name in CONTACT},
}
ANSWER = re.compile(r"^input\.answers\.(\d+)(\.|$)")


def answer_key(index: int) -> str:
    return f"answer-{index}"


@dataclass
class Typed:
    """What the resident typed or chose, to show again with the errors."""

    version: str = ""
    answers: dict[int, list[str]] = field(default_factory=dict)
    rating: str = ""
    comment: str = ""
    consent: dict[str, bool] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    typed: Typed
    data: ResponseData
    # The question index of each answer sent, in the order sent (input.answers.N is sent[N]).
    sent: list[int]


def _number(value: str) -> int:
    """The form's number, or -1 (out of every range) for anything that is not one."""
    try:
        return int(value.strip())
    except ValueError:
        return -1


def _answer(question: dict[str, Any], values: list[str]) -> AnswerData | None:
    kind = QuestionKind(question["kind"])
    question_id = str(question["id"])
    if kind is QuestionKind.TEXT:
        text = values[0].strip() if values else ""
        return AnswerData(question_id, text=text) if text else None
    if not values:
        return None
    if kind in NUMBERED:
        return AnswerData(question_id, number=_number(values[0]))
    return AnswerData(question_id, choices=values)


def read(form: FormData, questions: Sequence[dict[str, Any]]) -> Submission:
    typed = Typed(version=str(form.get("version", "")))
    answers: list[AnswerData] = []
    sent: list[int] = []
    for index, question in enumerate(questions):
        values = [str(v) for v in form.getlist(answer_key(index)) if str(v) != ""]
        typed.answers[index] = values
        answer = _answer(question, values)
        if answer is not None:
            answers.append(answer)
            sent.append(index)
    typed.rating = str(form.get("rating", "")).strip()
    typed.comment = str(form.get("comment", ""))
    typed.consent = {name: form.get(name) == "yes" for name in CONSENTS}
    typed.contact = {name: str(form.get(name, "")).strip() for name in CONTACT}
    data = ResponseData(
        question_set_version=_number(typed.version),
        answers=answers,
        rating=_number(typed.rating) if typed.rating else None,
        comment=typed.comment.strip() or None,
        store_details=typed.consent["store_details"],
        contact_again=typed.consent["contact_again"],
        hear_back=typed.consent["hear_back"],
        **{name: typed.contact[name] or None for name in CONTACT},
    )
    return Submission(typed, data, sent)


@dataclass(frozen=True)
class PlacedErrors:
    """Messages by the page's field key ("answer-2", "rating", "email"...) and those that
    belong to no field; ``summary`` lists them all in page order as (anchor id, message)."""

    by_field: dict[str, str]
    general: list[str]
    summary: list[tuple[str | None, str]]


def anchor(key: str, questions: Sequence[dict[str, Any]]) -> str:
    """The id of the first control of a field (what the summary links to)."""
    match = re.fullmatch(r"answer-(\d+)", key)
    if match and QuestionKind(questions[int(match[1])]["kind"]) is not QuestionKind.TEXT:
        return f"{key}-0"
    return "rating-0" if key == "rating" else key


def place(
    problems: Sequence[Problem],
    submission: Submission,
    questions: Sequence[dict[str, Any]],
    texts: PageTexts,
) -> PlacedErrors:
    by_field: dict[str, str] = {}
    general: list[str] = []
    for problem in problems:
        path = problem.field or ""
        match = ANSWER.match(path)
        if match and int(match[1]) < len(submission.sent):
            by_field.setdefault(answer_key(submission.sent[int(match[1])]), problem.message)
        elif path == "input.answers":  # a required question left unanswered
            for index, question in enumerate(questions):
                if question.get("required") and index not in submission.sent:
                    by_field.setdefault(answer_key(index), texts.answer_required)
        elif path == "input.questionSetVersion":
            general.append(texts.questions_changed)
        elif path in FIELDS:
            by_field.setdefault(FIELDS[path], problem.message)
        else:
            general.append(problem.message)
    order = [answer_key(i) for i in range(len(questions))] + ["rating", "comment"]
    order += [*CONSENTS, *CONTACT]
    summary: list[tuple[str | None, str]] = [(None, message) for message in general]
    summary += [(anchor(key, questions), by_field[key]) for key in order if key in by_field]
    return PlacedErrors(by_field, general, summary)
