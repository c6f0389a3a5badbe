"""The monthly release as one command: fetch, land what is new or revised, dbt build, report.

Revisions keep their history in the warehouse (raw_chs.load_log lists every release and
raw_chs.workbook_cells_superseded keeps the replaced cells), so the report can show what
a republished month changed, provider by provider, from the cells themselves.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.dbt_run import InProcessDbt
from loader.fetch import fetch
from loader.land import FileResult, land_paths
from loader.profiles import Connection
from loader.report import dq_summary, propose_mapping, run_results_path
from loader.warehouse import CELLS_TABLE, SUPERSEDED_CELLS_TABLE, Warehouse, open_warehouse

logger = logging.getLogger(__name__)


@dataclass
class ReleaseOptions:
    data_dir: Path
    extract: Path | None
    page_url: str | None  # None: do not fetch, land what is in data_dir
    timeout: float = 30.0
    full_build: bool = False  # build every node even when the dbt project is unchanged


# What dbt reads to build the project; a change to any of these calls for a full build.
DBT_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "selectors.yml")
DBT_PROJECT_DIRS = ("models", "macros", "seeds", "tests", "snapshots")
DBT_FILE_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md"})
DBT_PACKAGES = ("dbt-core", "dbt-duckdb", "dbt-postgres")


def project_fingerprint(project_dir: Path) -> str:
    """SHA-256 over the dbt project's files (paths and bytes) and the dbt versions."""
    digest = hashlib.sha256()
    for package in DBT_PACKAGES:
        digest.update(f"{package}=={importlib.metadata.version(package)}\n".encode())
    paths = [project_dir / name for name in DBT_PROJECT_FILES]
    for directory in DBT_PROJECT_DIRS:
        paths.extend(sorted(p for p in (project_dir / directory).rglob("*") if p.suffix in DBT_FILE_SUFFIXES))
    for path in paths:
        if path.is_file():
            digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def dbt_build_args(new_results: list[FileResult], full: bool) -> list[str]:
    """`dbt build` for everything, or only for what the new files feed.

    With the project unchanged since its last full build, seeds and views are as that
    build left them and the models fed only by unchanged sources hold unchanged data, so
    a release builds the nodes downstream of the sources that received files, with every
    test downstream of them. Views are skipped when only workbooks landed (a view holds
    no data to bring up to date), but not when an extract landed: the extract's staging
    view is compiled from its columns, and landing it dropped the view. Skipping a view
    must not skip the tests that read it, which dbt's default (eager) indirect selection
    would do, so tests are selected as they are, directly.

    Unit tests check the project's formulas, not data: the full build that the project is
    unchanged since ran them, so a selective build leaves them out.

    A full build checks every release (the tests may have changed with the project).
    """
    if full:  # the project changed (or nothing was built)
        return ["build", "--vars", "{validate_all_releases: true}"]
    extract_landed = any(r.path.suffix.lower() == ".csv" for r in new_results)
    workbooks_landed = any(r.path.suffix.lower() != ".csv" for r in new_results)
    landed = {"raw_chs": workbooks_landed, "raw_trust_metrics": extract_landed}
    sources = [name for name, has_new_files in landed.items() if has_new_files]
    views = [] if extract_landed else ["--exclude", "config.materialized:view"]
    selected = ["--select", *(f"source:{name}+" for name in sources), *views, "--indirect-selection", "empty"]
    return ["build", *selected, "--exclude-resource-type", "unit_test"]


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
    months = [
        row[0]
        for row in warehouse.execute(
            "select reporting_period from raw_chs.load_log "
            "where source_kind = 'chs_workbook' and release_status = 'current' order by reporting_period"
        )
    ]
    lines: list[str] = []
    for period in sorted(set(periods)):
        if period not in months or months.index(period) == 0:
            continue
        previous = months[months.index(period) - 1]
        by_period: dict[Any, set[str]] = defaultdict(set)
        for month, code in warehouse.execute(
            "select distinct period, org_code from marts.fct_community_waits "
            f"where org_type = 'Provider' and period in (date '{period:%Y-%m-%d}', date '{previous:%Y-%m-%d}')"
        ):
            by_period[month].add(code)
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
    dbt = InProcessDbt()  # dbt's import overlaps the fetch and the landing
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
        last_built = warehouse.last_full_build_fingerprint()
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

    fingerprint = project_fingerprint(Path(os.environ.get("DBT_PROJECT_DIR", ".")))
    full = options.full_build or fingerprint != last_built
    dbt_args = dbt_build_args(new_results, full)
    out(f"dbt {' '.join(dbt_args)}" + ("" if full else "  (project unchanged since its last full build)"))
    os.environ["CHS_TARGET"] = connection.target  # profiles.yml reads it, as the loader did
    build = dbt.run([*dbt_args, "--target", connection.target, "--quiet"], run_results_path())
    if build.error:  # dbt could not run; failing nodes are in the summary below
        logger.error("dbt %s: %s", dbt_args[0], build.error)
    summary, failed_tests = dq_summary()
    out(summary)

    warehouse = open_warehouse(connection)
    try:
        if full and build.succeeded:
            warehouse.log_full_build(fingerprint)
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
    return 1 if failed_tests or not build.succeeded or failed_fetch or landed.errors else 0
