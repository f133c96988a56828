"""The rules of one synced item, shared by the batched path and the per-item fallback:
which status an item gets against what is stored, and the checks of its own fields."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from server.campaigns.answers import CleanAnswer, check_answers
from server.campaigns.enums import CampaignStatus, QuestionKind, SyncStatus
from server.campaigns.sync_types import MAX_NOTES, MAX_THEMES, ConversationData, FollowUpData
from server.campaigns.themes import theme_key, theme_name
from server.core.errors import UserError, UserErrorCode


def parse_id(value: str, at: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserError.of(UserErrorCode.NOT_FOUND, f"No such {what}.", at) from None


def decide(
    item: ConversationData,
    digest: str,
    organisation_id: uuid.UUID,
    campaign_id: uuid.UUID,
    campaign_status: CampaignStatus,
    existing: Any | None,
) -> SyncStatus:
    """UNCHANGED, CONFLICT, UPDATED or CREATED, against ``existing`` (the stored
    conversation with this id, of any organisation, or None); a UserError when it is
    another organisation's or campaign's, redacted, the campaign is not active, or a
    "change" names a conversation that is not there."""
    if existing is not None and (
        existing.organisation_id != organisation_id or existing.campaign_id != campaign_id
    ):
        raise UserError.of(UserErrorCode.NOT_FOUND, "No such conversation.", "id")
    if existing is not None and existing.redacted_at is not None:
        # Erased at the resident's request: a stale copy must not bring anything back.
        raise UserError.of(
            UserErrorCode.CLOSED,
            "This conversation was redacted when the resident's details were erased; "
            "it takes no more changes.",
            "id",
        )
    if existing is not None and existing.content_hash == digest:
        return SyncStatus.UNCHANGED
    if campaign_status != CampaignStatus.ACTIVE:
        message = (
            "This campaign is closed: it takes no more conversations."
            if campaign_status == CampaignStatus.CLOSED
            else "This campaign has not started yet."
        )
        raise UserError.of(UserErrorCode.CLOSED, message, "campaignId")
    if existing is not None:
        return SyncStatus.CONFLICT if item.base_version != existing.version else SyncStatus.UPDATED
    if item.base_version is not None:
        raise UserError.of(UserErrorCode.NOT_FOUND, "No such conversation.", "id")
    return SyncStatus.CREATED


def no_question_set() -> UserError:
    return UserError.of(
        UserErrorCode.INVALID, "No such question set version.", "questionSetVersion"
    )


def checked_answers(
    questions: Sequence[dict[str, Any]], item: ConversationData
) -> list[CleanAnswer]:
    """The item's answers, cleaned against the questions of the version it names; a
    UserError when an answer or one of the item's own fields is bad."""
    clean, answer_problems = check_answers(questions, item.answers)
    if answer_problems:
        raise UserError(*answer_problems)
    check_fields(item)
    return clean


def check_fields(item: ConversationData) -> None:
    if item.interest_level is not None and not 0 <= item.interest_level <= 5:
        raise UserError.of(UserErrorCode.INVALID, "Interest is from 0 to 5.", "interestLevel")
    if item.notes is not None and len(item.notes) > MAX_NOTES:
        raise UserError.of(UserErrorCode.INVALID, f"At most {MAX_NOTES} characters.", "notes")
    if len(item.themes) > MAX_THEMES:
        raise UserError.of(UserErrorCode.INVALID, f"At most {MAX_THEMES} themes.", "themes")


def conversation_values(item: ConversationData, digest: str) -> dict[str, Any]:
    """The columns an accepted item sets (on a new conversation and on a change)."""
    return {
        "occurred_at": item.occurred_at,
        "question_set_version": item.question_set_version,
        "interest_level": item.interest_level,
        "wants_involvement": item.wants_involvement,
        "notes": item.notes,
        "latitude": item.latitude,
        "longitude": item.longitude,
        "accuracy_meters": item.accuracy_meters,
        "content_hash": digest,
    }


def answer_values(answer: CleanAnswer) -> dict[str, Any]:
    """The columns a clean answer sets on its Answer row."""
    return {
        "question_id": answer.question_id,
        "text": answer.text,
        "number": answer.number,
        "choices": list(answer.choices) if answer.choices is not None else None,
    }


def chosen(answer: CleanAnswer) -> Sequence[str]:
    """The options a clean answer picked, one AnswerChoice row each (none for a question
    that is not a choice)."""
    if answer.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE):
        return answer.choices or ()
    return ()


def theme_names(typed: Sequence[str]) -> dict[str, str]:
    """The item's themes by key, each with its first spelling; blank ones left out."""
    return {theme_key(t): theme_name(t) for t in reversed(typed) if theme_key(t)}


def follow_up_note(data: FollowUpData) -> str | None:
    return " ".join((data.note or "").split())[:2000] or None
