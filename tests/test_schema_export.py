"""schema/schema.graphql, the checked-in SDL, is exactly what the code builds."""

from __future__ import annotations

import difflib

from graphql import build_schema as build_sdl
from graphql import find_breaking_changes

from schema import SDL_PATH, schema, sdl
from server.cli.main import main


def test_checked_in_sdl_equals_the_built_schema() -> None:
    built = sdl()
    stored = SDL_PATH.read_text()
    diff = "".join(
        difflib.unified_diff(
            stored.splitlines(keepends=True),
            built.splitlines(keepends=True),
            "schema/schema.graphql",
            "schema.sdl()",
        )
    )
    assert stored == built, f"run `doorstep export-schema`:\n{diff}"


def test_checked_in_sdl_describes_the_same_schema() -> None:
    """Read back, the file gives a schema with no breaking change against the live one."""
    assert find_breaking_changes(build_sdl(SDL_PATH.read_text()), schema._schema) == []


def test_export_schema_check_passes() -> None:
    assert main(["export-schema", "--check"]) == 0
