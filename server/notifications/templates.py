"""Every notification's words, in one place, ready for translation (English first)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter

from server.notifications.models import ChannelName, NotificationKind

PUSH = (ChannelName.EXPO, ChannelName.FCM, ChannelName.WEBPUSH)


@dataclass(frozen=True)
class Template:
    kind: NotificationKind
    title: str
    body: str
    # Channels used besides in-app, when the person's preferences allow them.
    channels: tuple[ChannelName, ...] = PUSH
    in_app: bool = True
    sensitive: bool = False


TEMPLATES: dict[str, dict[str, Template]] = {
    "en": {
        "invitation": Template(
            NotificationKind.SYSTEM,
            "You're invited to {organisation} on Doorstep",
            "You have been added to {organisation} on Doorstep. Choose your password to "
            "sign in: {link}\nThe link works once and expires on {expires}.",
            channels=(ChannelName.EMAIL,),
            in_app=False,
            sensitive=True,
        ),
        "password_reset": Template(
            NotificationKind.SYSTEM,
            "Reset your Doorstep password",
            "Someone asked to reset the password of this account. To choose a new one, open: "
            "{link}\nThe link works once and expires on {expires}. If it wasn't you, ignore "
            "this email.",
            channels=(ChannelName.EMAIL,),
            in_app=False,
            sensitive=True,
        ),
        "follow_up_due": Template(
            NotificationKind.FOLLOW_UP_DUE,
            "Follow-up due {when}",
            "{note}",
        ),
        "follow_up_overdue": Template(
            NotificationKind.FOLLOW_UP_OVERDUE,
            "Follow-up overdue: {organiser}",
            "A follow-up assigned to {organiser} has been overdue since {due}. {note}",
            channels=(*PUSH, ChannelName.EMAIL),
        ),
        "session_reminder": Template(
            NotificationKind.SESSION_REMINDER,
            "Training {when}: {title}",
            "{title} starts at {starts}. {location}",
        ),
        "session_changed": Template(
            NotificationKind.SESSION_CHANGED,
            "Training changed: {title}",
            "{change}",
            channels=(*PUSH, ChannelName.EMAIL),
        ),
        "digest": Template(
            NotificationKind.DIGEST,
            "Your {frequency} Doorstep digest",
            "{lines}",
            channels=(ChannelName.EMAIL,),
        ),
        "system": Template(NotificationKind.SYSTEM, "{title}", "{body}"),
    }
}


class _Defaulting(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def template(name: str, locale: str = "en") -> Template:
    language = locale.split("-")[0].lower()
    return TEMPLATES.get(language, TEMPLATES["en"]).get(name) or TEMPLATES["en"][name]


def render(name: str, params: Mapping[str, object], locale: str = "en") -> tuple[str, str]:
    """Title and body; a missing parameter renders empty rather than failing a send."""
    chosen = template(name, locale)
    values = _Defaulting({k: str(v) for k, v in params.items()})
    formatter = Formatter()
    return (
        formatter.vformat(chosen.title, (), values).strip()[:200],
        formatter.vformat(chosen.body, (), values).strip()[:2000],
    )
