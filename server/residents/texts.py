"""Words residents read, in one place, ready for translation (English first)."""

from __future__ import annotations

# --- the privacy notice (shown with the questions unless the organisation wrote its own) ---


def standard_privacy_notice(organisation: str) -> str:
    """The notice shown when the organisation has not written its own
    (ResidentSettings.privacy_notice)."""
    return (
        f"{organisation} asks these questions to learn what matters to people here. "
        "Your answers are kept without your name unless you agree to store your details. "
        "If you do, we keep only what you give us, use it only for what you agreed to "
        "(to contact you again, or to tell you what came of this), and you can see, stop "
        "or erase it at any time with the link you get after answering."
    )
