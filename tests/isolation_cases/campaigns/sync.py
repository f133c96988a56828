"""Isolation cases of the campaigns domain: sync."""

from __future__ import annotations

from typing import Any

CASES: dict[str, Any] = {}
