"""``python -m loader build``: dbt build under the warehouse's writer lock, then its summary.

``make build`` lands the files and runs this. dbt runs in this process (loader/dbt_run.py),
quietly: a progress line every few seconds, and at the end one summary of the build it
ran, read from the warehouse's build log (loader/dq_summary.py). Every command that writes
the warehouse takes the same lock (loader/lock.py), so a second build, landing, release or
publish is refused with one line; a DuckDB file another program holds open gets one line
saying what to close.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loader.dbt_run import InProcessDbt
from loader.dq_summary import BUILD_LOG, DID_NOT_RUN, dq_summary, last_build
from loader.errors import LoaderError
from loader.lock import warehouse_lock
from loader.profiles import Connection
from loader.warehouse import Warehouse, duckdb_open_error, open_warehouse, quote_identifier, utc_now

logger = logging.getLogger(__name__)

# the columns of a build log row the loader writes (a build that did not run)
BUILD_LOG_ROW = (
    "invocation_id",
    "target_name",
    "started_at",
    "finished_at",
    "nodes",
    "failed",
    "warned",
    "status",
    "command",
    "message",
)


def run_results_path() -> Path:
    """Where the in-process dbt writes run_results.json (for dbt's own tools; the
    summaries read the build log)."""
    return Path(os.environ.get("DBT_TARGET_PATH", "target")) / "run_results.json"


@dataclass(frozen=True)
class BuildOptions:
    dbt_args: tuple[str, ...] = ()  # more `dbt build` options (--select ..., --full-refresh)
    verbose: bool = False  # dbt's per-node lines on the console
    profiles_dir: Path | None = None


@dataclass(frozen=True)
class BuildOutcome:
    summary: str  # the data-quality summary (or why there is none)
    failed: bool  # dbt failed, a node or test failed or errored, or it did not run
    invocation_id: str | None  # the build recorded (None when it did not run)
    ran: bool  # dbt ran the build's nodes (the models it writes are there to read)


def checked_vars(text: str) -> str:
    """``--vars`` as given, when it is a YAML mapping (dbt would print its complaint on
    stdout, coloured, before it reads its own options): one line otherwise."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoaderError(f"--vars {text!r}: not YAML ({first_line})") from exc
    if not isinstance(value, dict):
        raise LoaderError(f"--vars {text!r}: expected a YAML mapping, e.g. '{{validate_all_releases: true}}'")
    return text


def dbt_error_line(connection: Connection, error: str) -> str:
    """Why dbt could not run, as one line; a DuckDB file held by another program as what to do."""
    if connection.type == "duckdb" and ("Could not set lock" in error or "Conflicting lock" in error):
        return duckdb_open_error(str(connection.settings["path"]), Exception(error))
    return error.strip().splitlines()[0] if error.strip() else "unknown error"


def record_did_not_run(warehouse: Warehouse, schema: str, target: str, invocation_id: str, reason: str) -> None:
    """A build that stopped before dbt's hooks ran (a project or vars error) is recorded as
    such, so the summary never describes the build before it. Only in a build log that
    has the columns (macros/build_log.sql creates them on the first build)."""
    columns = {
        str(name)
        for (name,) in warehouse.execute(
            "select column_name from information_schema.columns "
            f"where table_schema = {warehouse.placeholder} and table_name = {warehouse.placeholder}",
            [schema, BUILD_LOG],
        )
    }
    if "status" not in columns:
        return
    now = utc_now()
    warehouse.insert_rows(
        f"{quote_identifier(schema)}.{BUILD_LOG}",
        BUILD_LOG_ROW,
        [[invocation_id, target, now, now, 0, 0, 0, DID_NOT_RUN, "build", reason[:500]]],
    )


def build_and_summarise(
    connection: Connection, dbt: InProcessDbt, args: list[str], verbose: bool, out: Callable[[str], None]
) -> BuildOutcome:
    """``dbt <args>`` (a build) for the caller, who holds the writer lock; ``out`` gets the summary."""
    os.environ["CHS_TARGET"] = connection.target  # profiles.yml reads it, as the loader did
    run = dbt.run([*args, "--target", connection.target], run_results_path(), verbose=verbose)
    schema = str(connection.settings["schema"])
    reason = dbt_error_line(connection, run.error) if run.error else None
    try:
        warehouse = open_warehouse(connection)
    except LoaderError as error:  # the database went away, or another program holds the file
        logger.error("%s", error if reason is None else f"dbt build did not run: {reason}")
        text = "data quality: not available (the warehouse cannot be read)"
        out(text)
        return BuildOutcome(text, True, None, False)
    try:
        build = last_build(warehouse, schema)
        recorded = build is not None and build.invocation_id == run.invocation_id
        if not recorded and reason and run.invocation_id:
            record_did_not_run(warehouse, schema, connection.target, run.invocation_id, reason)
        elif not recorded:
            logger.warning(
                "this build is not in the build log (%s.%s): the summary is of an earlier one", schema, BUILD_LOG
            )
        text, failed = dq_summary(warehouse, schema)
    finally:
        warehouse.close()
    if reason:
        logger.error("dbt build did not run: %s (logs/dbt.log has the details)", reason)
    out(text)
    return BuildOutcome(
        text, failed or not run.succeeded, run.invocation_id if recorded else None, recorded and run.results > 0
    )


def run_build(connection: Connection, options: BuildOptions, out: Callable[[str], None]) -> int:
    """dbt build under the writer lock, then its summary; 0 when it passed (warnings pass)."""
    with warehouse_lock(connection):
        if connection.type == "duckdb":  # a file held open elsewhere: one line, before dbt starts
            open_warehouse(connection).close()
        dbt = InProcessDbt()
        try:
            extra = ["--profiles-dir", str(options.profiles_dir)] if options.profiles_dir else []
            outcome = build_and_summarise(connection, dbt, ["build", *options.dbt_args, *extra], options.verbose, out)
        finally:
            dbt.close()
    return 1 if outcome.failed else 0
