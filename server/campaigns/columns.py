"""What the API shows of each campaign table: reads select these columns as plain rows
(docs/decisions/0009), and ``schema/campaigns/types.py`` builds its types from them."""

from __future__ import annotations

from typing import Any

from sqlmodel import col

from server.campaigns.models import (
    Answer,
    Campaign,
    Conversation,
    Event,
    FollowUp,
    QuestionSet,
    Resident,
    Theme,
)

CAMPAIGN_COLUMNS: tuple[Any, ...] = (
    col(Campaign.id),
    col(Campaign.organisation_id),
    col(Campaign.kind),
    col(Campaign.title),
    col(Campaign.description),
    col(Campaign.status),
    col(Campaign.area_id),
    col(Campaign.starts_on),
    col(Campaign.ends_on),
    col(Campaign.target_conversations),
    col(Campaign.question_set_version),
)

QUESTION_SET_COLUMNS: tuple[Any, ...] = (
    col(QuestionSet.campaign_id),
    col(QuestionSet.version),
    col(QuestionSet.questions),
)

THEME_COLUMNS: tuple[Any, ...] = (col(Theme.id), col(Theme.name))

CONVERSATION_COLUMNS: tuple[Any, ...] = (
    col(Conversation.id),
    col(Conversation.campaign_id),
    col(Conversation.organiser_id),
    col(Conversation.resident_id),
    col(Conversation.version),
    col(Conversation.updated_at),
    col(Conversation.occurred_at),
    col(Conversation.question_set_version),
    col(Conversation.interest_level),
    col(Conversation.wants_involvement),
    col(Conversation.notes),
    col(Conversation.redacted_at),
)

ANSWER_COLUMNS: tuple[Any, ...] = (
    col(Answer.conversation_id),
    col(Answer.question_id),
    col(Answer.text),
    col(Answer.number),
    col(Answer.choices),
)

RESIDENT_COLUMNS: tuple[Any, ...] = (
    col(Resident.id),
    col(Resident.name),
    col(Resident.postcode),
    col(Resident.email),
    col(Resident.phone),
    col(Resident.store_details),
    col(Resident.contact_again),
    col(Resident.hear_back),
    col(Resident.consent_recorded_at),
    col(Resident.erased_at),
)

FOLLOW_UP_COLUMNS: tuple[Any, ...] = (
    col(FollowUp.id),
    col(FollowUp.campaign_id),
    col(FollowUp.conversation_id),
    col(FollowUp.resident_id),
    col(FollowUp.assignee_id),
    col(FollowUp.due_at),
    col(FollowUp.note),
    col(FollowUp.status),
    col(FollowUp.outcome),
    col(FollowUp.completed_at),
)

EVENT_COLUMNS: tuple[Any, ...] = (
    col(Event.id),
    col(Event.campaign_id),
    col(Event.kind),
    col(Event.title),
    col(Event.starts_at),
    col(Event.ends_at),
    col(Event.location),
)
