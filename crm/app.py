"""``create_app(settings)``: the only place plugins, middleware, routes and jobs are wired."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.orm import configure_mappers

from crm import pages
from crm.auth.api import AuthApi
from crm.auth.middleware import SESSION_COOKIE, BearerAwareCSRFMiddleware, PrincipalMiddleware
from crm.auth.principal import PrincipalCache
from crm.auth.session import SessionConfig
from crm.auth.store import make_session_store
from crm.councils.api import CouncilApi
from crm.db import make_alchemy_config, make_engine, make_sessionmaker
from crm.deps import provide_principal
from crm.directory.api import DirectoryApi
from crm.employers import zips
from crm.employers.api import EmployerApi
from crm.employers.match_api import MatchApi
from crm.employers.review_api import ReviewApi
from crm.errors import exception_handlers
from crm.headers import add_security_headers
from crm.health import healthz, readyz
from crm.inputs import screen_request
from crm.jobs.scheduler import start_scheduler
from crm.migrate import head_revisions
from crm.openapi import ApiReference, StructReference
from crm.partnerships.api import PartnershipApi
from crm.paths import asset_dir
from crm.reports.api import ReportApi
from crm.settings import Settings
from crm.templating import configure_jinja
from crm.touches.handoff_api import HandOffApi
from crm.touches.policy import RegionPolicyApi
from crm.touches.preferences import PreferencesApi
from crm.touches.request_api import TouchRequestApi
from crm.touches.touch_api import TimelineApi, TouchApi
from crm.touches.transfer_api import CaseloadApi
from crm.transactions import TransactionMiddleware

REDOC = "redoc-2.5.4.standalone.js"  # static/vendor/, from the npm package redoc 2.5.4 (MIT)

def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    settings.check()
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    principal_cache = PrincipalCache(settings.principal_cache_seconds)
    alchemy = make_alchemy_config(settings, engine)
    session_config = SessionConfig(
        key=SESSION_COOKIE,
        max_age=settings.session_max_age,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="csrftoken",
        header_name="x-csrftoken",
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        exclude=["/api/auth/token"],
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # /readyz compares the database with the migrations' head: read the scripts now, in a
        # thread, rather than on the event loop at the first probe.
        await asyncio.to_thread(head_revisions)
        # The ZIP → county table (about a second to read) loads beside the first requests, not in one.
        warming = asyncio.create_task(asyncio.to_thread(zips.warm))
        scheduler = start_scheduler(settings, sessionmaker) if settings.scheduler_enabled else None
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await warming
            await engine.dispose()

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            AuthApi,
            DirectoryApi,
            EmployerApi,
            MatchApi,
            ReviewApi,
            TouchRequestApi,
            TouchApi,
            TimelineApi,
            HandOffApi,
            RegionPolicyApi,
            PreferencesApi,
            CaseloadApi,
            CouncilApi,
            PartnershipApi,
            ReportApi,
            *pages.route_handlers,
            create_static_files_router(path="/static", directories=[asset_dir("static")],
                                       include_in_schema=False, opt={"exclude_from_auth": True}),
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy), HTMXPlugin(), ApiReference(), StructReference()],
        middleware=[
            session_config.middleware,
            DefineMiddleware(PrincipalMiddleware, sessionmaker=sessionmaker, cache=principal_cache),
            DefineMiddleware(BearerAwareCSRFMiddleware, config=csrf, max_age=settings.session_max_age),
            DefineMiddleware(TransactionMiddleware, session_scope_key=alchemy.session_scope_key),
        ],
        stores={"sessions": make_session_store(alchemy)},
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "sessionmaker": Provide(lambda: sessionmaker, sync_to_thread=False),
        },
        template_config=TemplateConfig(
            directory=asset_dir("templates"), engine=JinjaTemplateEngine, engine_callback=configure_jinja
        ),
        exception_handlers=exception_handlers,
        before_request=screen_request,
        before_send=[add_security_headers],
        openapi_config=OpenAPIConfig(
            title="OneDoor API",
            version="0.1.0",
            path="/schema",
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="POST /api/auth/token")}),
            security=[{"bearer": []}],
            # The API reference works offline like every page: Redoc is vendored (no CDN, no web fonts).
            render_plugins=[RedocRenderPlugin(
                js_url=f"/static/vendor/{REDOC}", google_fonts=False, path=["/", "/redoc"],
                favicon='<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">')],
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="debug",
        ),
        lifespan=[lifespan],
        state=State({"settings": settings, "sessionmaker": sessionmaker, "principal_cache": principal_cache}),
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Uvicorn factory entry point (``crm serve`` uses it for every worker)."""
    app = create_app(Settings.from_env())
    # A server process keeps what it has loaded by now (modules, mappers, routes, templates' code)
    # until it exits: freeze it out of the cyclic garbage collector, whose full collections otherwise
    # walk all of it -- ~90 ms pauses every few large pages (the queue), the p95 of every page.
    # Only here: tests build an app per test, and frozen objects are never collected.
    configure_mappers()
    gc.collect()
    gc.freeze()
    return app


logging.getLogger("apscheduler").setLevel(logging.WARNING)
