"""The ``neigou`` command line."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth import sign_in_codes
from neigou.auth.models import Role
from neigou.cli import analytics, orders, platforms, products
from neigou.cli.dead_letters import app as dead_letters_app
from neigou.cli.groups import app as groups_app
from neigou.cli.keys import keyed_settings
from neigou.cli.tiers import app as tiers_app
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import engine_for, make_session_factory, opened_database, transaction
from neigou.kit.errors import ProblemError
from neigou.kit.logging import uvicorn_log_config
from neigou.kit.settings import Settings, get_settings
from neigou.migrations import registry
from neigou.migrations.runner import upgrade
from neigou.organizations.service import organization_id_by_code

app = typer.Typer(
    help="neigou: social-commerce distribution programs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
user_app = typer.Typer(help="Operator accounts.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(groups_app, name="groups")
app.add_typer(products.app, name="products")
app.add_typer(orders.app, name="orders")
app.add_typer(platforms.app, name="platforms")
app.add_typer(tiers_app, name="tiers")
app.add_typer(analytics.app, name="analytics")
app.add_typer(dead_letters_app, name="dead-letters")
CLI_ACTOR = Actor(kind="cli", ref="cli", label="neigou command line")
assert registry.MODEL_MODULES  # every table is known before the first query


def _fail(exc: ProblemError) -> typer.Exit:
    typer.echo(f"error [{exc.code}]: {exc.detail}", err=True)
    return typer.Exit(code=2)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (NEIGOU_DATABASE_URL)."""
    settings = get_settings()
    upgrade(settings.database_url)
    typer.echo(
        f"schema is up to date on {make_url(settings.database_url).render_as_string(hide_password=True)}"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="web worker processes")] = 1,
) -> None:
    """Serve the API, console and workspace."""
    settings = keyed_settings()  # said once, plainly, before any worker starts (each would refuse anyway)
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:
        # prometheus_client's multiprocess mode: the workers write their metrics here; an earlier
        # run's files would be summed with this run's.
        Path(shared).mkdir(parents=True, exist_ok=True)
        for stale in Path(shared).glob("*.db"):
            stale.unlink()
    elif workers > 1:
        typer.echo(
            "note: /metrics covers only the worker that answers it; set PROMETHEUS_MULTIPROC_DIR to an "
            "empty directory to sum every worker's.",
            err=True,
        )
    uvicorn.run(
        "neigou.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,  # None: FORWARDED_ALLOW_IPS, else 127.0.0.1
        log_level="info",
        log_config=uvicorn_log_config(),
    )


@app.command()
def worker(threads: Annotated[int, typer.Option()] = 4) -> None:
    """Run background jobs from the Redis queue (NEIGOU_JOBS_BACKEND=redis)."""
    from neigou.web.app import create_app  # the app registers every domain's jobs

    settings = get_settings()
    if settings.jobs_backend != "redis":
        typer.echo(
            "neigou worker needs NEIGOU_JOBS_BACKEND=redis; in-process jobs run inside `neigou serve`.",
            err=True,
        )
        raise typer.Exit(code=2)
    # The worker never runs the app's lifespan: it makes the engine itself and disposes it once the
    # consumer has stopped. SIGTERM lets the running jobs finish first (up to NEIGOU_WORKER_SHUTDOWN_S);
    # a job still running then, or at SIGINT, is cut off as if the process were killed.
    engine = engine_for(settings)
    try:
        application = create_app(settings, session_factory=make_session_factory(engine), start_jobs=False)
        application.state.jobs.consumer(threads, shutdown_timeout=settings.worker_shutdown_s).run()
    finally:
        engine.dispose()


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="operator | integration | member")],
    member_id: Annotated[int | None, typer.Option("--member-id")] = None,
    label: Annotated[str, typer.Option()] = "",
    organization: Annotated[
        str | None, typer.Option("--organization", help="organization code; none: a platform administrator")
    ] = None,
    merchant_id: Annotated[
        int | None, typer.Option("--merchant-id", help="the shop of a merchant token")
    ] = None,
) -> None:
    """Issue an API token; the secret is printed alone on the last line."""
    settings = keyed_settings()
    try:
        with opened_database(settings.database_url) as factory, transaction(factory) as session:
            organization_id = None if organization is None else organization_id_by_code(session, organization)
            token, secret = auth.create_token(
                session,
                role=role,
                member_id=member_id,
                merchant_id=merchant_id,
                label=label,
                organization_id=organization_id,
                actor=CLI_ACTOR,
            )
    except ProblemError as exc:
        raise _fail(exc) from exc
    typer.echo(
        f"created {token.role.value} token #{token.id}" + (f" for member {member_id}" if member_id else "")
    )
    typer.echo(secret)


