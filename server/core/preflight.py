"""Start-up checks: a production deployment that is half configured refuses to run.

``doorstep serve``, ``worker`` and ``migrate`` call ``require_ready`` before doing
anything, and so does ``create_app()`` when uvicorn builds the app from the environment.
Every problem is reported at once, each naming the setting to fix.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from server.core.enums import ChannelName
from server.core.settings import Settings

DELIVERY_MODES = ("log", "live")
MIN_SECRET_KEY_CHARS = 32


class ConfigurationError(Exception):
    """The settings cannot run in production; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Doorstep refuses to start in production; fix these settings:\n{lines}")


def missing_provider_settings(settings: Settings) -> dict[ChannelName, list[str]]:
    """For each channel, the settings its provider still needs to go live (empty: ready)."""
    fcm: list[str] = []
    if not settings.fcm_project_id:
        fcm.append("DOORSTEP_FCM_PROJECT_ID")
    if not (settings.fcm_credentials_file or settings.fcm_access_token):
        fcm.append("DOORSTEP_FCM_CREDENTIALS_FILE (or DOORSTEP_FCM_ACCESS_TOKEN)")
    twilio = {
        "DOORSTEP_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "DOORSTEP_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "DOORSTEP_TWILIO_FROM_NUMBER": settings.twilio_from_number,
    }
    return {
        # Expo needs no credentials: an access token is optional (its "enhanced security").
        ChannelName.EXPO: [],
        ChannelName.FCM: fcm,
        ChannelName.WEBPUSH: []
        if settings.webpush_vapid_private_key
        else ["DOORSTEP_WEBPUSH_VAPID_PRIVATE_KEY"],
        ChannelName.SMS: [name for name, value in twilio.items() if not value],
        ChannelName.EMAIL: [] if settings.smtp_url else ["DOORSTEP_SMTP_URL"],
    }


def _database_problem(settings: Settings) -> str | None:
    try:
        backend = make_url(settings.database_url).get_backend_name()
    except ArgumentError:
        return "DOORSTEP_DATABASE_URL is not a database URL (postgresql+asyncpg://user@host/db)"
    if backend == "sqlite" and not settings.allow_sqlite:
        return (
            "DOORSTEP_DATABASE_URL is SQLite, which is for development: use PostgreSQL "
            "(postgresql+asyncpg://user:password@host/db), or set DOORSTEP_ALLOW_SQLITE=true"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _public_url_problem(settings: Settings) -> str | None:
    url = settings.public_url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host:
        return f"DOORSTEP_PUBLIC_URL {url!r} is not an http(s) address"
    if settings.allow_http:
        return None
    if parts.scheme != "https":
        return (
            f"DOORSTEP_PUBLIC_URL {url!r} is not https: emailed one-time links would travel "
            "in the clear (set DOORSTEP_ALLOW_HTTP=true if that is meant)"
        )
    if _is_loopback(host):
        return (
            f"DOORSTEP_PUBLIC_URL {url!r} points at this machine: emailed links would not "
            "open anywhere else (set DOORSTEP_ALLOW_HTTP=true if that is meant)"
        )
    return None


def _delivery_problems(settings: Settings) -> list[str]:
    if settings.delivery is not None and settings.delivery not in DELIVERY_MODES:
        return [
            f"DOORSTEP_DELIVERY is {settings.delivery!r}: use 'live' (or 'log' to send nothing)"
        ]
    if not settings.live_delivery:
        return []
    missing = missing_provider_settings(settings)
    problems = []
    for channel in settings.channels:
        if missing[channel]:
            one = len(missing[channel]) == 1
            problems.append(
                f"DOORSTEP_CHANNELS includes {channel} but {', '.join(missing[channel])} "
                f"{'is' if one else 'are'} not set (set {'it' if one else 'them'}, "
                "or leave the channel out of DOORSTEP_CHANNELS)"
            )
    fcm_file = settings.fcm_credentials_file
    if ChannelName.FCM in settings.channels and fcm_file is not None and not fcm_file.is_file():
        problems.append(f"DOORSTEP_FCM_CREDENTIALS_FILE {str(fcm_file)!r} is not a readable file")
    return problems


def production_problems(settings: Settings) -> list[str]:
    """Everything that keeps these settings from running in production (empty: fine)."""
    if not settings.is_production:
        return []
    problems: list[str] = []
    if len(settings.secret_key) < MIN_SECRET_KEY_CHARS:
        problems.append(
            f"DOORSTEP_SECRET_KEY must be set to at least {MIN_SECRET_KEY_CHARS} characters "
            "in production"
        )
    problems += [p for p in (_database_problem(settings), _public_url_problem(settings)) if p]
    problems += _delivery_problems(settings)
    return problems


def require_ready(settings: Settings) -> None:
    """Raise ConfigurationError naming every setting at fault; development always passes."""
    problems = production_problems(settings)
    if problems:
        raise ConfigurationError(problems)
