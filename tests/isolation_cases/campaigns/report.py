"""Isolation cases of the campaigns domain: report."""

from __future__ import annotations

from typing import Any

CASES: dict[str, Any] = {}
