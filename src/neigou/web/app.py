"""The ASGI application: API, console, member workspace, static assets."""

from __future__ import annotations

import functools
import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from neigou.analytics.endpoints import router as analytics_router
from neigou.auth.endpoints import router as auth_router
from neigou.auth.throttle import SignInThrottle
from neigou.campaigns.endpoints import router as campaigns_router
from neigou.crm.endpoints import router as crm_router
from neigou.crm.push_endpoints import router as crm_push_router
from neigou.crm.recommendation_endpoints import router as recommendations_router
from neigou.crm.segment_endpoints import router as segments_router
from neigou.events.endpoints import router as events_router
from neigou.events.runtime import EventsRuntime
from neigou.feed.endpoints import router as feed_router
from neigou.groups import scan_counts
from neigou.groups.endpoints import router as groups_router
from neigou.groups.live_code_endpoints import router as live_codes_router
from neigou.integrations.click_keys import ClickKeys
from neigou.integrations.endpoints import router as integrations_router
from neigou.integrations.webhook_endpoints import router as integration_webhooks_router
from neigou.kit import jobs
from neigou.kit.db import engine_for, make_session_factory
from neigou.kit.logging import configure_logging
from neigou.kit.metrics import REDIRECTS
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings, check_keys, get_settings
from neigou.kit.streams import namespace as redis_namespace
from neigou.kit.streams import stop_together
from neigou.ledger.endpoints import router as ledger_router
from neigou.links.endpoints import router as links_router
from neigou.links.runtime import LinksRuntime
from neigou.merchants.endpoints import router as merchants_router
from neigou.merchants.review_endpoints import router as merchant_reviews_router
from neigou.network.endpoints import router as network_router
from neigou.offers.endpoints import router as catalog_router
from neigou.offers.offer_endpoints import router as offers_router
from neigou.orders.endpoints import router as orders_router
from neigou.organizations.endpoints import router as organizations_router
from neigou.platforms.endpoints import router as platforms_router
from neigou.privacy.endpoints import router as privacy_router
from neigou.programs.endpoints import router as programs_router
from neigou.reporting.endpoints import router as group_sales_router
from neigou.risk.endpoints import router as risk_router
from neigou.tiers.endpoints import router as tiers_router
from neigou.web import (
    body_limit,
    console,
    console_analytics,
    console_analytics_export,
    console_campaigns,
    console_catalog,
    console_events,
    console_home,
    console_links,
    console_network,
    console_offers,
    console_orders,
    console_privacy,
    console_products,
    console_pushes,
    console_risk,
    console_risk_thresholds,
    console_tiers,
    credentials,
    forms,
    hosts,
    join,
    landing,
    problems,
    security_headers,
    workspace,
    workspace_customers,
    workspace_earnings,
    workspace_events,
    workspace_feed,
    workspace_links,
    workspace_live_codes,
    workspace_network,
    workspace_pushes,
    workspace_tiers,
)
from neigou.web.audit_api import router as audit_router
from neigou.web.console_access import router as console_access_router
from neigou.web.console_campaign_forms import router as console_campaign_forms_router
from neigou.web.console_event_create import router as console_event_create_router
from neigou.web.console_group_create import router as console_group_create_router
from neigou.web.console_group_edit import router as console_group_edit_router
from neigou.web.console_group_sales import router as console_group_sales_router
from neigou.web.console_groups import router as console_groups_router
from neigou.web.console_members import router as console_members_router
from neigou.web.console_merchant import router as console_merchant_router
from neigou.web.console_merchant_campaigns import router as console_merchant_campaigns_router
from neigou.web.console_program_edit import router as console_program_edit_router
from neigou.web.console_reconciliation import router as console_reconciliation_router
from neigou.web.console_reviews import router as console_reviews_router
from neigou.web.console_settings import router as console_settings_router
from neigou.web.live_code import router as live_code_router
from neigou.web.operations import Operations
from neigou.web.paths import PROBES, STATIC_DIR
from neigou.web.product_images import router as product_images_router
from neigou.web.route_index import IndexedRouting
from neigou.web.workspace_groups import router as workspace_groups_router

API_PREFIX = "/api/v1"


