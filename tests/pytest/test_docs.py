"""The analysts' catalogue (`make docs`): `dbt docs generate --static` on each target gives
one page that opens from disk with no network, and every mart and column is described."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pytest.browser import SCREENSHOTS, chromium, offline_page
from tests.pytest.conftest import Target

pytestmark = pytest.mark.e2e


def generate_docs(target: Target) -> Path:
    target.run("dbt", "docs", "generate", "--static")
    return target.workdir / "target"


def test_every_mart_and_column_is_described(built: Target) -> None:
    docs = generate_docs(built)
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    marts = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["original_file_path"].startswith("models/marts/")
    }
    assert "model.chs_waiting_lists.rpt_release_headlines" in marts and len(marts) >= 13
    for unique_id, node in marts.items():
        assert node["description"].strip(), f"{unique_id}: no description"
        built_columns = set(catalog["nodes"][unique_id]["columns"])  # as the warehouse has them
        described = {name for name, column in node["columns"].items() if column["description"].strip()}
        assert built_columns == described, f"{unique_id}: undescribed {built_columns - described}, "
        f"described but not built {described - built_columns}"
    assert (docs / "static_index.html").stat().st_size > 1_000_000  # the app with the manifest and catalog inside


# dbt's docs app asks for two files beside the page that its build left as template text
# (an icon, "{{ getIcon(...) }}", and the favicon): the browser refuses or does not find
# them, the icons are missing, nothing else is. Any other error fails the test.
DBT_DOCS_OWN_ERRORS = (
    r"^Unsafe attempt to load URL file:.*(getIcon|favicon)",
    r"^Failed to load resource: net::ERR_FILE_NOT_FOUND$",
)


def test_catalogue_opens_from_disk_without_network(built_duckdb: Target) -> None:
    page_path = generate_docs(built_duckdb) / "static_index.html"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser, offline_page(browser, page_path, 1280, DBT_DOCS_OWN_ERRORS) as opened:
        opened.page.goto(f"{page_path.as_uri()}#!/model/model.chs_waiting_lists.fct_community_waits")
        opened.page.get_by_text("wait_52_plus_weeks").first.wait_for(timeout=60_000)
        assert opened.page.get_by_text("Community health services waiting lists, one row per month").count() > 0
        opened.page.screenshot(path=str(SCREENSHOTS / "docs-fct_community_waits.png"))
        assert not opened.problems, opened.problems
        assert all(url.startswith(page_path.parent.as_uri()) for url in opened.requests), opened.requests
