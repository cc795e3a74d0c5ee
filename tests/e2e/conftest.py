"""End-to-end fixtures: a real server (``crm serve`` app via uvicorn) on a free port with a
migrated temporary database, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from crm import migrate
from crm.db import make_engine, make_sessionmaker
from crm.seed import load_reference
from crm.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import Factory

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CRM_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
    settings = Settings(database_url=url)
    migrate.upgrade(settings)

    async def seed() -> None:
        engine = make_engine(settings)
        async with make_sessionmaker(engine)() as db, db.begin():
            await load_reference(db)
        await engine.dispose()

    asyncio.run(seed())
    return url


@pytest.fixture
async def live_factory(live_db: str) -> AsyncIterator[Factory]:
    engine = make_engine(Settings(database_url=live_db))
    yield Factory(make_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture
def live_server(live_db: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "CRM_DATABASE_URL": live_db, "CRM_SECRET_KEY": TEST_SECRET, "CRM_SCHEDULER": "0",
           "CRM_LOG_LEVEL": "WARNING", "CRM_BASE_URL": f"http://127.0.0.1:{port}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "crm.app:create_app_from_env", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    # A server process takes seconds to import on a loaded machine (30 s was seen short beside other suites'
    # runs); one that exits is failed at once.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError(f"live server did not start (exit code {proc.poll()})")
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def _chromium_present() -> bool:
    return bool(shutil.which(CHROMIUM)) or Path(CHROMIUM).exists()


def _artifact_path(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")


@pytest.fixture
async def page(request: pytest.FixtureRequest):
    if not _chromium_present():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI must install Debian's chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        pg = await context.new_page()
        pg.set_default_timeout(10_000)
        yield pg
        if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
            await pg.screenshot(path=_artifact_path(request.node.name), full_page=True)
        await browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001 - pytest hook signature
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


async def sign_in(page, base: str, email: str, password: str) -> None:  # noqa: ANN001
    await page.goto(base + "/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