class NeigouApp(FastAPI):
    """FastAPI with the share-link redirect answered ahead of every middleware layer.

    ``GET /l/{code}`` is the hottest path we have (links go viral in bursts): a cached, active code is
    answered by ``landing.ShortLinkFastPath`` in plain ASGI; everything else, including the redirect's
    unusual cases, goes through the full stack. Its only metric is one counter increment; admission
    control does not apply to it (it holds no thread and no connection).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.short_links = landing.ShortLinkFastPath(super().__call__)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/l/"):
            REDIRECTS.inc()
            scope["app"] = self
            await self.short_links(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def api_router() -> APIRouter:
    """Every domain's endpoints under ``/api/v1``, none of which takes a NUL in its URL or body."""
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(problems.refuse_nul)])
    router.include_router(auth_router)
    router.include_router(programs_router)
    router.include_router(audit_router)
    router.include_router(live_codes_router)
    router.include_router(groups_router)
    router.include_router(group_sales_router)
    router.include_router(catalog_router)
    router.include_router(offers_router)
    router.include_router(links_router)
    router.include_router(orders_router)
    router.include_router(integrations_router)
    router.include_router(platforms_router)
    router.include_router(ledger_router)
    router.include_router(tiers_router)
    router.include_router(network_router)
    router.include_router(privacy_router)
    router.include_router(organizations_router)
    router.include_router(merchants_router)
    router.include_router(merchant_reviews_router)
    router.include_router(analytics_router)

    router.include_router(events_router)

    router.include_router(campaigns_router)
    router.include_router(feed_router)
    router.include_router(crm_router)
    router.include_router(segments_router)
    router.include_router(recommendations_router)
    router.include_router(crm_push_router)

    router.include_router(risk_router)
    return router


# Pages and webhooks, in matching order.
PAGE_ROUTERS: tuple[APIRouter, ...] = (
    console_home.router,
    console.router,
    console_offers.router,
    console_products.router,
    console_catalog.router,
    workspace.router,
    console_groups_router,
    console_group_sales_router,
    console_reconciliation_router,
    workspace_groups_router,
    landing.router,
    workspace_links.router,
    console_links.router,
    integration_webhooks_router,
    console_orders.router,
    console_tiers.router,
    workspace_earnings.router,
    workspace_tiers.router,
    workspace_network.router,
    console_network.router,
    console_privacy.router,
    console_analytics.router,
    console_analytics_export.router,
    console_event_create_router,  # before console_events: /console/events/new
    console_events.router,
    console_risk.router,
    console_risk_thresholds.router,
    join.router,
    live_code_router,
    workspace_feed.router,
    workspace_pushes.router,
    console_pushes.router,
    console_campaigns.router,
    workspace_live_codes.router,
    workspace_events.router,
    product_images_router,
    console_access_router,
    console_settings_router,
    console_members_router,
    console_group_create_router,
    console_group_edit_router,
    console_campaign_forms_router,
    console_program_edit_router,
    console_merchant_router,
    console_merchant_campaigns_router,
    console_reviews_router,
    workspace_customers.router,
)


@functools.cache
def _shared_routes() -> tuple[BaseRoute, ...]:
    """The API's and the pages' routes, built once per process and shared by every app made in it.

    FastAPI works out each route's parameters, dependencies and validators (a few milliseconds a route)
    when its router is included and again, per app, on the first request that reaches it: hundreds of
    routes made every new app cost one to two seconds before it answered. No app changes these routes
    (nothing overrides a dependency), so one built set serves them all; a route an app adds for itself
    (``/docs``, ``/static``, the redirect) is its own."""
    holder = APIRouter()
    holder.include_router(api_router())
    json_routes = [holder.routes[-1]]  # each inclusion is one route of the holder
    for pages in PAGE_ROUTERS:
        # A shop's webhook carries JSON like the API's, refused alike when it holds a NUL.
        guard = [Depends(problems.refuse_nul)] if pages is integration_webhooks_router else None
        holder.include_router(pages, dependencies=guard)
        if pages is integration_webhooks_router:
            json_routes.append(holder.routes[-1])
    # The API's and the webhooks' JSON bodies are held to their smaller limit (pages post forms and
    # files, up to the app's), and a caller without a credential is refused before a route that needs
    # one reads its body (that check outermost).
    body_limit.install(json_routes)
    credentials.install(holder.routes)
    return tuple(holder.routes)


