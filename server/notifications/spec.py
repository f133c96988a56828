"""What a domain asks for when something must reach people: a NotifySpec, staged in its
transaction via the outbox (``server.notifications.notify``), turned into notifications by a
worker.

Members are named by user id; the pipeline finds their channels. Residents (people without
an account) are named with the one channel and address to use, resolved by the caller, who
has checked their consent: this domain knows nothing of the residents' table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from server.core.enums import ChannelName

# The only ways a resident is reached: no in-app inbox, no push.
RESIDENT_CHANNELS = frozenset({ChannelName.EMAIL, ChannelName.SMS})


@dataclass(frozen=True)
class ResidentRecipient:
    """One resident, told once per event by one channel at one address."""

    resident_id: uuid.UUID
    channel: ChannelName  # EMAIL or SMS
    address: str  # an email address, or a phone number in E.164
    # Values of the template for this resident alone (their invitation or manage link),
    # over the spec's params.
    params: dict[str, str] = field(default_factory=dict)
    # The resident's own public link (response or manage page), never an app link.
    link: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in RESIDENT_CHANNELS:
            raise ValueError(f"a resident is reached by EMAIL or SMS, not {self.channel}")
        if not self.address:
            raise ValueError("a resident recipient needs an address")

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.resident_id),
            "channel": self.channel.value,
            "address": self.address,
        }
        if self.params:
            payload["params"] = self.params
        if self.link:
            payload["link"] = self.link
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ResidentRecipient:
        return cls(
            resident_id=uuid.UUID(payload["id"]),
            channel=ChannelName(payload["channel"]),
            address=payload["address"],
            params=dict(payload.get("params") or {}),
            link=payload.get("link"),
        )


@dataclass(frozen=True)
class NotifySpec:
    organisation_id: uuid.UUID
    user_ids: list[uuid.UUID]
    template: str
    # A stable name of the event: with the user (or resident) id it is each notification's
    # dedupe key, so however often the same event is handled, each person is told once.
    event_key: str
    params: dict[str, str] = field(default_factory=dict)
    link: str | None = None
    # Residents to tell as well (only with a template made for residents).
    residents: list[ResidentRecipient] = field(default_factory=list)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "organisation_id": str(self.organisation_id),
            "user_ids": [str(u) for u in self.user_ids],
            "template": self.template,
            "event_key": self.event_key,
            "params": self.params,
            "link": self.link,
        }
        if self.residents:
            payload["residents"] = [r.to_payload() for r in self.residents]
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> NotifySpec:
        return cls(
            organisation_id=uuid.UUID(payload["organisation_id"]),
            user_ids=[uuid.UUID(u) for u in payload["user_ids"]],
            template=payload["template"],
            event_key=payload["event_key"],
            params=dict(payload.get("params") or {}),
            link=payload.get("link"),
            residents=[ResidentRecipient.from_payload(r) for r in payload.get("residents") or []],
        )
