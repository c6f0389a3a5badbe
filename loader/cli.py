"""Command line: ``python -m loader land PATH [PATH ...]`` and friends. Logic lives in modules."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from loader import __version__
from loader.errors import LoaderError
from loader.fetch import DEFAULT_PAGE_URL, fetch
from loader.land import land_paths
from loader.profiles import load_connection
from loader.release import ReleaseOptions, run_release
from loader.report import dq_summary, propose_mapping
from loader.warehouse import open_warehouse

logger = logging.getLogger("loader")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loader", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors and the summary")
    commands = parser.add_subparsers(dest="command", required=True)

    land = commands.add_parser(
        "land",
        help="land workbooks (every sheet, verbatim) and the trust_metrics extract CSV",
        description="Land .xlsx workbooks (files or directories) and the trust_metrics extract .csv. "
        "Each file lands in one transaction; files already landed (same SHA-256) are skipped.",
    )
    land.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _add_target(land)

    summary = commands.add_parser(
        "dq-summary",
        help="data-quality summary of the last dbt build (tests passed, warned, failed, offending rows)",
    )
    summary.add_argument("--run-results", type=Path, default=None, help="default: target/run_results.json")

    fetch_command = commands.add_parser(
        "fetch",
        help="download the CHS workbooks listed on NHS England's statistics page (new or changed only)",
    )
    _add_source(fetch_command)
    fetch_command.add_argument("--dest", type=Path, default=_env_path("CHS_DATA_DIR"), required=False)

    release = commands.add_parser(
        "release",
        help="fetch, land what is new or revised, dbt build, and print a release summary",
    )
    _add_source(release)
    release.add_argument("--no-fetch", action="store_true", help="land and build what is already in the data dir")
    release.add_argument(
        "--full-build",
        action="store_true",
        help="dbt build every node (default: only what the new files feed, when the dbt project is unchanged "
        "since the last full build)",
    )
    release.add_argument("--data-dir", type=Path, default=_env_path("CHS_DATA_DIR"))
    release.add_argument("--extract", type=Path, default=_env_path("CHS_TRUST_METRICS_CSV"))
    _add_target(release)

    propose = commands.add_parser(
        "propose-mapping",
        help="print CSV rows for providers that seeds/trust_mapping.csv does not list yet",
    )
    _add_target(propose)
    return parser


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _add_source(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--page-url",
        default=os.environ.get("CHS_SOURCE_URL", DEFAULT_PAGE_URL),
        help="statistics page listing the workbooks (env CHS_SOURCE_URL)",
    )
    command.add_argument("--timeout", type=float, default=30.0, help="seconds per request")


def _add_target(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--target",
        default=None,
        help="profiles.yml target (duckdb or postgres; default: the profile's default, env CHS_TARGET)",
    )
    command.add_argument(
        "--profiles-dir",
        type=Path,
        default=None,
        help="directory holding profiles.yml (default: env DBT_PROFILES_DIR, else the current directory)",
    )


def _land(args: argparse.Namespace) -> int:
    connection = load_connection(args.target, args.profiles_dir)
    started = time.perf_counter()
    warehouse = open_warehouse(connection)
    try:
        summary = land_paths(warehouse, args.paths)
    finally:
        warehouse.close()
    rows = sum(result.rows for result in summary.results)
    print(
        f"{connection.target}: landed {summary.count('landed')}, superseded {summary.count('superseded')}, "
        f"skipped {summary.count('skipped')} (already landed), failed {len(summary.errors)}; "
        f"{rows} rows in {time.perf_counter() - started:.2f} s"
    )
    return 1 if summary.errors else 0


class _Formatter(logging.Formatter):
    """Progress lines as they are; problems prefixed with their level ("error: ...")."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def _dq_summary(args: argparse.Namespace) -> int:
    text, failed = dq_summary(args.run_results)
    print(text)
    return 1 if failed else 0


def _propose_mapping(args: argparse.Namespace) -> int:
    warehouse = open_warehouse(load_connection(args.target, args.profiles_dir))
    try:
        text = propose_mapping(warehouse)
    finally:
        warehouse.close()
    print(text, end="")
    proposals = text.count("\n") - 1
    logger.info("%d provider(s) to review; add the reviewed rows to seeds/trust_mapping.csv", proposals)
    return 0


def _fetch(args: argparse.Namespace) -> int:
    if args.dest is None:
        raise LoaderError("fetch: give --dest or set CHS_DATA_DIR")
    summary = fetch(args.page_url, args.dest, timeout=args.timeout)
    print(summary.describe())
    return 1 if summary.errors else 0


def _release(args: argparse.Namespace) -> int:
    if args.data_dir is None:
        raise LoaderError("release: give --data-dir or set CHS_DATA_DIR")
    options = ReleaseOptions(
        data_dir=args.data_dir,
        extract=args.extract,
        page_url=None if args.no_fetch else args.page_url,
        timeout=args.timeout,
        full_build=args.full_build,
    )
    return run_release(load_connection(args.target, args.profiles_dir), options, print)


COMMANDS = {
    "land": _land,
    "fetch": _fetch,
    "release": _release,
    "dq-summary": _dq_summary,
    "propose-mapping": _propose_mapping,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.quiet)
    try:
        return COMMANDS[args.command](args)
    except LoaderError as error:
        logger.error("%s", error)
        return 2
    except Exception as error:
        # database driver errors (a locked DuckDB file, a dropped connection) are expected
        # operational failures: one line, not a traceback. Anything else is a bug.
        if type(error).__module__.split(".")[0] not in ("duckdb", "_duckdb", "psycopg"):
            raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        logger.error("database error: %s", first_line)
        return 2
