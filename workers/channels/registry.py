"""Which channel serves each ChannelName: its live provider, a log, or a refusal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from server.core.preflight import missing_provider_settings
from server.core.settings import Settings
from server.notifications.models import ChannelName
from workers.channels.base import Channel
from workers.channels.email import SmtpEmailChannel
from workers.channels.expo import ExpoChannel
from workers.channels.fcm import FcmChannel
from workers.channels.log import LogChannel
from workers.channels.sms import TwilioSmsChannel
from workers.channels.unavailable import UnavailableChannel
from workers.channels.webpush import WebPushChannel

log = logging.getLogger(__name__)


FACTORIES: dict[ChannelName, Callable[[Settings], Channel]] = {
    ChannelName.EXPO: ExpoChannel,
    ChannelName.FCM: FcmChannel,
    ChannelName.WEBPUSH: WebPushChannel,
    ChannelName.SMS: TwilioSmsChannel,
    ChannelName.EMAIL: SmtpEmailChannel,
}


def build_channels(settings: Settings) -> dict[ChannelName, Channel]:
    """Live providers, or logs with ``delivery`` 'log'; never a log in place of a live send.

    A channel outside DOORSTEP_CHANNELS, or one that live delivery has no settings for
    (production refuses to start then: server/preflight.py), marks its deliveries dead.
    """
    missing = missing_provider_settings(settings)
    channels: dict[ChannelName, Channel] = {}
    for name in ChannelName:
        reason: str | None = None
        if name not in settings.channels:
            reason = f"{name} is not enabled on this deployment (DOORSTEP_CHANNELS)"
        elif settings.live_delivery and missing[name]:
            reason = f"{name} is not configured: set {', '.join(missing[name])}"
        if reason is not None:
            log.warning("%s: its deliveries are marked dead, not sent", reason)
            channels[name] = UnavailableChannel(name, reason)
        elif settings.live_delivery:
            channels[name] = FACTORIES[name](settings)
        else:
            channels[name] = LogChannel(name)
    return channels


async def close_channels(channels: Mapping[ChannelName, Channel]) -> None:
    results = await asyncio.gather(
        *(channel.aclose() for channel in channels.values()), return_exceptions=True
    )
    for name, result in zip(channels, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("closing channel %s failed: %r", name, result)
