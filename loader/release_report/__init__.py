"""The release report: one self-contained HTML page per month, from the report models.

``python -m loader report [--period YYYY-MM]`` (``make report``) and ``release``, after a
successful build, write ``reports/community-waits-YYYY-MM.html``. The numbers come from
the dbt models in models/marts/report/ (``data``); this package only renders them
(``render``): Vega-Lite charts, takeaways, data tables, every script and style inline.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

from loader.dq_summary import RunSummary, last_build
from loader.profiles import Connection
from loader.release_report.data import read_report_data
from loader.warehouse import open_warehouse

logger = logging.getLogger(__name__)

DEFAULT_REPORT_DIR = Path("reports")


def report_dir() -> Path:
    """Where reports go: ``CHS_REPORT_DIR``, else ``reports/`` (git-ignored)."""
    return Path(os.environ.get("CHS_REPORT_DIR") or DEFAULT_REPORT_DIR)


def write_report(
    connection: Connection,
    period: str | None = None,
    out_dir: Path | None = None,
) -> Path:
    """Write the report for ``period`` (``YYYY-MM``; default the latest landed) and return its path.

    The data-quality section describes the last dbt build recorded in the warehouse's
    build log (loader/dq_summary.py), whatever dbt command ran since; the page is written
    to a temporary file and renamed, so a reader never sees half a report.
    """
    from loader.release_report.render import render_page  # Jinja2 + the Vega bundle, only here

    started = time.perf_counter()
    warehouse = open_warehouse(connection)
    try:
        data = read_report_data(warehouse, period, target=connection.target)
        run: RunSummary | None = last_build(warehouse, str(connection.settings["schema"]))
    finally:
        warehouse.close()
    page = render_page(data, run, dt.datetime.now(dt.UTC))
    directory = out_dir or report_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"community-waits-{data.period:%Y-%m}.html"
    partial = path.with_suffix(".html.part")
    partial.write_text(page, encoding="utf-8")
    partial.replace(path)
    logger.info("report: %s (%d bytes) in %.2f s", path, path.stat().st_size, time.perf_counter() - started)
    return path
