"""The data-quality summary of the last dbt build: ``python -m loader dq-summary``.

It describes the last build recorded in the warehouse's build log (macros/build_log.sql:
``<target schema>.dbt_build_log`` and ``dbt_build_log_problems``, written by dbt's hooks
in every ``dbt build``), never ``target/run_results.json``, which whatever dbt command
ran last overwrites (``dbt docs generate`` writes one with no test results). It says which
build it describes (when, which target, which months it checked), says so plainly when
there is none, describes a failed or stopped build as such, and adds the anomaly flags
standing in the warehouse, so the same data gives the same flags whichever build ran
last: the anomaly tests check only the rows their build flagged.

``summarise_run_results`` reads a run_results.json still: the data review (loader/review.py)
builds into prefixed schemas, which the build log does not record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loader.anomalies import FLAG_LABELS, FLAGS_MODEL, SERVICE_FLAGS_MODEL
from loader.errors import LoaderError
from loader.warehouse import Warehouse, quote_identifier

TEST_PREFIXES = ("test.", "unit_test.")
BUILD_LOG = "dbt_build_log"
PROBLEMS_LOG = "dbt_build_log_problems"
NO_BUILD = "no build recorded"
STOPPED = "running"  # a row the build's on-run-end hook never completed
DID_NOT_RUN = "did not run"  # written by `loader build` when dbt stopped before its hooks


@dataclass
class TestProblem:
    status: str  # warn, fail, error (a test), or error (a model or seed)
    name: str
    detail: str  # "N offending rows" or dbt's message
    relation: str | None  # where the failing rows are stored, if they are
    query: str | None = None  # else the test's compiled SQL (target/compiled/...), which finds them


@dataclass
class RunSummary:
    """What a dbt build says about its tests: from the build log, or a run_results.json."""

    counts: Counter[str]  # tests by status: pass, warn, fail, error, skipped
    tests: int
    node_errors: int  # models and seeds that errored
    problems: list[TestProblem]  # every test (and node) that did not pass, by name
    generated_at: str | None  # when the build finished (ISO 8601, UTC)
    status: str = "success"  # success, failed, running (stopped), did not run
    target: str | None = None
    command: str | None = None
    invocation_id: str | None = None
    months_checked: list[str] = field(default_factory=list)  # 'YYYY-MM'
    checks_every_month: bool = False
    message: str | None = None  # why it did not run

    @property
    def failed(self) -> bool:
        errors = self.counts.get("fail", 0) + self.counts.get("error", 0) + self.node_errors
        return self.status != "success" or errors > 0


def problem(
    unique_id: str, status: str, failures: Any, message: Any, relation: Any, compiled_path: Any = None
) -> TestProblem:
    """One line's worth of a test or node that did not pass."""
    parts = unique_id.split(".")
    unit_test = parts[0] == "unit_test"
    name = f"{parts[2]}::{parts[3]}" if unit_test and len(parts) > 3 else (parts[2] if len(parts) > 2 else unique_id)
    rows = None if unit_test or parts[0] != "test" else failures  # a unit test's message says how it differs
    detail = f"{rows} offending rows" if rows is not None else str(message or "")
    return TestProblem(
        status=status,
        name=name,
        detail=detail.splitlines()[0] if detail else "",
        relation=str(relation) if relation and status in ("warn", "fail") else None,
        query=str(compiled_path) if compiled_path and not relation and status in ("warn", "fail") else None,
    )


def summarise_run_results(path: Path) -> RunSummary:
    """A run_results.json (the data review's builds, which the build log does not record)."""
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoaderError(f"{path}: no dbt results to summarise ({exc.strerror}); run dbt build first") from exc
    results = document.get("results", [])
    tests = [r for r in results if str(r.get("unique_id", "")).startswith(TEST_PREFIXES)]
    others = [r for r in results if not str(r.get("unique_id", "")).startswith(TEST_PREFIXES)]
    node_errors = [r for r in others if r.get("status") == "error"]
    problems = [
        problem(str(r["unique_id"]), str(r["status"]), r.get("failures"), r.get("message"), r.get("relation_name"))
        for r in sorted(tests + node_errors, key=lambda r: str(r["unique_id"]))
        if str(r["status"]) not in ("pass", "success", "skipped")
    ]
    return RunSummary(
        counts=Counter(str(result["status"]) for result in tests),
        tests=len(tests),
        node_errors=len(node_errors),
        problems=problems,
        generated_at=document.get("metadata", {}).get("generated_at"),
    )


