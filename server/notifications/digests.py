"""Digests: sections that domains contribute, gathered per person at their chosen frequency.

Training registers "trainees who are behind" for trainers; campaigns register "follow-ups
due today" for organisers. A person whose sections are all empty gets no digest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User

# Lines for one person's digest on a local date (empty: nothing to say).
Section = Callable[[AsyncSession, User, date], Awaitable[list[str]]]
_sections: list[tuple[str, Section]] = []


def register_section(name: str, section: Section) -> None:
    _sections[:] = [(n, s) for n, s in _sections if n != name]
    _sections.append((name, section))


def unregister_section(name: str) -> None:
    _sections[:] = [(n, s) for n, s in _sections if n != name]


async def digest_lines(session: AsyncSession, user: User, day: date) -> list[str]:
    lines: list[str] = []
    for _, section in _sections:
        lines.extend(await section(session, user, day))
    return lines
