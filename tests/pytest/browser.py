"""Headless Chromium (Debian's chromium, driven by Playwright) with the network blocked,
for the pages the project writes: the release report and the dbt docs catalogue."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.pytest.conftest import PROJECT_DIR

CHROMIUM = os.environ.get("CHS_CHROMIUM", "/usr/bin/chromium")
# screenshots for people to look at: CI keeps this folder as its artefacts (git-ignored)
SCREENSHOTS = Path(os.environ.get("CHS_ARTIFACTS_DIR", PROJECT_DIR / "artifacts")) / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no host name resolves, should anything try
]


@dataclass
class OfflinePage:
    page: Any  # playwright.sync_api.Page
    problems: list[str] = field(default_factory=list)  # console errors and warnings, page errors, blocked requests
    requests: list[str] = field(default_factory=list)


@contextmanager
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (.ci/run does) or set CHS_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def offline_page(browser: Any, path: Path, width: int, ignore: tuple[str, ...] = ()) -> Iterator[OfflinePage]:
    """``path`` opened at ``width`` px with every request but file:// aborted and recorded;
    console messages matching an ``ignore`` pattern are not problems."""
    context = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
    opened = OfflinePage(context.new_page())

    def console(message: Any) -> None:
        if message.type in ("error", "warning") and not any(re.search(pattern, message.text) for pattern in ignore):
            opened.problems.append(f"console {message.type}: {message.text}")

    def block(route: Any) -> None:
        opened.problems.append(f"blocked {route.request.url}")
        route.abort()

    opened.page.on("console", console)
    opened.page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
    opened.page.on("request", lambda request: opened.requests.append(request.url))
    opened.page.route(re.compile(r"^(?!file:).*"), block)
    try:
        opened.page.goto(path.as_uri())
        yield opened
    finally:
        context.close()
