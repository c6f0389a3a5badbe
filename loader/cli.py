"""Command line: ``python -m loader land PATH [PATH ...]`` and friends. Logic lives in modules;
the user reads DESCRIPTION and each subcommand's help, so every option says what it does
and its default (tests/pytest/test_cli.py walks the parser)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from loader import __version__
from loader.build import BuildOptions, checked_vars, run_build
from loader.dbt_run import verbose_default
from loader.dq_summary import NO_BUILD, dq_summary
from loader.errors import LoaderError, shown
from loader.fetch import DEFAULT_PAGE_URL, fetch
from loader.land import land_paths
from loader.limits import Limits
from loader.lock import warehouse_lock
from loader.mapping_proposals import SEEDS, proposals_csv, write_proposals
from loader.profiles import load_connection
from loader.publish import DEFAULT_MIN_FOUND, DEFAULT_RETRIES, DEFAULT_RETRY_WAIT, PublishOptions, run_publish
from loader.release import ReleaseOptions, run_release
from loader.review import ReviewOptions, run_review, serve
from loader.warehouse import open_warehouse

logger = logging.getLogger("loader")

DESCRIPTION = (
    "NHS England's Community Health Services waiting lists: land the monthly workbooks and the "
    "trust_metrics extract into the warehouse (DuckDB by default, or PostgreSQL), check what dbt built, "
    "write the release report and publish community_health_data to the live trust_metrics table. "
    "The main job: `python -m loader land DATA_DIR EXTRACT.csv`, then `python -m loader build` (both: `make build`); "
    "each month: `python -m loader release`. `python -m loader COMMAND --help` for a command's options."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loader", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only errors and the summary (default: progress lines too)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    land = commands.add_parser(
        "land",
        help="land workbooks and the trust_metrics extract into the warehouse",
        description="Land .xlsx workbooks (files or directories) and the trust_metrics extract .csv: every "
        "sheet, cell by cell, as published. Each file lands in one transaction; files already landed (same "
        "SHA-256) are skipped. Then `dbt build` models them.",
    )
    land.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="a workbook (.xlsx), a directory of them, or the trust_metrics extract (.csv); no default",
    )
    _add_target(land)
    _add_limits(land, fetching=False)

    build = commands.add_parser(
        "build",
        help="dbt build under the writer lock, then the data quality summary",
        description="dbt build (seeds, models, every test) in this process under the writer lock that "
        "landing, release and publish take; progress every few seconds, dbt's per-node lines in "
        "logs/dbt.log, then the summary of this build (as dq-summary prints it). Exit 1 when a node or "
        "test failed or errored (warnings pass).",
    )
    _add_verbose(build)
    build.add_argument(
        "--select", nargs="+", default=None, metavar="SPEC", help="dbt's --select (default: the whole project)"
    )
    build.add_argument("--exclude", nargs="+", default=None, metavar="SPEC", help="dbt's --exclude (default: none)")
    build.add_argument(
        "--full-refresh", action="store_true", help="dbt's --full-refresh: rebuild incremental models (default: off)"
    )
    build.add_argument(
        "--vars",
        default=None,
        metavar="YAML",
        help="dbt's --vars, e.g. '{validate_all_releases: true}' (default: none)",
    )
    _add_target(build)

    summary = commands.add_parser(
        "dq-summary",
        help="data-quality summary of the last dbt build recorded in the warehouse",
        description="Data-quality summary of the last dbt build recorded in the warehouse (its build log): "
        "when, which target, which months it checked, tests passed, warned and failed with the offending "
        "rows of each, and the anomaly flags standing over every month. Exits 1 when a test failed.",
    )
    _add_target(summary)

    fetch_command = commands.add_parser(
        "fetch",
        help="download new or revised workbooks from NHS England's statistics page",
        description="Download the CHS waiting-list workbooks listed on NHS England's statistics page into a "
        "directory: only those new or changed since the last fetch, each checked before it is kept.",
    )
    _add_source(fetch_command)
    fetch_command.add_argument(
        "--dest",
        type=Path,
        default=_env_path("CHS_DATA_DIR"),
        required=False,
        metavar="DIR",
        help="directory the workbooks are downloaded into (default: env CHS_DATA_DIR; one of the two is needed)",
    )
    _add_limits(fetch_command, fetching=True)

    release = commands.add_parser(
        "release",
        help="the monthly run: fetch, land, build, report (and publish)",
        description="The monthly run: fetch new or revised workbooks, land them, dbt build what they feed, "
        "write the release report and print a release summary; with --publish, then publish to the live "
        "trust_metrics table. Exits 1 when the build fails (and then publishes nothing).",
    )
    _add_source(release)
    release.add_argument(
        "--no-fetch", action="store_true", help="land and build what is already in the data dir (default: fetch first)"
    )
    release.add_argument(
        "--full-build",
        action="store_true",
        help="dbt build every node (default: only what the new files feed, when the dbt project is unchanged "
        "since the last full build)",
    )
    release.add_argument(
        "--data-dir",
        type=Path,
        default=_env_path("CHS_DATA_DIR"),
        metavar="DIR",
        help="directory of the monthly workbooks, fetched into (writable) and landed from "
        "(default: env CHS_DATA_DIR; one of the two is needed)",
    )
    release.add_argument(
        "--extract",
        type=Path,
        default=_env_path("CHS_TRUST_METRICS_CSV"),
        metavar="CSV",
        help="the trust_metrics extract, landed when new (default: env CHS_TRUST_METRICS_CSV; none: not landed)",
    )
    release.add_argument(
        "--publish",
        action="store_true",
        default=os.environ.get("CHS_PUBLISH", "") in ("1", "true", "yes"),
        help="after a successful build, publish community_health_data to the live trust_metrics table "
        "(default: off, unless env CHS_PUBLISH=1; see `publish`)",
    )
    _add_verbose(release)
    _add_target(release)
    _add_limits(release, fetching=True)

    publish = commands.add_parser(
        "publish",
        help="write community_health_data into the live trust_metrics table (PostgreSQL)",
        description="Publish the mart's community_health_data into the live trust_metrics table (env "
        "CHS_LIVE_SCHEMA / CHS_LIVE_TABLE, default public.trust_metrics): one transaction, only the rows "
        "that differ, never an insert, never another column; recorded for --rollback.",
    )
    publish.add_argument(
        "--dry-run", action="store_true", help="show the plan per month; change nothing (default: publish)"
    )
    publish.add_argument(
        "--rollback", type=int, metavar="ID", help="restore the rows publish ID changed, instead of publishing"
    )
    publish.add_argument(
        "--create-index",
        action="store_true",
        help="also create the GIN index on community_health_data the status report recommends (needs the "
        "table's owner; default: no index)",
    )
    publish.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        metavar="N",
        help="run the transaction again up to N times when another writer commits to the same rows meanwhile "
        f"(default {DEFAULT_RETRIES})",
    )
    publish.add_argument(
        "--retry-wait",
        type=float,
        default=DEFAULT_RETRY_WAIT,
        metavar="SECONDS",
        help=f"wait before the first retry, doubled before each next one (default {DEFAULT_RETRY_WAIT:g})",
    )
    publish.add_argument(
        "--min-found",
        type=float,
        default=DEFAULT_MIN_FOUND,
        metavar="PERCENT",
        help="stop, changing nothing, when the live table shows fewer than this share of the trust-months the "
        f"marts cover: row-level security, the wrong table, an empty one (default {DEFAULT_MIN_FOUND:g})",
    )
    _add_target(publish)

    report = commands.add_parser(
        "report",
        help="write the release report, one self-contained HTML page",
        description="Write the release report of a month: one HTML page that opens from disk or an e-mail "
        "(reports/community-waits-YYYY-MM.html), from the marts the last dbt build made.",
    )
    report.add_argument(
        "--period", default=None, metavar="YYYY-MM", help="month to report (default: the latest landed)"
    )
    report.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory the page is written into (default: env CHS_REPORT_DIR, else reports/)",
    )
    _add_target(report)

    propose = commands.add_parser(
        "propose-mapping",
        help="propose seed rows for providers the trust mapping lacks",
        description="CSV rows proposed for a seed, to review and then add: providers seeds/trust_mapping.csv "
        "does not list yet, or (--seed trust_successors) rows for seeds/trust_successors.csv. One CSV per "
        "seed: stdout holds --seed's; --out DIR writes every seed's, one file each.",
    )
    propose.add_argument(
        "--seed",
        choices=sorted(SEEDS),
        default="trust_mapping",
        help="the seed whose proposed rows to print (default: trust_mapping)",
    )
    propose.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write every seed's proposals instead, one file each: DIR/trust_mapping.csv, "
        "DIR/trust_successors.csv (default: print --seed's to stdout)",
    )
    _add_target(propose)

    review = commands.add_parser(
        "review",
        help="what a model change does to the data, for a pull request",
        description="What a model change does to the data: builds the base (a git ref) and this tree side "
        "by side, runs the recce checks (recce.yml) and writes target/review.md.",
    )
    review.add_argument("--base", default="origin/main", help="git ref to compare with (default origin/main)")
    review.add_argument(
        "--full", action="store_true", help="build every model of this tree (default: what changed and downstream)"
    )
    review.add_argument(
        "--rebuild-base",
        action="store_true",
        help="build the base even if an earlier review built the same one (default: reuse it)",
    )
    _add_review_options(review)

    server = commands.add_parser(
        "review-server",
        help="browse the last review in recce's web page",
        description="Serve the last review (python -m loader review) with recce on 127.0.0.1, to explore it "
        "in a browser. Holds the DuckDB file while it runs.",
    )
    server.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    _add_review_options(server)
    return parser


def _add_review_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--recce-venv",
        type=Path,
        default=Path(".venv-review"),
        metavar="DIR",
        help="recce's own virtual environment (default .venv-review, made by make review)",
    )
    command.add_argument(
        "--schema-prefix",
        default=os.environ.get("CHS_REVIEW_SCHEMA_PREFIX", ""),
        help="put before base_ and pr_ (e.g. pr42_: concurrent reviews in one warehouse; default: none, "
        "env CHS_REVIEW_SCHEMA_PREFIX)",
    )
    _add_target(command)


def _add_verbose(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=verbose_default(),
        help="show dbt's per-node lines (default: off, a progress line every few seconds; env CHS_VERBOSE=1 "
        "turns it on); logs/dbt.log always has them",
    )


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _add_source(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--page-url",
        default=os.environ.get("CHS_SOURCE_URL", DEFAULT_PAGE_URL),
        metavar="URL",
        help="statistics page listing the workbooks (default: env CHS_SOURCE_URL, else NHS England's page)",
    )
    command.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds a connect or a read may wait (default 30)",
    )
    command.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="retries of a failed request (network errors, HTTP 5xx), with back-off (default 3)",
    )
    allowed = os.environ.get("CHS_ALLOWED_HOSTS", "")
    command.add_argument(
        "--allow-host",
        dest="allowed_hosts",
        action="append",
        default=[host.strip() for host in allowed.split(",") if host.strip()],
        metavar="HOST[:PORT]",
        help="also fetch workbooks from this host (repeat it; env CHS_ALLOWED_HOSTS, comma-separated); "
        "by default only the page's own origin",
    )


def _add_limits(command: argparse.ArgumentParser, *, fetching: bool) -> None:
    """One option per loader.limits.Limits field, with its default and help."""
    for limit in dataclasses.fields(Limits):
        if limit.metadata["fetch_only"] and not fetching:
            continue
        command.add_argument(
            f"--{limit.name.replace('_', '-')}",
            type=type(limit.default),
            default=limit.default,
            metavar="N",
            help=f"{limit.metadata['help']} (default {limit.default})",
        )


def _limits(args: argparse.Namespace) -> Limits:
    given = {limit.name: getattr(args, limit.name) for limit in dataclasses.fields(Limits) if hasattr(args, limit.name)}
    return Limits(**given)


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
    with warehouse_lock(connection):
        warehouse = open_warehouse(connection)
        try:
            summary = land_paths(warehouse, args.paths, limits=_limits(args))
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
        message = shown(super().format(record))  # one record, one line, whatever a name holds
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def _build(args: argparse.Namespace) -> int:
    dbt_args = [
        *(["--select", *args.select] if args.select else []),
        *(["--exclude", *args.exclude] if args.exclude else []),
        *(["--full-refresh"] if args.full_refresh else []),
        *(["--vars", checked_vars(args.vars)] if args.vars else []),
    ]
    options = BuildOptions(dbt_args=tuple(dbt_args), verbose=args.verbose, profiles_dir=args.profiles_dir)
    return run_build(load_connection(args.target, args.profiles_dir), options, print)


def _dq_summary(args: argparse.Namespace) -> int:
    connection = load_connection(args.target, args.profiles_dir)
    if connection.type == "duckdb" and not Path(str(connection.settings["path"])).exists():
        print(f"data quality: {NO_BUILD}: no warehouse at {connection.settings['path']}; run make build")
        return 1
    warehouse = open_warehouse(connection)
    try:
        text, failed = dq_summary(warehouse, str(connection.settings["schema"]))
    finally:
        warehouse.close()
    print(text)
    return 1 if failed else 0


def _propose_mapping(args: argparse.Namespace) -> int:
    warehouse = open_warehouse(load_connection(args.target, args.profiles_dir))
    try:
        if args.out is not None:
            written = write_proposals(warehouse, args.out)
        else:
            text = proposals_csv(warehouse, SEEDS[args.seed])
            others = {
                seed: proposals_csv(warehouse, SEEDS[seed]).count("\n") - 1 for seed in SEEDS if seed != args.seed
            }
    finally:
        warehouse.close()
    if args.out is not None:
        for seed, (path, rows) in written.items():
            print(f"{path}: {rows} row(s) proposed for seeds/{seed}.csv")
        logger.info("review the rows, then append them to their seed: tail -n +2 FILE >> seeds/SEED.csv")
        return 0
    print(text, end="")
    logger.info("%d row(s) to review for seeds/%s.csv", text.count("\n") - 1, args.seed)
    for seed, rows in others.items():
        if rows:
            logger.info(
                "%d row(s) proposed for seeds/%s.csv: propose-mapping --seed %s (or --out DIR)", rows, seed, seed
            )
    return 0


def _report(args: argparse.Namespace) -> int:
    from loader.release_report import write_report

    connection = load_connection(args.target, args.profiles_dir)
    with warehouse_lock(connection):  # not while a release is half-way through its build
        path = write_report(connection, args.period, args.out_dir)
    print(f"report: {path}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    if args.dest is None:
        raise LoaderError("fetch: give --dest or set CHS_DATA_DIR")
    summary = fetch(
        args.page_url,
        args.dest,
        timeout=args.timeout,
        retries=args.retries,
        allowed_hosts=tuple(args.allowed_hosts),
        limits=_limits(args),
    )
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
        retries=args.retries,
        full_build=args.full_build,
        allowed_hosts=tuple(args.allowed_hosts),
        limits=_limits(args),
        publish=args.publish,
        verbose=args.verbose,
    )
    return run_release(load_connection(args.target, args.profiles_dir), options, print)


def _publish(args: argparse.Namespace) -> int:
    options = PublishOptions(
        dry_run=args.dry_run,
        rollback=args.rollback,
        create_index=args.create_index,
        retries=args.retries,
        retry_wait=args.retry_wait,
        min_found=args.min_found,
    )
    return run_publish(load_connection(args.target, args.profiles_dir), options, print)


def _review_options(args: argparse.Namespace) -> ReviewOptions:
    return ReviewOptions(
        base_ref=getattr(args, "base", ""),
        recce_venv=args.recce_venv,
        project_dir=Path.cwd(),
        target=args.target,
        profiles_dir=args.profiles_dir,
        full=getattr(args, "full", False),
        rebuild_base=getattr(args, "rebuild_base", False),
        schema_prefix=args.schema_prefix,
    )


def _review(args: argparse.Namespace) -> int:
    return run_review(load_connection(args.target, args.profiles_dir), _review_options(args), print)


def _review_server(args: argparse.Namespace) -> int:
    return serve(load_connection(args.target, args.profiles_dir), _review_options(args), args.port)


COMMANDS = {
    "land": _land,
    "build": _build,
    "fetch": _fetch,
    "release": _release,
    "publish": _publish,
    "dq-summary": _dq_summary,
    "propose-mapping": _propose_mapping,
    "review": _review,
    "review-server": _review_server,
    "report": _report,
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` (and dbt's cancellation) runs."""


_signals_received: list[int] = []


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Remember the signal (dbt may catch the interrupt and return) and unwind."""
    _signals_received.append(signum)
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _die_by(signum: int) -> None:
    """Exit as the signal would have: the usual status for the shell or cron that started us."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.quiet)
    for handled in (signal.SIGTERM, signal.SIGINT):
        signal.signal(handled, _on_signal)
    status = 1
    try:
        status = _run(args)
    except KeyboardInterrupt as interrupt:
        _signals_received.append(signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)
    if _signals_received:
        signum = _signals_received[0]
        logger.error(
            "interrupted (%s): partial downloads removed, the file being landed rolled back",
            signal.Signals(signum).name,
        )
        logging.shutdown()
        _die_by(signum)
        return 128 + signum  # not reached: the signal ends the process
    return status


def _run(args: argparse.Namespace) -> int:
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
