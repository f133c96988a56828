"""What a sync takes and gives back: the client's items and each item's result."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.campaigns import residents
from server.campaigns.answers import AnswerData
from server.campaigns.enums import SyncStatus
from server.core.errors import Problem

MAX_ITEMS = 500
MAX_THEMES = 20
MAX_NOTES = 5000


# Values that stand for themselves in the hashed JSON: most of a batch's 23,000 values,
# kept as they are without a call each.
_LEAVES = frozenset({str, int, float, bool, type(None), datetime})


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copies (the same JSON, so the same hash)."""
    if hasattr(type(value), "__dataclass_fields__"):
        return {k: v if type(v) in _LEAVES else _plain(v) for k, v in vars(value).items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _LEAVES else _plain(v) for v in value]
    return value


@dataclass(frozen=True)
class FollowUpData:
    id: str
    due_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class ConversationData:
    id: str
    campaign_id: str
    occurred_at: datetime
    question_set_version: int
    answers: Sequence[AnswerData]
    themes: Sequence[str]
    base_version: int | None = None
    interest_level: int | None = None
    wants_involvement: bool | None = None
    notes: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_meters: float | None = None
    resident: residents.ResidentData | None = None
    follow_up: FollowUpData | None = None

    def content_hash(self) -> str:
        """What the client said, without the version it based it on."""
        content = _plain(self)
        content.pop("base_version")
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ConversationRow:
    """A conversation as stored, with the columns the API shows (CONVERSATION_COLUMNS)."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    organiser_id: uuid.UUID
    resident_id: uuid.UUID | None
    version: int
    updated_at: datetime
    occurred_at: datetime
    question_set_version: int
    interest_level: int | None
    wants_involvement: bool | None
    notes: str | None
    redacted_at: datetime | None = None


@dataclass
class ItemResult:
    id: str
    status: SyncStatus
    conversation: Any = None  # a Conversation, a ConversationRow or a row of its columns
    problems: list[Problem] = field(default_factory=list)

    @property
    def version(self) -> int | None:
        return int(self.conversation.version) if self.conversation is not None else None


@dataclass(frozen=True)
class SyncResult:
    server_time: datetime
    results: list[ItemResult]
