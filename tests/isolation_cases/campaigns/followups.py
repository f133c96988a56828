"""Isolation cases of the campaigns domain: followups."""

from __future__ import annotations

from typing import Any

CASES: dict[str, Any] = {}
