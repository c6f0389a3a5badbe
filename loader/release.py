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

from loader.anomalies import anomaly_summary
from loader.build import build_and_summarise
from loader.dbt_run import InProcessDbt
from loader.errors import LoaderError
from loader.fetch import fetch
from loader.land import FileResult, land_paths
from loader.limits import DEFAULT_LIMITS, Limits
from loader.lock import warehouse_lock
from loader.mapping_proposals import propose_mapping
from loader.profiles import Connection
from loader.publish import PublishOptions, run_publish
from loader.warehouse import CELLS_TABLE, SUPERSEDED_CELLS_TABLE, Warehouse, open_warehouse

logger = logging.getLogger(__name__)


@dataclass
class ReleaseOptions:
    data_dir: Path
    extract: Path | None
    page_url: str | None  # None: do not fetch, land what is in data_dir
    timeout: float = 30.0
    retries: int = 3
    full_build: bool = False  # build every node even when the dbt project is unchanged
    allowed_hosts: tuple[str, ...] = ()  # hosts besides the page's origin that workbooks may come from
    limits: Limits = DEFAULT_LIMITS
    publish: bool = False  # publish community_health_data to the live table after a successful build
    verbose: bool = False  # dbt's per-node lines on the console (default: progress lines only)


# What dbt reads to build the project; a change to any of these calls for a full build.
DBT_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "selectors.yml")
# Environment variables that change what the project builds (not where: CHS_TARGET and
# the connection settings pick the warehouse, which has its own build log).
DBT_PROJECT_ENV = ("CHS_TRUST_METRICS_SOURCE", "CHS_LIVE_SCHEMA", "CHS_LIVE_TABLE")
DBT_PROJECT_DIRS = ("models", "macros", "seeds", "tests", "snapshots")
DBT_FILE_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md"})
DBT_PACKAGES = ("dbt-core", "dbt-duckdb", "dbt-postgres")


def project_fingerprint(project_dir: Path) -> str:
    """SHA-256 over the dbt project's files (paths and bytes), the dbt versions and the
    environment variables that change what it builds (DBT_PROJECT_ENV)."""
    digest = hashlib.sha256()
    for package in DBT_PACKAGES:
        digest.update(f"{package}=={importlib.metadata.version(package)}\n".encode())
    for name in DBT_PROJECT_ENV:
        digest.update(f"{name}={os.environ.get(name, '')}\n".encode())
    paths = [project_dir / name for name in DBT_PROJECT_FILES]
    for directory in DBT_PROJECT_DIRS:
        paths.extend(sorted(p for p in (project_dir / directory).rglob("*") if p.suffix in DBT_FILE_SUFFIXES))
    for path in paths:
        if path.is_file():
            digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# dbt's unit tests check formulas on fixed inputs: they change only with the project, and
# a full build runs them all, so a release with the project unchanged leaves them out.
UNCHANGED_FORMULAS = ("--exclude-resource-type", "unit_test")


def reads_live_table() -> bool:
    """The dbt project reads the trust list from the live table (macros/live_trust_metrics.sql)."""
    return os.environ.get("CHS_TRUST_METRICS_SOURCE", "extract").strip() == "live"


def dbt_build_args(new_results: list[FileResult], full: bool, live: bool = False) -> list[str]:
    """`dbt build` for everything, or only for what the new files feed.

    With the project unchanged since its last full build, seeds and views are as that
    build left them and the models fed only by unchanged sources hold unchanged data, so
    a release builds the nodes downstream of the sources that received files, with every
    test downstream of them. Views are skipped when only workbooks landed (a view holds
    no data to bring up to date), but not when an extract landed: the extract's staging
    view is compiled from its columns, and landing it dropped the view. Skipping a view
    must not skip the tests that read it, which dbt's default (eager) indirect selection
    would do, so tests are selected as they are, directly.

    With the trust list read from the live table (``live``), what it feeds is built every
    time: other pipelines change that table (a new month's rows) without a file landing.
    Unit tests (formulas on fixed inputs) change only with the project: a full build runs
    them, a release with the project unchanged does not.

    A full build checks every release (the tests may have changed with the project).
    """
    if full:  # the project changed (or nothing was built)
        return ["build", "--vars", "{validate_all_releases: true}"]
    extract_landed = not live and any(r.path.suffix.lower() == ".csv" for r in new_results)
    workbooks_landed = any(r.path.suffix.lower() != ".csv" for r in new_results)
    landed = {"raw_chs": workbooks_landed, "raw_trust_metrics": extract_landed, "trust_metrics_live": live}
    sources = [name for name, has_new_files in landed.items() if has_new_files]
    views = [] if extract_landed else ["--exclude", "config.materialized:view"]
    return [
        "build",
        "--select",
        *(f"source:{name}+" for name in sources),
        *views,
        *UNCHANGED_FORMULAS,
        "--indirect-selection",
        "empty",
    ]


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
    """Providers that appear or vanish in each landed month compared with the month before
    (marts.rpt_release_provider_changes, as the release report shows them)."""
    if not periods:
        return []
    months = ", ".join(f"date '{period:%Y-%m-%d}'" for period in sorted(set(periods)))
    changes: dict[tuple[Any, Any], dict[str, list[str]]] = defaultdict(lambda: {"new": [], "vanished": []})
    for period, previous, change, code in warehouse.execute(
        "select period, previous_period, provider_change, org_code from marts.rpt_release_provider_changes "
        f"where period in ({months}) order by period, provider_change, org_code"
    ):
        changes[(period, previous)][change].append(code)
    return [
        f"  {period:%B %Y} vs {previous:%B %Y}: new providers {', '.join(codes['new']) or '-'}; "
        f"vanished {', '.join(codes['vanished']) or '-'}"
        for (period, previous), codes in sorted(changes.items())
    ]


