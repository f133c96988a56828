"""The training domain's notification words (declared in its manifest)."""

from __future__ import annotations

from server.notifications.models import NotificationKind
from server.notifications.templates import Template

ENROLLED = "training_enrolled"
TRAINING_COMPLETED = "training_completed"

TEMPLATES: dict[str, Template] = {
    ENROLLED: Template(
        NotificationKind.ENROLLED,
        "You're enrolled: {cohort}",
        "You have been enrolled in {cohort} of {programme}, starting {starts_on}.",
    ),
    TRAINING_COMPLETED: Template(
        NotificationKind.TRAINING_COMPLETED,
        "Training completed: {programme}",
        "Congratulations: you have completed {cohort} of {programme}.",
    ),
}
