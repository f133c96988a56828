"""GraphiQL from this server: the page and its vendored assets (static/graphiql/README.md)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from server.core.settings import Settings

HERE = Path(__file__).parent
ASSETS = HERE / "static" / "graphiql"
ASSETS_PATH = "/static/graphiql"
PAGE = HERE / "templates" / "graphiql.html"


def page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))


def routes(settings: Settings) -> list[BaseRoute]:
    """The assets, where GraphiQL is on."""
    if not settings.graphiql_enabled:
        return []
    return [Mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="graphiql-assets")]
