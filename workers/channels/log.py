"""Development stand-in for every provider: logs what would be sent, sends nothing.

What it logs never holds a one-time link, token or code: a URL keeps its address and its
parameter names but not their values, token-like words and numeric codes become
``[redacted]``, and a push token is shown only as a short fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from server.core.enums import ChannelName
from workers.channels.base import Message, Outcome, Result

log = logging.getLogger(__name__)
MAX_ADDRESS_CHARS = 120
REDACTED = "[redacted]"
PUSH = {ChannelName.EXPO, ChannelName.FCM, ChannelName.WEBPUSH}

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s<>\"']+", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9_-]{20,}")
_CODE = re.compile(r"(?<![\w+])\d{6,8}(?!\w)")
_PUSH_TOKEN = re.compile(r"\b(Expo(?:nent)?PushToken)\[[^\]]*\]")


def _token_like(word: str) -> bool:
    """Random-looking: letters and digits mixed, or several capitals among small letters."""
    has_digit = any(c.isdigit() for c in word)
    has_letter = any(c.isalpha() for c in word)
    capitals = sum(c.isupper() for c in word)
    return (has_digit and has_letter) or (capitals >= 3 and any(c.islower() for c in word))


def _redact_words(text: str) -> str:
    text = _PUSH_TOKEN.sub(rf"\1{REDACTED}", text)
    text = _WORD.sub(lambda m: REDACTED if _token_like(m.group()) else m.group(), text)
    return _CODE.sub(REDACTED, text)


def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc += f":{parts.port}"
    path = "/".join(_redact_words(segment) for segment in parts.path.split("/"))
    query = "&".join(f"{_redact_words(key)}={REDACTED}" for key, _ in parse_qsl(parts.query, True))
    return urlunsplit((parts.scheme, netloc, path, query, REDACTED if parts.fragment else ""))


def redact(text: str) -> str:
    """``text`` with every link's secrets, token-like word and numeric code taken out."""
    pieces: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        pieces += [_redact_words(text[last : match.start()]), _redact_url(match.group())]
        last = match.end()
    pieces.append(_redact_words(text[last:]))
    return "".join(pieces)


def _address(channel: str, to: str) -> str:
    if channel in PUSH:  # the address is itself a token
        return f"push token #{hashlib.sha256(to.encode()).hexdigest()[:8]}"
    # An email address or phone number holds no secret, and the log formatter redacts it
    # whole: taking token-like words out of it here (a random-looking domain) would leave
    # the rest of the address for the formatter to miss.
    return to if len(to) <= MAX_ADDRESS_CHARS else to[:MAX_ADDRESS_CHARS] + "…"


class LogChannel:
    max_batch: int = 100

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self.name = name
        self._log = logger or log

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        for m in messages:
            self._log.info(
                "%s (not sent, delivery is 'log') to=%s title=%r body=%r link=%s delivery=%s",
                self.name,
                _address(self.name, m.to),
                redact(m.title),
                redact(m.body),
                redact(m.link) if m.link else "-",
                m.delivery_id,
            )
        return [Outcome(m.delivery_id, Result.SENT) for m in messages]

    async def aclose(self) -> None:
        pass
