"""Which channel serves each ChannelName: a live provider when configured, else a log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from server.notifications.models import ChannelName
from server.settings import Settings
from workers.channels.base import Channel
from workers.channels.email import SmtpEmailChannel
from workers.channels.expo import ExpoChannel
from workers.channels.fcm import FcmChannel
from workers.channels.log import LogChannel
from workers.channels.sms import TwilioSmsChannel
from workers.channels.webpush import WebPushChannel

log = logging.getLogger(__name__)


def configured(settings: Settings) -> dict[ChannelName, bool]:
    """Whether each provider has what it needs to go live."""
    return {
        ChannelName.EXPO: True,
        ChannelName.FCM: bool(
            settings.fcm_project_id and (settings.fcm_credentials_file or settings.fcm_access_token)
        ),
        ChannelName.WEBPUSH: bool(settings.webpush_vapid_private_key),
        ChannelName.SMS: bool(
            settings.twilio_account_sid
            and settings.twilio_auth_token
            and settings.twilio_from_number
        ),
        ChannelName.EMAIL: bool(settings.smtp_url),
    }


FACTORIES: dict[ChannelName, Callable[[Settings], Channel]] = {
    ChannelName.EXPO: ExpoChannel,
    ChannelName.FCM: FcmChannel,
    ChannelName.WEBPUSH: WebPushChannel,
    ChannelName.SMS: TwilioSmsChannel,
    ChannelName.EMAIL: SmtpEmailChannel,
}


def build_channels(settings: Settings) -> dict[ChannelName, Channel]:
    ready = configured(settings)
    channels: dict[ChannelName, Channel] = {}
    for name in ChannelName:
        if settings.live_delivery and ready[name]:
            channels[name] = FACTORIES[name](settings)
        else:
            if settings.live_delivery:
                log.warning("%s is not configured: its deliveries are only logged", name)
            channels[name] = LogChannel(name)
    return channels


async def close_channels(channels: Mapping[ChannelName, Channel]) -> None:
    results = await asyncio.gather(
        *(channel.aclose() for channel in channels.values()), return_exceptions=True
    )
    for name, result in zip(channels, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("closing channel %s failed: %r", name, result)
