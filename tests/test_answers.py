"""The answer rules every path shares (synced conversations now, resident responses
next), and the theme keys: pure functions, so no database here."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from server.campaigns.answers import AnswerData, check_answers
from server.campaigns.enums import QuestionKind
from server.campaigns.themes import theme_key, theme_name


def _q(
    kind: QuestionKind, *, required: bool = False, choices: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": kind.value,
        "prompt": f"A {kind.value} question",
        "choices": choices or [],
        "required": required,
    }


TEXT = _q(QuestionKind.TEXT, required=True)
SCALE = _q(QuestionKind.SCALE)
YES_NO = _q(QuestionKind.YES_NO)
SINGLE = _q(QuestionKind.SINGLE_CHOICE, choices=["Bins", "Parking", "Noise"])
MULTI = _q(QuestionKind.MULTI_CHOICE, choices=["Bins", "Parking", "Noise"])
QUESTIONS = [TEXT, SCALE, YES_NO, SINGLE, MULTI]


def _fine() -> list[AnswerData]:
    return [
        AnswerData(TEXT["id"], text="  The bins  "),
        AnswerData(SCALE["id"], number=4),
        AnswerData(YES_NO["id"], number=0),
        AnswerData(SINGLE["id"], choices=["Noise"]),
        AnswerData(MULTI["id"], choices=["Bins", "Parking"]),
    ]


def test_answers_that_fit_come_back_clean() -> None:
    clean, problems = check_answers(QUESTIONS, _fine())
    assert problems == []
    assert [(a.text, a.number, a.choices) for a in clean] == [
        ("The bins", None, None),
        (None, 4, None),
        (None, 0, None),
        (None, None, ("Noise",)),
        (None, None, ("Bins", "Parking")),
    ]


@pytest.mark.parametrize(
    ("index", "answer", "field", "code"),
    [
        (0, AnswerData(TEXT["id"], text="   "), "answers.0.text", "REQUIRED"),
        (0, AnswerData(TEXT["id"], number=3), "answers.0.text", "INVALID"),
        (1, AnswerData(SCALE["id"], number=0), "answers.1.number", "INVALID"),
        (1, AnswerData(SCALE["id"], number=6), "answers.1.number", "INVALID"),
        (1, AnswerData(SCALE["id"], text="5"), "answers.1.number", "INVALID"),
        (2, AnswerData(YES_NO["id"], number=2), "answers.2.number", "INVALID"),
        (2, AnswerData(YES_NO["id"], number=1, text="yes"), "answers.2.number", "INVALID"),
        (3, AnswerData(SINGLE["id"], choices=["Bins", "Noise"]), "answers.3.choices", "INVALID"),
        (3, AnswerData(SINGLE["id"], choices=["Trees"]), "answers.3.choices.0", "INVALID"),
        (4, AnswerData(MULTI["id"], choices=[]), "answers.4.choices", "INVALID"),
        (4, AnswerData(MULTI["id"], choices=["Bins", "Bins"]), "answers.4.choices", "INVALID"),
        (4, AnswerData(str(uuid.uuid4()), number=1), "answers.4.questionId", "NOT_FOUND"),
        (4, AnswerData(SCALE["id"], number=3), "answers.4.questionId", "INVALID"),
    ],
)
def test_each_wrong_answer_is_a_problem_on_its_own_path(
    index: int, answer: AnswerData, field: str, code: str
) -> None:
    answers = _fine()
    answers[index] = answer
    clean, problems = check_answers(QUESTIONS, answers, prefix="")
    assert [(p.field, p.code.value) for p in problems if p.field != "answers"] == [(field, code)]
    # The other answers still come back.
    assert len(clean) == 4


def test_a_required_question_left_out_and_the_prefix_of_a_mutation() -> None:
    answers = _fine()[1:]
    answers[0] = AnswerData(SCALE["id"], number=9)
    _, problems = check_answers(QUESTIONS, answers, prefix="input.")
    assert [(p.field, p.code.value) for p in problems] == [
        ("input.answers.0.number", "INVALID"),
        ("input.answers", "REQUIRED"),
    ]
    assert "A TEXT question" in problems[1].message


@pytest.mark.parametrize("typed", ["Bins", "bins ", "BINS!", "  bins\t", "Bins.", "bins?!"])
def test_spellings_of_one_theme_share_one_key(typed: str) -> None:
    assert theme_key(typed) == "bins"


def test_theme_keys_keep_words_apart_and_names_keep_the_spelling() -> None:
    assert theme_key("Anti-social   behaviour") == "anti social behaviour"
    assert theme_key("Street_lights") == theme_key("street lights")
    assert theme_key("Bins") != theme_key("Bin")
    assert theme_name("  Street   lights ") == "Street lights"