BUILD_COLUMNS = (
    "invocation_id",
    "target_name",
    "status",
    "command",
    "started_at",
    "finished_at",
    "months_checked",
    "checks_every_month",
    "tests",
    "tests_passed",
    "tests_warned",
    "tests_failed",
    "tests_errored",
    "tests_skipped",
    "nodes_errored",
    "message",
)


def last_build(warehouse: Warehouse, schema: str) -> RunSummary | None:
    """The last `dbt build` recorded in the warehouse (None when there is none)."""
    log = f"{quote_identifier(schema)}.{BUILD_LOG}"
    columns = {
        str(name)
        for (name,) in warehouse.execute(
            "select column_name from information_schema.columns "
            f"where table_schema = {warehouse.placeholder} and table_name = {warehouse.placeholder}",
            [schema, BUILD_LOG],
        )
    }
    if not columns:  # no build yet
        return None
    if "status" not in columns:  # written by an older project, whose builds did not record their tests
        raise LoaderError(f"{schema}.{BUILD_LOG}: recorded by an older version of the project; run make build")
    rows = warehouse.execute(
        f"select {', '.join(BUILD_COLUMNS)} from {log} order by coalesce(started_at, finished_at) desc limit 1"
    )
    if not rows:
        return None
    build = dict(zip(BUILD_COLUMNS, rows[0], strict=True))
    problems = [
        problem(str(unique_id), str(status), failures, message, relation, compiled_path)
        for unique_id, status, failures, message, relation, compiled_path in warehouse.execute(
            "select unique_id, status, failures, message, relation_name, compiled_path from "
            f"{quote_identifier(schema)}."
            f"{PROBLEMS_LOG} where invocation_id = {warehouse.placeholder} order by unique_id",
            [build["invocation_id"]],
        )
    ]
    counts: Counter[str] = Counter(
        {
            status: int(build[f"tests_{column}"] or 0)
            for status, column in (
                ("pass", "passed"),
                ("warn", "warned"),
                ("fail", "failed"),
                ("error", "errored"),
                ("skipped", "skipped"),
            )
        }
    )
    finished: dt.datetime = build["finished_at"] or build["started_at"]
    return RunSummary(
        counts=counts,
        tests=int(build["tests"] or 0),
        node_errors=int(build["nodes_errored"] or 0),
        problems=problems,
        generated_at=finished.replace(tzinfo=None).isoformat(timespec="seconds"),
        status=str(build["status"] or STOPPED),
        target=str(build["target_name"]),
        command=build["command"],
        invocation_id=str(build["invocation_id"]),
        months_checked=[m for m in str(build["months_checked"] or "").split(",") if m],
        checks_every_month=bool(build["checks_every_month"]),
        message=build["message"],
    )


def describe_months(months: list[str], every_month: bool) -> str:
    """'every month landed (12: 2024-08 to 2025-07)', 'no new month', '2025-07', '3 months: ...'."""
    if not months:
        return "no month (no release new to this build)" if not every_month else "every month landed (none landed)"
    span = months[0] if len(months) == 1 else f"{len(months)} months: {months[0]} to {months[-1]}"
    return f"every month landed ({span})" if every_month else span


def build_lines(build: RunSummary) -> list[str]:
    """Which build, when, where, what it checked, and its tests."""
    when = (build.generated_at or "?").replace("T", " ")[:16]
    command = f"dbt {build.command}" if build.command else "dbt build"
    head = f"last build: {command} on {build.target}, {when} UTC"
    if build.status == DID_NOT_RUN:
        return [f"{head}: did not run ({build.message or 'see logs/dbt.log'})"]
    if build.status == STOPPED:
        return [
            f"{head}: started and never finished (still running, or stopped: see logs/dbt.log); its tests are not known"
        ]
    lines = [f"{head}, {'failed' if build.failed else 'succeeded'}; months checked: "
             f"{describe_months(build.months_checked, build.checks_every_month)}"]  # fmt: skip
    lines.append(test_counts(build))
    lines.extend(problem_lines(build))
    return lines