@asynccontextmanager
async def _running(
    settings: Settings,
    runner: jobs.JobRunner,
    links: LinksRuntime,
    events: EventsRuntime,
    operations: Operations,
    *,
    start_jobs: bool,
) -> AsyncIterator[None]:
    """The app's background work, from start-up to shutdown: jobs, the click and reservation
    writers, the probes and streams."""
    jobs.install(runner)
    if start_jobs and settings.jobs_backend == "in-process":
        runner.start_in_process()
    links.start()
    events.start()
    await operations.start()
    # What exists now (routes, models, metadata, caches) lives as long as the app: keep it out of
    # the cyclic collector's scans, which otherwise revisit all of it (about 200,000 objects) on
    # every full collection while the redirect allocates a few objects per request. Handed back
    # to the collector on shutdown.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        await operations.stop()
        # The reservation stream's last drain, the click buffer's last flush (a clean shutdown loses no
        # click) and the claim stream's last drain, side by side under one deadline: on a Redis that
        # never answers each waits its timeouts, and one after the other they added up.
        stop_together([*events.stops(), *links.stops()])
        links.close()
        runner.stop()
        # Live-code scans counted in this process's memory (no Redis) go with it: added now, once the
        # job threads (the minute's flush among them) have stopped.
        scan_counts.flush_at_exit(settings, runner.session_factory)


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    start_jobs: bool = True,
) -> FastAPI:
    """Build the application; tests pass their own settings and session factory.

    An engine the app makes for itself (no ``session_factory`` given) is the app's to dispose: the
    lifespan closes its connections last on shutdown, and an app whose lifespan never ran (built and
    dropped, or called through a ``TestClient`` without ``with``) closes them when it is collected. A
    caller's factory, and its engine, stay the caller's."""
    settings = settings or get_settings()
    configure_logging(json=settings.log_json)
    check_keys(settings)  # refuses a production deployment with a weak key, before anything opens
    own_engine: Engine | None = None
    if session_factory is None:
        own_engine = engine_for(settings)
        session_factory = make_session_factory(own_engine)
    factory = session_factory
    runner = jobs.JobRunner(
        jobs.make_huey(
            settings.jobs_backend,
            redis_url=settings.redis_client_url,
            jobs_path=settings.jobs_path,
            database_url=settings.database_url,
        ),
        factory,
        settings,
    )
    links = LinksRuntime.from_settings(settings, factory)
    events = EventsRuntime.from_settings(settings, factory)
    operations = Operations(settings, factory, runner, links)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            async with _running(settings, runner, links, events, operations, start_jobs=start_jobs):
                yield
        finally:
            if own_engine is not None:
                # Last, however start-up or shutdown went: the streams, the click writer's last flush
                # and the job threads above were the engine's last users. A later start opens anew.
                own_engine.dispose()

    app = NeigouApp(
        title="neigou",
        version="0.1.0",
        lifespan=lifespan,
        description="Social-commerce distribution programs: share links, hidden coupons, tiered commission.",
        # The stock pages load their scripts from a CDN; ours are served from /static.
        docs_url=None,
        redoc_url=None,
    )
    if own_engine is not None:
        # Without a lifespan nothing above disposes the engine: it goes with the app (when the app is
        # collected, or at exit), never left to the collector with connections open. The callback holds
        # the engine, not the app; after a shutdown it disposes an engine that has nothing left to close.
        weakref.finalize(app, own_engine.dispose)
    app.state.settings = settings
    app.state.session_factory = factory
    app.state.jobs = runner
    app.state.links = links
    app.state.click_keys = ClickKeys(factory, Sealer.from_settings(settings))
    app.state.events = events
    app.state.sign_in_throttle = SignInThrottle.for_redis(
        settings.redis_client_url, namespace=redis_namespace(settings.database_url) + ":sign-in"
    )
    app.state.clicks = links.clicks
    app.state.static_dir = STATIC_DIR
    jobs.install(runner)
    problems.install(app)
    forms.install(app, settings)  # inside the body-size limit: it reads form bodies
    operations.install(app)
    hosts.install(app, allowed_hosts=settings.allowed_hosts, exempt=PROBES)
    security_headers.install(app, settings)  # outermost: a host's refusal carries them too
    app.short_links.fixed_headers = security_headers.fast_path_headers(settings)  # it answers ahead of them
    # Every API and page route, built once per process (see _shared_routes).
    app.router.routes.extend(_shared_routes())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The share-link redirect is the hottest path: first in line, a plain route (see web.landing).
    app.router.routes.insert(0, landing.REDIRECT_ROUTE)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        """Interactive API documentation with locally served assets."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="neigou API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    # Last: a request tries only the routes whose paths could match it (web.route_index).
    IndexedRouting(app.router).install()
    return app
