"""The `doorstep` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from pydantic_settings import SettingsError

from server.core.preflight import ConfigurationError, require_ready
from server.core.settings import Settings, get_settings


def _ready_settings() -> Settings:
    """The settings, checked: a half-configured production refuses to start."""
    settings = get_settings()
    require_ready(settings)
    return settings


def _listen_on(args: argparse.Namespace) -> None:
    """``--host`` and ``--port`` stand for DOORSTEP_HOST and DOORSTEP_PORT, so the public URL
    (unless DOORSTEP_PUBLIC_URL is set) and the children of `doorstep dev` follow them."""
    for value, variable in ((args.host, "DOORSTEP_HOST"), (args.port, "DOORSTEP_PORT")):
        if value is not None:
            os.environ[variable] = str(value)
    get_settings.cache_clear()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.core.logs import configure_logging

    _listen_on(args)
    settings = _ready_settings()
    configure_logging(settings)
    uvicorn.run(
        "server.web.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        # Forwarded headers are handled in the app, from DOORSTEP_TRUSTED_PROXIES (see
        # server.web.app); uvicorn's handling would trust its own FORWARDED_ALLOW_IPS first.
        proxy_headers=False,
        log_config=None,
        ws="websockets-sansio",
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from workers.main import run_worker

    return run_worker(_ready_settings())


def _dev(args: argparse.Namespace) -> int:
    from server.cli.dev import run_dev

    _listen_on(args)
    return run_dev()


def _migrate(args: argparse.Namespace) -> int:
    from server.cli.migrate import upgrade

    asyncio.run(upgrade(_ready_settings().database_url, args.revision))
    print(f"database migrated to {args.revision}")
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    from schema import SDL_PATH, sdl

    text = sdl()
    if args.check:
        if SDL_PATH.read_text() != text:
            print(f"{SDL_PATH} is out of date: run `doorstep export-schema`", file=sys.stderr)
            return 1
        return 0
    SDL_PATH.write_text(text)
    print(f"wrote {SDL_PATH}")
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from server.accounts.organisations import create_organisation_with_admin
    from server.core.conflicts import conflict_for
    from server.core.errors import UserError
    from server.core.services import Services

    password = os.environ.get("DOORSTEP_ADMIN_PASSWORD") or getpass.getpass("Password: ")

    async def run() -> None:
        services = Services.create(get_settings())
        try:
            async with services.db.session() as session:
                admin = await create_organisation_with_admin(
                    session,
                    services,
                    organisation=args.organisation,
                    email=args.email,
                    password=password,
                    display_name=args.name,
                )
            print(f"created organisation {args.organisation!r} with admin {admin.email}")
        finally:
            await services.close()

    try:
        asyncio.run(run())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except IntegrityError as exc:
        conflict = conflict_for(exc)
        if conflict is None:
            raise
        print(f"error: {conflict.message}", file=sys.stderr)
        return 1
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    from server.cli.demo import seed_demo

    asyncio.run(seed_demo(get_settings()))
    return 0


def _notifications(args: argparse.Namespace) -> int:
    import uuid

    from server.core.services import Services
    from server.notifications.deliveries import count_by_status
    from server.notifications.failures import requeue_dead

    async def run() -> None:
        services = Services.create(get_settings())
        try:
            async with services.db.session() as session:
                if args.action == "requeue":
                    ids = [uuid.UUID(i) for i in args.ids] if args.ids else None
                    print(f"requeued {await requeue_dead(session, ids)} dead deliveries")
                else:
                    counts = await count_by_status(session)
                    for status, count in counts.items():
                        print(f"{status.value:<12} {count}")
                    print(f"{'total':<12} {sum(counts.values())}")
        finally:
            await services.close()

    asyncio.run(run())
    return 0


def _outbox(args: argparse.Namespace) -> int:
    import uuid

    from server.core.services import Services
    from server.outbox.dead_letters import outbox_status, requeue_dead

    if args.action == "requeue" and not (args.ids or args.all_dead):
        print("error: say which rows: --id ID (repeatable) or --all-dead", file=sys.stderr)
        return 2
    if args.action == "status" and (args.ids or args.all_dead):
        print("error: --id and --all-dead are for requeue", file=sys.stderr)
        return 2
    try:
        ids = [uuid.UUID(i) for i in args.ids] if args.ids else None
    except ValueError:
        print("error: --id takes an outbox row id (a UUID)", file=sys.stderr)
        return 2

    async def run() -> None:
        services = Services.create(get_settings())
        try:
            async with services.db.session() as session:
                if args.action == "requeue":
                    print(f"requeued {await requeue_dead(session, ids)} dead outbox rows")
                    return
                status = await outbox_status(session)
        finally:
            await services.close()
        for label, count in (
            ("pending", status.pending),
            ("handed over", status.handed_over),
            ("processed", status.processed),
            ("dead", status.dead),
        ):
            print(f"{label:<12} {count}")
        for row in status.dead_rows:
            assert row.dead_at is not None
            since = row.dead_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            print(
                f"dead {row.id} topic={row.topic} attempts={row.attempts} "
                f"since={since} error={row.last_error}"
            )

    asyncio.run(run())
    return 0


def _recount_tallies(args: argparse.Namespace) -> int:
    import uuid

    from server.campaigns.tallies import recount
    from server.core.services import Services

    try:
        ids = [uuid.UUID(i) for i in args.campaign_ids]
    except ValueError:
        print("error: campaign ids are UUIDs", file=sys.stderr)
        return 2

    async def run() -> None:
        services = Services.create(get_settings())
        try:
            async with services.db.session() as session:
                print(f"recounted the tallies of {await recount(session, ids)} campaigns")
        finally:
            await services.close()

    asyncio.run(run())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="doorstep", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.set_defaults(handler=handler)
        return p

    for name, handler, text in (
        ("serve", _serve, "run the API server"),
        ("dev", _dev, "migrate, seed the demo, start Redis, the API and a worker"),
    ):
        p = add(name, handler, text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
    add("worker", _worker, "run one background worker process")
    add("migrate", _migrate, "apply database migrations").add_argument(
        "revision", nargs="?", default="head"
    )
    add("export-schema", _export_schema, "write schema/schema.graphql").add_argument(
        "--check", action="store_true", help="fail if the checked-in file is out of date"
    )
    p = add("create-admin", _create_admin, "create an organisation and its first admin")
    p.add_argument("--organisation", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--name", default="Administrator")
    add("seed-demo", _seed_demo, "create the demo organisation (once)")
    p = add("notifications", _notifications, "delivery status; resend dead deliveries")
    p.add_argument("action", choices=["status", "requeue"])
    p.add_argument("ids", nargs="*", help="delivery ids to requeue (default: every dead one)")
    p = add("recount-tallies", _recount_tallies, "recount campaign report tallies (a repair)")
    p.add_argument("campaign_ids", nargs="*", help="campaign ids (default: every campaign)")
    p = add("outbox", _outbox, "outbox status and dead rows; requeue dead rows")
    p.add_argument("action", choices=["status", "requeue"])
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--id", dest="ids", action="append", metavar="ID", help="a dead row to requeue"
    )
    which.add_argument("--all-dead", action="store_true", help="requeue every dead row")
    return parser


def _settings_errors(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        name = "DOORSTEP_" + str(problem["loc"][0]).upper() if problem["loc"] else "settings"
        lines.append(f"  - {name}: {problem['msg']}")
    return "Doorstep cannot read its settings:\n" + "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    except ValidationError as error:
        if error.title != Settings.__name__:
            raise
        print(_settings_errors(error), file=sys.stderr)
        return 2
    except SettingsError as error:  # a value that is not even JSON, such as a list
        field = re.search(r'field "(\w+)"', str(error))
        name = f"DOORSTEP_{field.group(1).upper()}" if field else "settings"
        print(f"Doorstep cannot read its settings:\n  - {name}: {error}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
