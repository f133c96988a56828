"""How long the document limits take to refuse the issue's documents, in process.

For each document: the median time of Doorstep's schema refusing it (parse, the limits,
the error: ``schema.execute``), beside graphql-core's plain ``validate`` of the same parsed
document with the specification's rules only, the anchor. ``--before`` also times
Strawberry's QueryDepthLimiter, MaxAliasesLimiter and MaxTokensLimiter on it once, as
the schema had them before (over 5 s for the 20-level bomb).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Callable, Sequence

import strawberry
from graphql import parse, validate
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from schema import build_schema
from schema.root import Mutation, Query, Subscription
from server.core.settings import Settings


def fragment_bomb(levels: int = 20) -> str:
    parts = ["query Bomb { ...F0 }"]
    parts += [
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} __typename }}" for i in range(levels)
    ]
    parts.append(f"fragment F{levels} on Query {{ __typename }}")
    return "\n".join(parts)


DOCUMENTS: dict[str, Callable[[], str]] = {
    "fragment bomb, 20 levels": fragment_bomb,
    "550 repeated me { id }": lambda: "query Repeated { " + "me { id } " * 550 + "}",
}


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench limits", description=__doc__)
    parser.add_argument("--runs", type=int, default=21, help="runs per figure (median)")
    parser.add_argument("--before", action="store_true", help="also time Strawberry's limiters")
    options = parser.parse_args(argv)
    settings = Settings(_env_file=None)
    schema = build_schema(settings)
    before = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        ],
    )
    # Strawberry logs the errors of a plain Schema; the figures are what matters here.
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)
    print(f"limits (median of {options.runs} runs; in process, no HTTP)")
    for name, make in DOCUMENTS.items():
        report(name, make(), schema, before if options.before else None, options.runs)
    return 0


def report(
    name: str, document: str, schema: strawberry.Schema, before: strawberry.Schema | None, runs: int
) -> None:
    result = asyncio.run(schema.execute(document))
    assert result.errors and result.data is None, name
    code = (result.errors[0].extensions or {}).get("code")
    parsed = parse(document)
    refused = median_seconds(lambda: asyncio.run(schema.execute(document)), runs)
    parsing = median_seconds(lambda: parse(document), runs)
    anchor = median_seconds(lambda: validate(schema._schema, parsed), runs)
    print(f"  {name} ({len(document)} bytes): refused ({code}) in {refused * 1000:.1f} ms")
    print(
        f"    of which parsing: {parsing * 1000:.1f} ms; graphql-core validate alone:"
        f" {anchor * 1000:.1f} ms; ratio refusal / validate = {refused / anchor:.2f}"
    )
    if before is not None:
        seconds = median_seconds(lambda: asyncio.run(before.execute(document)), 1)
        print(f"    Strawberry's limiters (before): {seconds:.2f} s")
