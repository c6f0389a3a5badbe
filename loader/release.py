"""The monthly release as one command: fetch, land what is new or revised, dbt build, report.

Revisions keep their history in the warehouse (raw_chs.load_log lists every release and
raw_chs.workbook_cells_superseded keeps the replaced cells), so the report can show what
a republished month changed, provider by provider, from the cells themselves.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.fetch import fetch
from loader.land import FileResult, land_paths
from loader.profiles import Connection
from loader.report import dq_summary, propose_mapping
from loader.warehouse import CELLS_TABLE, SUPERSEDED_CELLS_TABLE, Warehouse, open_warehouse

logger = logging.getLogger(__name__)


@dataclass
class ReleaseOptions:
    data_dir: Path
    extract: Path | None
    page_url: str | None  # None: do not fetch, land what is in data_dir
    timeout: float = 30.0


def provider_totals(cells: list[tuple[Any, ...]]) -> dict[str, int]:
    """Each provider's total waiting list (sum over services) from a release's Table 4 cells.

    The table is found as dbt finds it: the sheet titled "Total waiting list by service, ..."
    and its "Organisation Type" header row.
    """
    sheets: dict[int, dict[tuple[int, int], tuple[str, str]]] = defaultdict(dict)
    for sheet_index, row, column, cell_type, text in cells:
        sheets[sheet_index][(row, column)] = (cell_type, text)
    for sheet in sheets.values():
        if not sheet[min(sheet)][1].strip().lower().startswith("total waiting list by service"):
            continue
        header = min(
            (row for (row, _), (_, text) in sheet.items() if text.strip().lower() == "organisation type"), default=None
        )
        columns = {text.strip().lower(): column for (row, column), (_, text) in sheet.items() if row == header}
        if header is None or "organisation code" not in columns:
            return {}  # not a layout this report can read; dbt's tests speak for the release
        type_column, code_column = columns["organisation type"], columns["organisation code"]
        org_columns = {type_column, code_column, columns.get("organisation name")}
        totals: dict[str, int] = defaultdict(int)
        for (row, column), (cell_type, text) in sheet.items():
            if (
                row > header
                and column not in org_columns
                and cell_type == "n"
                and sheet.get((row, type_column), ("", ""))[1] == "Provider"
            ):
                totals[sheet[(row, code_column)][1]] += round(float(text))
        return dict(totals)
    return {}


def revision_lines(warehouse: Warehouse, result: FileResult, limit: int = 10) -> list[str]:
    assert result.sha256 and result.replaced_sha256 and result.period
    before = provider_totals(warehouse.release_cells(SUPERSEDED_CELLS_TABLE, result.replaced_sha256))
    after = provider_totals(warehouse.release_cells(CELLS_TABLE, result.sha256))
    changes = sorted(
        ((code, before.get(code), after.get(code)) for code in before.keys() | after.keys()),
        key=lambda change: (-abs((change[2] or 0) - (change[1] or 0)), change[0]),
    )
    changes = [change for change in changes if change[1] != change[2]]
    lines = [f"  {result.period:%B %Y} revised ({result.path.name}): {len(changes)} providers' totals changed"]
    for code, old, new in changes[:limit]:
        delta = (new or 0) - (old or 0)
        lines.append(f"    {code}: {'-' if old is None else old} -> {'-' if new is None else new} ({delta:+d})")
    if len(changes) > limit:
        lines.append(f"    ... and {len(changes) - limit} more")
    return lines


def provider_changes(warehouse: Warehouse, periods: list[Any]) -> list[str]:
    """Providers that appear or vanish in each landed month compared with the month before."""
    lines: list[str] = []
    rows = warehouse.execute(
        "select distinct period, org_code from marts.fct_community_waits where org_type = 'Provider'"
    )
    by_period: dict[Any, set[str]] = defaultdict(set)
    for period, code in rows:
        by_period[period].add(code)
    ordered = sorted(by_period)
    for period in sorted(set(periods)):
        if period not in by_period or ordered.index(period) == 0:
            continue
        previous = ordered[ordered.index(period) - 1]
        new = sorted(by_period[period] - by_period[previous])
        gone = sorted(by_period[previous] - by_period[period])
        if new or gone:
            lines.append(
                f"  {period:%B %Y} vs {previous:%B %Y}: new providers {', '.join(new) or '-'}; "
                f"vanished {', '.join(gone) or '-'}"
            )
    return lines


def run_release(connection: Connection, options: ReleaseOptions, out: Callable[[str], None]) -> int:
    """Run the release; ``out`` receives the summary lines (the CLI prints them)."""
    if options.page_url:
        fetched = fetch(options.page_url, options.data_dir, timeout=options.timeout)
        out(fetched.describe())
        failed_fetch = bool(fetched.errors)
    else:
        failed_fetch = False

    paths = [options.data_dir, *([options.extract] if options.extract else [])]
    warehouse = open_warehouse(connection)
    try:
        landed = land_paths(warehouse, paths)
        new_results = [r for r in landed.results if r.status in ("landed", "superseded")]
        revisions = [r for r in new_results if r.replaced_sha256]
        revision_report = [line for r in revisions for line in revision_lines(warehouse, r)]
        months = warehouse.execute(
            "select count(*) from raw_chs.load_log where source_kind = 'chs_workbook' and release_status = 'current'"
        )[0][0]
    finally:
        warehouse.close()

    if not new_results:
        out(f"nothing new: {months} months landed, no new or revised releases; marts are up to date")
        return 1 if failed_fetch or landed.errors else 0

    landed_months = sorted({r.period for r in new_results if r.period and r.status == "landed"})
    out(f"months landed: {', '.join(f'{p:%b %Y}' for p in landed_months) or '-'}")
    out(f"revisions: {len(revisions)}")
    for line in revision_report:
        out(line)

    env = dict(os.environ, CHS_TARGET=connection.target)
    build = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--target", connection.target],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:  # the failing nodes are in the summary; dbt's own tail helps too
        logger.error("dbt build failed:\n%s", "\n".join(build.stdout.splitlines()[-15:]))
    summary, failed_tests = dq_summary()
    out(summary)

    warehouse = open_warehouse(connection)
    try:
        changes = provider_changes(warehouse, landed_months)
        proposals = propose_mapping(warehouse).splitlines()[1:]
    finally:
        warehouse.close()
    out("providers:" if changes or proposals else "providers: no new or vanished providers")
    for line in changes:
        out(line)
    if proposals:
        out("  proposed rows for seeds/trust_mapping.csv (review, then add):")
        for line in proposals:
            out(f"    {line}")
    return 1 if failed_tests or build.returncode != 0 or failed_fetch or landed.errors else 0
