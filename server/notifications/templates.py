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
    # For residents (no account): plain words, sent by the email or SMS the resident
    # gave, never in-app; member templates (with app links) are never sent to them.
    residents: bool = False

    @classmethod
    def email(cls, title: str, body: str) -> Template:
        """An email only, never in-app, with a secret in it (scrubbed once sent)."""
        return cls(
            NotificationKind.SYSTEM,
            title,
            body,
            channels=(ChannelName.EMAIL,),
            in_app=False,
            sensitive=True,
        )

    @classmethod
    def resident(
        cls, kind: NotificationKind, title: str, body: str, *, sensitive: bool = False
    ) -> Template:
        """A message to residents by their email or SMS; ``sensitive`` when it carries a
        secret link (an invitation), which is erased once sent."""
        return cls(
            kind,
            title,
            body,
            channels=(ChannelName.EMAIL, ChannelName.SMS),
            in_app=False,
            sensitive=sensitive,
            residents=True,
        )


# The notifications domain's own templates; each domain declares its own in its manifest.
TEMPLATES: dict[str, Template] = {
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
    "digest": Template(
        NotificationKind.DIGEST,
        "Your {frequency} Doorstep digest",
        "{lines}",
        channels=(ChannelName.EMAIL,),
    ),
    "system": Template(NotificationKind.SYSTEM, "{title}", "{body}"),
    "resident_message": Template.resident(NotificationKind.SYSTEM, "{title}", "{body}"),
}


class _Defaulting(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def template(name: str, locale: str = "en") -> Template:
    """The template of that name, from every domain's manifest (English until translated)."""
    # Imported here: the registry gathers the manifests, which import this module.
    from server.domains import REGISTRY

    return REGISTRY.templates[name]


def render(name: str, params: Mapping[str, object], locale: str = "en") -> tuple[str, str]:
    """Title and body; a missing parameter renders empty rather than failing a send."""
    chosen = template(name, locale)
    values = _Defaulting({k: str(v) for k, v in params.items()})
    formatter = Formatter()
    return (
        formatter.vformat(chosen.title, (), values).strip()[:200],
        formatter.vformat(chosen.body, (), values).strip()[:2000],
    )
