"""What a domain's ``schema/<name>/manifest.py`` exports as ``PART``: its root classes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SchemaPart:
    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