def test_counts(run: RunSummary) -> str:
    counts = run.counts
    return (
        f"data quality: {run.tests} tests: {counts.get('pass', 0)} passed, {counts.get('warn', 0)} warned, "
        f"{counts.get('fail', 0)} failed, {counts.get('error', 0)} errored, {counts.get('skipped', 0)} skipped"
        + (f"; {run.node_errors} models/seeds errored" if run.node_errors else "")
    )


def problem_lines(run: RunSummary) -> list[str]:
    lines = []
    for item in run.problems:
        where = f"  (stored in {item.relation})" if item.relation else ""
        where = f"  (rows: the query in {item.query})" if item.query else where
        lines.append(f"  {item.status.upper():5} {item.name}: {item.detail}{where}")
    return lines


def run_results_summary(path: Path) -> tuple[str, bool]:
    """A run_results.json's summary (the data review's builds): counts, then what did not pass."""
    run = summarise_run_results(path)
    return "\n".join([test_counts(run), *problem_lines(run)]), run.failed


def is_built(warehouse: Warehouse, model: str) -> bool:
    """Whether the table `schema.name` exists in the warehouse."""
    schema, table = model.split(".")
    return bool(
        warehouse.execute(
            "select table_name from information_schema.tables "
            f"where table_schema = {warehouse.placeholder} and table_name = {warehouse.placeholder}",
            [schema, table],
        )
    )


def standing_flags(warehouse: Warehouse, build: RunSummary) -> str:
    """The anomaly flags in the warehouse (every month) and how many of them this build's
    anomaly tests checked: the same data gives the same line whichever build ran last."""
    for model in (FLAGS_MODEL, SERVICE_FLAGS_MODEL):
        if not is_built(warehouse, model):  # the build failed before the model, or did not select it
            return f"anomaly flags: not available ({model} is not built)"
    sums = ", ".join(f"sum(case when {column} then 1 else 0 end)" for column in FLAG_LABELS)
    months, *flags = warehouse.execute(f"select count(distinct period), {sums} from {FLAGS_MODEL}")[0]
    standing = ", ".join(f"{label} {count or 0}" for label, count in zip(FLAG_LABELS.values(), flags, strict=True))
    if build.checks_every_month:
        scope = "this build's anomaly tests checked every month"
    else:  # the months the model (re)flagged in this build: the new ones and the month after each
        written = warehouse.execute(
            "select period, sum(case when is_flagged then 1 else 0 end) "
            f"from {FLAGS_MODEL} where flagged_by_invocation = {warehouse.placeholder} group by period order by period",
            [build.invocation_id or ""],
        )
        scope = (
            f"this build's anomaly tests checked only the months it flagged anew: "
            f"{', '.join(f'{period:%Y-%m}' for period, _ in written)} ({sum(int(n or 0) for _, n in written)} flagged)"
            if written
            else "this build's anomaly tests checked no month (it flagged none anew)"
        )
    steps = warehouse.execute(f"select count(*) from {SERVICE_FLAGS_MODEL} where is_service_step")[0][0]
    return (
        f"anomaly flags standing in {FLAGS_MODEL} ({months} months): {standing} organisation-months, "
        f"and {steps} service steps ({SERVICE_FLAGS_MODEL}); {scope}"
    )


def dq_summary(warehouse: Warehouse, schema: str) -> tuple[str, bool]:
    """The last build's summary and whether it failed (or there is none to describe)."""
    build = last_build(warehouse, schema)
    if build is None:
        return f"data quality: {NO_BUILD} in this warehouse; run make build (or python -m loader build)", True
    lines = build_lines(build)
    if build.status not in (DID_NOT_RUN, STOPPED):
        lines.append(standing_flags(warehouse, build))
    return "\n".join(lines), build.failed