@token_app.command("sign-in-link")
def token_sign_in_link(
    member_id: Annotated[int, typer.Option("--member-id")],
    minutes: Annotated[
        int | None,
        typer.Option(min=1, max=7 * 24 * 60, help="valid for (default NEIGOU_SIGN_IN_CODE_MINUTES)"),
    ] = None,
) -> None:
    """Print a one-time workspace sign-in link for a member (it carries no API token)."""
    settings = keyed_settings()
    valid = minutes or settings.sign_in_code_minutes
    try:
        with opened_database(settings.database_url) as factory, transaction(factory) as session:
            code = sign_in_codes.issue(session, member_id=member_id, minutes=valid, actor=CLI_ACTOR)
    except ProblemError as exc:
        raise _fail(exc) from exc
    typer.echo(f"sign-in link for member {member_id}, valid once for {valid} minutes:")
    typer.echo(settings.public_base + sign_in_codes.LOGIN_PATH + code)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    display_name: Annotated[str | None, typer.Option()] = None,
    organization: Annotated[
        str | None, typer.Option("--organization", help="organization code; none: a platform administrator")
    ] = None,
    merchant_id: Annotated[int | None, typer.Option("--merchant-id", help="a merchant's account")] = None,
) -> None:
    """Create an operator account for the console (a merchant's account with --merchant-id)."""
    settings = keyed_settings()
    try:
        with opened_database(settings.database_url) as factory, transaction(factory) as session:
            organization_id = None if organization is None else organization_id_by_code(session, organization)
            user = auth.create_user(
                session,
                username=username,
                password=password,
                display_name=display_name,
                organization_id=organization_id,
                merchant_id=merchant_id,
                actor=CLI_ACTOR,
            )
    except ProblemError as exc:
        raise _fail(exc) from exc
    typer.echo(f"created operator {user.username} (#{user.id})")


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    path: Annotated[Path, typer.Option(help="SQLite file, recreated")] = Path(".neigou/demo.db"),
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """Build a fresh seeded SQLite database, print a login and a token, and serve it."""
    from neigou.demo.seed import seed

    # The demo's analytics store and job queue are its own, rebuilt with the database (a store holds
    # watermarks; a previous demo's queued tasks would run against the new database).
    analytics = path.with_name(path.stem + "-analytics.duckdb")
    jobs_path = path.with_name("demo-jobs.db")
    for stale in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        analytics,
        analytics.with_name(analytics.name + ".wal"),
        jobs_path,
        jobs_path.with_name(jobs_path.name + "-wal"),
        jobs_path.with_name(jobs_path.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    base = f"http://{host}:{port}"
    settings = Settings(
        database_url=url,
        jobs_path=str(jobs_path),
        public_url=base,
        analytics_url=f"duckdb:///{analytics}",
    )
    typer.echo(f"creating the demo database at {path} …")
    upgrade(url)
    password = secrets.token_urlsafe(9)
    with opened_database(url) as factory:
        with transaction(factory) as session:
            world = seed(
                session,
                now=utcnow(),
                password=password,
                secret_key=settings.secret_key,
                public_base=settings.public_base,
            )
        _fill_analytics(settings, factory)
    typer.echo(
        f"\nneigou demo is ready\n"
        f"  console:    {base}/console   (user {world.username}, password {password})\n"
        f"  merchant:   {base}/console   (user {world.merchant_username}, password {password}: the shop's portal)\n"
        f"  workspace:  {base}{sign_in_codes.LOGIN_PATH}{world.sample_member_sign_in_code}   (works once)\n"
        f"  salesperson: {base}{sign_in_codes.LOGIN_PATH}{world.salesperson_sign_in_code}   (customer book; works once)\n"
        f"  clawback:   {base}/console/members/{world.clawed_back_member_id}/ledger   (a refund after payout)\n"
        f"  API docs:   {base}/docs\n"
        f"  try:        curl -H 'Authorization: Bearer {world.operator_token}' {base}/api/v1/programs\n"
        f"operator token:\n{world.operator_token}"
    )
    if serve_after:
        os.environ["NEIGOU_DATABASE_URL"] = url
        os.environ["NEIGOU_JOBS_PATH"] = settings.jobs_path
        os.environ["NEIGOU_PUBLIC_URL"] = base
        os.environ["NEIGOU_ANALYTICS_URL"] = settings.analytics_url or ""
        get_settings.cache_clear()
        uvicorn.run(
            "neigou.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            log_level="info",
            log_config=uvicorn_log_config(),
        )


def _fill_analytics(settings: Settings, factory: sessionmaker[Session]) -> None:
    """Copy the seeded month into the demo's analytics store, so its charts have data from the start."""
    from neigou.analytics.extract import refresh
    from neigou.analytics.runtime import close_all, store_for

    try:
        with factory() as session:
            refresh(session, store_for(settings), wait=True)
    finally:
        close_all()


if __name__ == "__main__":
    app()
