"""The ``sla-tracker`` command line."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from app import __version__
from app.apply.cli import apply_command
from app.auth import service as apikeys
from app.calendars.cli import calendar_app
from app.cli_support import abort_on_app_error, database_from_settings, fail
from app.clocks.cli import backtest_command
from app.connections.cli import sync_command
from app.core.clock import system_now
from app.core.config import get_settings
from app.core.logging import configure_logging
from app.core.runtime import tune_gc
from app.core.schema import schema_status, upgrade
from app.demo.cli import demo_command
from app.worker.lanes import LANE_NAMES, Workers

main = typer.Typer(help="SLA Tracker: service-level clocks for helpdesk tickets.", no_args_is_help=True)
apikey_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
main.add_typer(apikey_app, name="apikey")
main.add_typer(calendar_app, name="calendar")
main.command("apply")(apply_command)
main.command("sync")(sync_command)
main.command("demo")(demo_command)
main.command("backtest")(backtest_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sla-tracker {__version__}")
        raise typer.Exit()


@main.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Service-level clocks for helpdesk tickets."""


@main.command()
def migrate() -> None:
    """Upgrade the database schema to this version (safe to run repeatedly)."""
    db = database_from_settings()
    upgrade(db.engine)
    typer.echo(schema_status(db.engine).describe())


@main.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: SLA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: SLA_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Number of API processes.")] = 1,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Do not run background jobs here (run `sla-tracker worker`).")
    ] = False,
    run_migrations: Annotated[bool, typer.Option("--migrate", help="Upgrade the schema first.")] = False,
) -> None:
    """Serve the REST API, the board and (unless --no-workers) the background jobs."""
    settings = get_settings()
    db = database_from_settings()
    if run_migrations:
        upgrade(db.engine)
    status = schema_status(db.engine)
    if not status.up_to_date:
        fail(status.describe())
    db.dispose()
    if no_workers:
        # The app is built from the environment (uvicorn's factory, in each of its processes); the
        # settings read above are cached in this one and must be read again.
        os.environ["SLA_RUN_WORKERS"] = "false"
        get_settings.cache_clear()
    bind_host = host or settings.host
    bind_port = port or settings.port
    configure_logging(settings.log_level)
    typer.echo(f"SLA Tracker {__version__} on http://{bind_host}:{bind_port}  (API docs: /docs)", err=True)
    uvicorn.run(
        "app.main:create_app_from_env",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@main.command()
def worker(
    lanes: Annotated[
        str,
        typer.Option(help=f"Comma-separated lanes to run here ({', '.join(LANE_NAMES)}); all by default."),
    ] = ",".join(LANE_NAMES),
) -> None:
    """Run background lanes in the foreground: clocks (projection queue, escalations), deliveries
    (outbound webhooks), writeback (comments and fields at the source), sync (pollers)."""
    names = [name.strip() for name in lanes.split(",") if name.strip()]
    unknown = sorted(set(names) - set(LANE_NAMES))
    if unknown or not names:
        fail(f"--lanes: unknown lane(s) {', '.join(unknown) or '(none given)'}; lanes are {', '.join(LANE_NAMES)}")
    settings = get_settings()
    configure_logging(settings.log_level)
    db = database_from_settings()
    status = schema_status(db.engine)
    if not status.up_to_date:
        fail(status.describe())
    runner = Workers(db, system_now, settings.worker_interval_seconds, names)
    tune_gc()
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner.stop()


@apikey_app.command("create")
@abort_on_app_error
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. `escalation-bot`.")],
    scope: Annotated[str, typer.Option(help="read, write or admin.")] = "read",
) -> None:
    """Create a key and print it once (it is stored only as a hash)."""
    db = database_from_settings()
    with db.transaction() as session:
        row, clear = apikeys.create_key(session, name=name, scope=scope, now=system_now())
        key_id = row.id
    typer.echo(clear)
    typer.echo(f"created key #{key_id} {name!r} with scope {scope}; it is not shown again", err=True)


@apikey_app.command("list")
def apikey_list() -> None:
    """List keys (id, name, scope, created, last used, revoked)."""
    db = database_from_settings()
    with db.transaction(write=False) as session:
        rows = apikeys.list_keys(session)
        for row in rows:
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            typer.echo(f"{row.id}\t{row.name}\t{row.scope}\t{row.created_at:%Y-%m-%d}\tlast used {used}\t{state}")


@apikey_app.command("revoke")
@abort_on_app_error
def apikey_revoke(
    key_id: Annotated[int | None, typer.Argument(help="Key id (see `apikey list`).")] = None,
    name: Annotated[str | None, typer.Option(help="Revoke every active key with this name.")] = None,
) -> None:
    """Revoke a key by id or name."""
    if (key_id is None) == (name is None):
        fail("give a key id or --name, not both")
    db = database_from_settings()
    with db.transaction() as session:
        count = apikeys.revoke_key(session, key_id=key_id, name=name, now=system_now())
    typer.echo(f"revoked {count} key(s)")


if __name__ == "__main__":
    main()
