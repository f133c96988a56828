"""The sync input built by ``schema/fast_inputs.py`` is what Strawberry would build."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from strawberry.types.arguments import convert_argument

from schema import schema
from schema.campaigns import conversations as inputs

NOW = datetime(2026, 11, 30, 10, 15, tzinfo=UTC)
FULL: dict[str, Any] = {
    "id": "c1",
    "campaignId": "k1",
    "occurredAt": NOW,
    "questionSetVersion": 2,
    "answers": [
        {"questionId": "q1", "text": "Bins", "number": None, "choices": None},
        {"questionId": "q2", "number": 4},
        {"questionId": "q3", "choices": ["A", "B"]},
    ],
    "themes": ["Bins", "bins "],
    "baseVersion": 1,
    "interestLevel": 3,
    "wantsInvolvement": False,
    "notes": None,
    "location": {"latitude": 51.5, "longitude": -0.1, "accuracyMeters": None},
    "resident": {
        "id": "r1",
        "consent": {
            "storeDetails": True,
            "contactAgain": False,
            "hearBack": True,
            "recordedAt": NOW,
        },
        "name": "Pat",
        "email": None,
    },
    "followUp": {"id": "f1", "dueAt": NOW, "note": "Call"},
}
LEAN: dict[str, Any] = {
    "id": "c2",
    "campaignId": "k1",
    "occurredAt": NOW,
    "questionSetVersion": 1,
    "answers": [],
    "themes": [],
}
TYPES = (
    inputs.ConversationInput,
    inputs.AnswerInput,
    inputs.ConsentInput,
    inputs.ResidentInput,
    inputs.FollowUpInput,
    inputs.GeoPointInput,
)


@pytest.fixture
def strawberrys_own() -> Iterator[None]:
    """Strawberry's generic conversion, the fast hooks taken off for the block."""
    _convert(FULL)  # the nested types get their hooks on first use
    definitions = [t.__strawberry_definition__ for t in TYPES]  # type: ignore[attr-defined]
    hooks = [d.from_input for d in definitions]
    assert all(hooks)
    yield
    for definition, hook in zip(definitions, hooks, strict=True):
        definition.from_input = hook


def _convert(value: dict[str, Any]) -> Any:
    return convert_argument(
        value, inputs.ConversationInput, schema.schema_converter.scalar_registry, schema.config
    )


@pytest.mark.parametrize("value", [FULL, LEAN], ids=["full", "lean"])
def test_the_fast_input_is_strawberrys(value: dict[str, Any], strawberrys_own: None) -> None:
    fast = _convert(value)
    for t in TYPES:
        t.__strawberry_definition__.from_input = None  # type: ignore[attr-defined]
    slow = _convert(value)
    assert fast == slow
    assert fast.data() == slow.data()
    if fast.answers:  # lists are copies, as Strawberry's are
        assert fast.answers[2].choices is not value["answers"][2]["choices"]