def provider_summary(warehouse: Warehouse, periods: list[Any]) -> tuple[list[str], list[str], str]:
    """(provider changes, proposed trust_mapping rows, why they are not available or "")."""
    try:
        return provider_changes(warehouse, periods), propose_mapping(warehouse).splitlines()[1:], ""
    except Exception as exc:  # the models are missing when the build failed before them
        return [], [], (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def run_release(connection: Connection, options: ReleaseOptions, out: Callable[[str], None]) -> int:
    """Run the release under the warehouse's writer lock; ``out`` receives the summary lines."""
    with warehouse_lock(connection):
        dbt = InProcessDbt()  # dbt's import overlaps the fetch and the landing
        try:
            return _release(connection, options, out, dbt)
        finally:
            dbt.close()


def _release(connection: Connection, options: ReleaseOptions, out: Callable[[str], None], dbt: InProcessDbt) -> int:
    if options.page_url:
        fetched = fetch(
            options.page_url,
            options.data_dir,
            timeout=options.timeout,
            retries=options.retries,
            allowed_hosts=options.allowed_hosts,
            limits=options.limits,
        )
        out(fetched.describe())
        failed_fetch = bool(fetched.errors)
    else:
        failed_fetch = False

    live = reads_live_table()
    if options.extract and live:
        logger.warning(
            "%s not landed: the trust list comes from the live table (CHS_TRUST_METRICS_SOURCE=live)", options.extract
        )
    paths = [options.data_dir, *([options.extract] if options.extract and not live else [])]
    warehouse = open_warehouse(connection)
    try:
        landed = land_paths(warehouse, paths, limits=options.limits)
        new_results = [r for r in landed.results if r.status in ("landed", "superseded")]
        revisions = [r for r in new_results if r.replaced_sha256]
        revision_report = [line for r in revisions for line in revision_lines(warehouse, r)]
        months = warehouse.execute(
            "select count(*) from raw_chs.load_log where source_kind = 'chs_workbook' and release_status = 'current'"
        )[0][0]
        last_built = warehouse.last_full_build_fingerprint()
    finally:
        warehouse.close()

    if not new_results and not live:
        out(f"nothing new: {months} months landed, no new or revised releases; marts are up to date")
        # the live table may still be behind the marts (a publish that failed last week)
        published = _publish(connection, options, out, dbt, build_checked=False)
        return 1 if failed_fetch or landed.errors or not published else 0
    if not new_results:
        out(f"nothing new: {months} months landed; the trust list is read again from the live table")

    landed_months = sorted({r.period for r in new_results if r.period and r.status == "landed"})
    out(f"months landed: {', '.join(f'{p:%b %Y}' for p in landed_months) or '-'}")
    out(f"revisions: {len(revisions)}")
    for line in revision_report:
        out(line)

    fingerprint = project_fingerprint(Path(os.environ.get("DBT_PROJECT_DIR", ".")))
    full = options.full_build or fingerprint != last_built
    dbt_args = dbt_build_args(new_results, full, live)
    out(f"dbt {' '.join(dbt_args)}" + ("" if full else "  (project unchanged since its last full build)"))
    build = build_and_summarise(connection, dbt, dbt_args, options.verbose, out)
    ran = build.ran  # not when dbt stopped before running a node

    warehouse = open_warehouse(connection)
    try:
        if full and not build.failed:
            warehouse.log_full_build(fingerprint)
        if ran:
            out(anomaly_summary(warehouse, build.invocation_id))
            changes, proposals, unavailable = provider_summary(warehouse, landed_months)
        else:
            changes, proposals, unavailable = [], [], "the build did not run"
    finally:
        warehouse.close()
    if unavailable:
        out(f"providers: not available ({unavailable})")
    else:
        out("providers:" if changes or proposals else "providers: no new or vanished providers")
    for line in changes:
        out(line)
    if proposals:
        out("  proposed rows for seeds/trust_mapping.csv (review, then add):")
        for line in proposals:
            out(f"    {line}")
    built = not build.failed
    if built:  # a failed build writes no report: an old one is never taken for this release's
        from loader.release_report import write_report

        out(f"report: {write_report(connection)}")
    else:
        out("report: not written (the build failed)")
    if options.publish and not built:
        out("publish: skipped, the build failed; the live table is unchanged")
    published = _publish(connection, options, out, dbt, build_checked=True) if built else True
    return 1 if not built or failed_fetch or landed.errors or not published else 0


def _publish(
    connection: Connection, options: ReleaseOptions, out: Callable[[str], None], dbt: InProcessDbt, build_checked: bool
) -> bool:
    """The publish step, when asked for; False when it failed (reported as one line)."""
    if not options.publish:
        return True
    try:
        run_publish(connection, PublishOptions(), out, dbt, build_checked=build_checked, lock=False)
    except LoaderError as error:
        logger.error("%s", error)
        return False
    return True
