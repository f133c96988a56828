"""GraphiQL works offline: the page and everything it loads come from Doorstep itself."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from server.core.settings import Settings
from server.web.graphiql import ASSETS, ASSETS_PATH
from tests.browsing import chromium
from tests.conftest import REDIS_URL, SECRET, GraphQLClient
from tests.serve import ServeProcess
from tests.test_graphql_limits import PRODUCTION, ClientFactory, client_with

__all__ = ["client_with"]  # the fixture, used below

HTML = {"Accept": "text/html"}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}


class References(HTMLParser):
    """Every src and href in a page, with the tag's integrity attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name) is not None:
                self.found.append((tag, values[name] or "", values.get("integrity")))


def references(page: str) -> list[tuple[str, str, str | None]]:
    parser = References()
    parser.feed(page)
    return parser.found


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


async def test_the_page_references_no_other_host(gql: GraphQLClient) -> None:
    response = await gql.http.get("/graphql", headers=HTML)
    assert response.status_code == 200
    found = references(response.text)
    assert len(found) == 7  # the icon, two scripts and two styles in <head>, two scripts after
    for _, url, _ in found:
        assert not url.startswith(("http://", "https://", "//")), url
    assert "://" not in response.text  # nor in the inline script


async def test_every_asset_the_page_loads_is_served_whole(gql: GraphQLClient) -> None:
    page = (await gql.http.get("/graphql", headers=HTML)).text
    assets = [(url, integrity) for _, url, integrity in references(page) if url.startswith("/")]
    assert len(assets) == 6
    for url, integrity in assets:
        assert url.startswith(f"{ASSETS_PATH}/"), url
        response = await gql.http.get(url)
        assert response.status_code == 200, url
        content_type = response.headers["content-type"].split(";")[0]
        assert content_type == CONTENT_TYPES[Path(url).suffix], url
        assert integrity == sri(response.content), f"{url}: update its integrity attribute"
        assert response.content == (ASSETS / Path(url).name).read_bytes()


def test_the_vendored_files_come_with_their_licence_and_versions() -> None:
    licence = (ASSETS / "LICENSE").read_text()
    readme = (ASSETS / "README.md").read_text()
    for package in ("graphiql 3.8.3", "react 18.2.0", "react-dom 18.2.0"):
        assert package in licence and package in readme
    assert "@graphiql/plugin-explorer 1.0.2" in readme
    assert licence.count("MIT License") == 2
    assert "Copyright (c) 2021 GraphQL Contributors" in licence
    assert "Copyright (c) Facebook, Inc. and its affiliates." in licence


async def test_production_serves_neither_the_page_nor_its_assets(
    client_with: ClientFactory,
) -> None:
    async with client_with(**PRODUCTION) as client:
        assert (await client.http.get("/graphql", headers=HTML)).status_code == 404
        response = await client.http.get(f"{ASSETS_PATH}/graphiql.min.js")
        assert response.status_code == 404


@pytest.mark.slow
async def test_graphiql_renders_in_a_browser_that_reaches_no_other_host(
    settings: Settings, tmp_path: Path
) -> None:
    browser = chromium()
    env = {
        "DOORSTEP_DATABASE_URL": settings.database_url,
        "DOORSTEP_REDIS_URL": REDIS_URL,
        "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
        "DOORSTEP_SECRET_KEY": SECRET,
        "DOORSTEP_VAR_DIR": str(settings.var_dir),
    }
    async with ServeProcess(tmp_path, env) as api:
        process = await asyncio.create_subprocess_exec(
            browser,
            "--headless",
            "--no-sandbox",  # tests run as root here
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium'}",
            # Every host but this server's address fails to resolve: no network.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{api.base_url}/graphql",
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        dom_bytes, _ = await asyncio.wait_for(process.communicate(), 120)
    dom = dom_bytes.decode()
    assert process.returncode == 0
    assert "Loading" not in dom
    for part in ("graphiql-query-editor", "graphiql-response", "CodeMirror"):
        assert part in dom, part
    assert "mutation" in dom and "Login" in dom  # the example is in the editor
    # GraphiQL asked this server for the schema (its documentation pane).
    assert "operation=IntrospectionQuery" in api.stderr
