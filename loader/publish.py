"""Publish community_health_data into the team's live trust_metrics table (PostgreSQL).

The live table belongs to the analytics team: other pipelines keep its RTT, A&E,
diagnostics and capacity columns, and its dashboard reads it. A publish therefore
touches exactly two columns, ``community_health_data`` and ``updated_at``, of rows that
already exist (matched on trust_code, period and ``data_type = 'monthly'``, as the team's
own loader matches them), never inserts a row, and:

- runs in one transaction (repeatable read: the plan, the update and the checks see one
  snapshot) under the warehouse's writer lock, so it never interleaves with a release;
- changes only rows whose value differs from the mart (``analyses/publish_plan.sql``),
  and only if each still holds the value the plan saw (else the transaction aborts);
- records every row it changed, with the previous value and updated_at, in
  ``raw_chs.publish_log`` / ``raw_chs.publish_log_rows``, so ``--rollback <id>`` restores
  them exactly (a rollback is itself recorded, and can be rolled back);
- runs the status report's coverage query on the live table before it commits
  (``analyses/publish_check_coverage.sql``) and commits only if every month matches the
  marts;
- stops, changing nothing, when the live table shows fewer than ``--min-found`` percent
  of the trust-months the marts cover (row-level security without a policy for the role,
  the wrong table, an empty one): otherwise every trust-month is merely "missing" and the
  coverage check passes on a table the role cannot see;
- retries its transaction (``--retries``, back-off from ``--retry-wait`` seconds, doubled
  each time) when another writer commits to the same rows meanwhile (the RTT loader on
  the live table: "could not serialize access due to concurrent update"), one line per
  retry, and gives up with one line after the last;
- refuses to run after a failed build (the last ``dbt build`` recorded in the warehouse
  by the on-run-end hook), and refuses with one line naming what is missing
  when the role lacks a privilege (it checks before it changes anything).

The numbers it reports come from the project's analyses (compiled by dbt), not from SQL
here: the SQL here moves the data and checks its own bookkeeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from loader import __version__
from loader.dbt_run import InProcessDbt
from loader.dq_summary import DID_NOT_RUN, STOPPED, last_build
from loader.errors import LoaderError
from loader.lock import warehouse_lock
from loader.profiles import Connection
from loader.warehouse import (
    PUBLISH_LOG_COLUMNS,
    PUBLISH_LOG_TABLE,
    PUBLISH_ROWS_TABLE,
    PostgresWarehouse,
    Warehouse,
    open_warehouse,
    quote_identifier,
    utc_now,
)

ANALYSES = ("publish_live_table", "publish_plan", "publish_plan_by_month", "publish_check_coverage")
LIVE_COLUMNS = ("id", "trust_code", "period", "data_type", "community_health_data", "updated_at")
WRITTEN_COLUMNS = ("community_health_data", "updated_at")

# Another writer's commit to rows the transaction is changing (SQLSTATE 40001, "could not
# serialize access due to concurrent update") or a deadlock with it (40P01): the
# transaction is rolled back whole, so running it again is safe.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# Three retries waiting 2, 4 and 8 s: the team's RTT loader commits a month's rows in
# seconds; a conflict that outlasts 14 s is not a passing one, and publish says so.
DEFAULT_RETRIES = 3
DEFAULT_RETRY_WAIT = 2.0
# The share of the marts' trust-months (with community data) the live table must show.
# The team's table holds every one of them (1,152 of 1,152 for Aug 2024 - Jul 2025); one
# that lags the marts by a month still shows 11 in 12 (92%). A table showing under half
# is not the table publish is meant for: row-level security hiding it from the role, the
# wrong schema or table, an empty table.
DEFAULT_MIN_FOUND = 50.0

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class PublishOptions:
    dry_run: bool = False
    rollback: int | None = None  # a publish_id to undo
    create_index: bool = False  # the GIN index on community_health_data, only when asked
    retries: int = DEFAULT_RETRIES  # after a concurrent update to the same rows
    retry_wait: float = DEFAULT_RETRY_WAIT  # seconds before the first retry, doubled for each next one
    min_found: float = DEFAULT_MIN_FOUND  # percent of the marts' trust-months the live table must show


@dataclass(frozen=True)
class LiveTable:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"


class _DryRun(Exception):
    """Unwinds the transaction of a dry run: nothing it did is kept."""


def last_build_failure(warehouse: Warehouse, schema: str) -> str | None:
    """Why the last `dbt build` recorded in the warehouse (macros/build_log.sql) does not
    allow a publish, or None when it does."""
    build = last_build(warehouse, schema)
    if build is None:
        return "no dbt build on record in this warehouse; build first"
    when = (build.generated_at or "?").replace("T", " ")[:16]
    if build.status in (STOPPED, DID_NOT_RUN):
        state = "did not finish" if build.status == STOPPED else "did not run"
        return f"the last dbt build ({when} UTC) {state}; nothing published"
    if build.failed:
        failed = build.counts.get("fail", 0) + build.counts.get("error", 0) + build.node_errors
        return f"the last dbt build ({when} UTC) failed ({failed} nodes); nothing published"
    return None


def run_publish(
    connection: Connection,
    options: PublishOptions,
    out: Callable[[str], None],
    dbt: InProcessDbt | None = None,
    *,
    build_checked: bool = False,
    lock: bool = True,
) -> int:
    """Publish (or roll back) under the warehouse's writer lock; ``out`` receives the report.

    ``build_checked``: the caller (a release) has just built successfully; otherwise the
    last build recorded in the warehouse (macros/build_log.sql) must have passed. ``lock``: False when
    the caller (a release) holds the writer lock already.
    """
    if connection.type != "postgres":
        raise LoaderError(
            f"publish: the live trust_metrics table is on PostgreSQL; target '{connection.target}' is {connection.type}"
        )
    own_dbt = dbt is None
    dbt = dbt or InProcessDbt()
    try:
        with warehouse_lock(connection) if lock else nullcontext():
            logger.info("publish: compiling the plan and the checks (dbt compile %s)", " ".join(ANALYSES))
            sql = dbt.compile(list(ANALYSES), connection.target)
            warehouse = open_warehouse(connection)
            assert isinstance(warehouse, PostgresWarehouse)
            try:
                warehouse.ensure_tables()
                failure = None if build_checked else last_build_failure(warehouse, connection.settings["schema"])
                if failure and options.rollback is None:
                    raise LoaderError(f"publish: {failure}")
                live = LiveTable(*warehouse.execute(sql["publish_live_table"])[0])
                _check_live_table(warehouse, live)
                if options.rollback is not None:
                    rollback = options.rollback
                    return _retrying(lambda: _rollback(warehouse, live, rollback, out), live, options, out)
                status = _retrying(lambda: _publish(warehouse, live, sql, options, out), live, options, out)
                if options.create_index and not options.dry_run:
                    _create_index(warehouse, live, out)
                return status
            finally:
                warehouse.close()
    finally:
        if own_dbt:
            dbt.close()


def _retrying(attempt: Callable[[], T], live: LiveTable, options: PublishOptions, out: Callable[[str], None]) -> T:
    """Run one transaction; again, after a back-off, when another writer's commit to the same
    rows aborted it (RETRYABLE_SQLSTATES): it was rolled back whole, so nothing is lost."""
    for retry in range(options.retries + 1):
        try:
            return attempt()
        except Exception as exc:
            if getattr(exc, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if retry == options.retries:
                raise LoaderError(
                    f"publish: gave up after {retry + 1} attempt{'s' if retry else ''}: {reason} on {live} each time "
                    "(another writer keeps changing the same rows); nothing changed; publish again when it has "
                    "finished (--retries, --retry-wait)"
                ) from exc
            wait = options.retry_wait * 2**retry
            out(
                f"publish: {reason} on {live} (another writer committed to the same rows); nothing changed; "
                f"retry {retry + 1} of {options.retries} in {wait:g} s"
            )
            logger.debug("publish: retrying after %s", reason)
            time.sleep(wait)
    raise AssertionError("not reached")  # the last attempt returns or raises


def _check_found(
    warehouse: Warehouse, live: LiveTable, by_month: list[tuple[Any, ...]], options: PublishOptions
) -> tuple[int, int]:
    """The marts' trust-months with community data, and how many of them the live table shows
    the role; stops, changing nothing, when that is under options.min_found percent."""
    expected = sum(row[6] for row in by_month)
    found = sum(row[7] for row in by_month)
    if expected and found * 100 < options.min_found * expected:
        role, row_security = warehouse.execute(
            "select current_user, coalesce((select relrowsecurity from pg_class where oid = to_regclass(%s)), false)",
            (live.sql,),
        )[0]
        causes = [
            f"row-level security (on for {live}) with no policy for role {role}"
            if row_security
            else f"row-level security with no policy for role {role}",
            "the wrong table or schema (CHS_LIVE_SCHEMA / CHS_LIVE_TABLE)",
            "an empty table",
            f"a role without SELECT on {live}",
        ]
        raise LoaderError(
            f"publish: {live} shows {found:,} of the {expected:,} trust-months the marts cover "
            f"({100 * found / expected:.0f}%, under --min-found {options.min_found:g}%); likely "
            f"{', '.join(causes[:-1])} or {causes[-1]}; nothing changed"
        )
    return found, expected


def _check_live_table(warehouse: Warehouse, live: LiveTable) -> None:
    """The table exists with the columns publish needs, and the role may read and update them."""
    name = str(live)
    if warehouse.execute("select to_regclass(%s)", (live.sql,))[0][0] is None:
        raise LoaderError(f"publish: live table {name} does not exist (set CHS_LIVE_SCHEMA / CHS_LIVE_TABLE)")
    present = {
        row[0]
        for row in warehouse.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (live.schema, live.name),
        )
    }
    absent = [column for column in LIVE_COLUMNS if column not in present]
    if absent:
        raise LoaderError(f"publish: live table {name} has no column {', '.join(absent)}")
    role, can_select, *can_update = warehouse.execute(
        "select current_user, has_table_privilege(%s, 'SELECT'), "
        + ", ".join("has_column_privilege(%s, %s, 'UPDATE')" for _ in WRITTEN_COLUMNS),
        (live.sql, *(value for column in WRITTEN_COLUMNS for value in (live.sql, column))),
    )[0]
    lacking = (["SELECT"] if not can_select else []) + [
        f"UPDATE ({column})" for column, allowed in zip(WRITTEN_COLUMNS, can_update, strict=True) if not allowed
    ]
    if lacking:
        raise LoaderError(
            f"publish: role {role} lacks {' and '.join(lacking)} on {name}; nothing changed "
            f"(grant select, update ({', '.join(WRITTEN_COLUMNS)}) on {name} to {role})"
        )


def _publish(
    warehouse: Warehouse, live: LiveTable, sql: dict[str, str], options: PublishOptions, out: Callable[[str], None]
) -> int:
    try:
        with warehouse.transaction():
            warehouse.execute("set transaction isolation level repeatable read")
            warehouse.execute(f"create temporary table publish_plan on commit drop as {sql['publish_plan']}")
            by_month = warehouse.execute(sql["publish_plan_by_month"])
            missing = warehouse.execute(
                "select trust_code, period from publish_plan where action = 'missing' order by period, trust_code"
            )
            found, expected = _check_found(warehouse, live, by_month, options)
            to_change = sum(row[1] + row[2] for row in by_month)
            logger.info("publish: %d live rows to change in %s", to_change, live)
            if options.dry_run:
                _report(out, f"publish to {live} (dry run: nothing changed)", by_month, missing)
                raise _DryRun
            publish_id = _next_publish_id(warehouse)
            _record_rows(warehouse, live, publish_id)
            changed = _update_live(warehouse, live, to_change)
            _log(warehouse, publish_id, "publish", live, by_month, None)
            logger.info("publish: %d rows changed; checking coverage on %s before committing", changed, live)
            checks = warehouse.execute(sql["publish_check_coverage"])
            failing = [row for row in checks if not row[5]]
            if failing:
                period, mart, live_count, differing, lacking, _ = failing[0]
                raise LoaderError(
                    f"publish: check failed on {live}, nothing changed: {period:%B %Y} has {live_count} trusts with "
                    f"community data where the marts have {mart} ({lacking} trust-months missing, {differing} rows "
                    f"differing); {len(failing)} month(s) fail"
                )
    except _DryRun:
        return 0
    _report(out, f"publish {publish_id} to {live}: {changed} rows changed", by_month, missing)
    latest = checks[-1] if checks else None
    out(
        f"checks on {live}: community coverage equals the marts in {len(checks)} of {len(checks)} months"
        + (f" ({latest[0]:%b %Y}: {latest[2]} trusts)" if latest else "")
        + f"; the live table shows {found:,} of the marts' {expected:,} trust-months"
    )
    return 0


def _next_publish_id(warehouse: Warehouse) -> int:
    """Publishes are numbered in order; the writer lock makes the number safe to take."""
    return int(warehouse.execute(f"select coalesce(max(publish_id), 0) + 1 from {PUBLISH_LOG_TABLE}")[0][0])


def _record_rows(warehouse: Warehouse, live: LiveTable, publish_id: int) -> None:
    """Each row about to change, with what it holds now: what a rollback restores."""
    warehouse.execute(
        f"insert into {PUBLISH_ROWS_TABLE} "
        "(publish_id, live_id, trust_code, period, action, previous_value, previous_updated_at, new_value) "
        "select %s, cast(live.id as varchar), plan.trust_code, plan.period, plan.action, "
        "cast(plan.previous_value as text), live.updated_at, cast(plan.new_value as text) "
        f"from publish_plan as plan inner join {live.sql} as live on live.id = plan.live_id "
        "where plan.action in ('update', 'clear')",
        (publish_id,),
    )


def _update_live(warehouse: Warehouse, live: LiveTable, expected: int) -> int:
    """Set the two columns on the planned rows; every one must still hold what the plan saw."""
    changed = warehouse.rowcount(
        f"update {live.sql} as live "
        "set community_health_data = plan.new_value, updated_at = now() "
        "from publish_plan as plan "
        "where live.id = plan.live_id and plan.action in ('update', 'clear') "
        "and live.community_health_data is not distinct from plan.previous_value"
    )
    if changed != expected:
        raise LoaderError(
            f"publish: {changed} of the {expected} planned rows of {live} could be updated (changed meanwhile, or "
            "hidden by row-level security: the role needs a policy allowing SELECT and UPDATE); nothing changed"
        )
    return changed


def _log(
    warehouse: Warehouse,
    publish_id: int,
    kind: str,
    live: LiveTable,
    by_month: list[tuple[Any, ...]],
    rolls_back: int | None,
) -> None:
    totals = [sum(row[column] for row in by_month) for column in (1, 2, 3, 4)]
    record = dict(
        zip(
            PUBLISH_LOG_COLUMNS,
            [publish_id, kind, str(live), utc_now(), *totals, rolls_back, __version__],
            strict=True,
        )
    )
    warehouse.insert_rows(PUBLISH_LOG_TABLE, PUBLISH_LOG_COLUMNS, [[record[c] for c in PUBLISH_LOG_COLUMNS]])


def _report(
    out: Callable[[str], None], title: str, by_month: list[tuple[Any, ...]], missing: list[tuple[Any, ...]]
) -> None:
    out(title)
    out(f"  {'month':<9}{'updated':>9}{'cleared':>9}{'unchanged':>11}{'missing':>9}")
    for period, update, clear, unchanged, lacking, *_ in by_month:
        out(f"  {period:%b %Y}{update:>10}{clear:>9}{unchanged:>11}{lacking:>9}")
    if missing:
        listed = ", ".join(f"{code} {period:%b %Y}" for code, period in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        out(f"  trust-months the live table lacks (listed, not created): {listed}{more}")


def _rollback(warehouse: Warehouse, live: LiveTable, publish_id: int, out: Callable[[str], None]) -> int:
    rows = warehouse.execute(f"select count(*) from {PUBLISH_ROWS_TABLE} where publish_id = %s", (publish_id,))[0][0]
    if not rows:
        raise LoaderError(f"publish --rollback {publish_id}: no such publish, or it changed no rows")
    with warehouse.transaction():
        warehouse.execute("set transaction isolation level repeatable read")
        since = warehouse.execute(
            f"select count(*) from {PUBLISH_ROWS_TABLE} as logged inner join {live.sql} as live "
            "on cast(live.id as varchar) = logged.live_id where logged.publish_id = %s "
            "and live.community_health_data is distinct from cast(logged.new_value as jsonb)",
            (publish_id,),
        )[0][0]
        if since:
            raise LoaderError(
                f"publish --rollback {publish_id}: {since} of its {rows} rows have changed since (a later publish?); "
                "roll back the later publishes first; nothing changed"
            )
        new_id = _next_publish_id(warehouse)
        warehouse.execute(
            f"insert into {PUBLISH_ROWS_TABLE} "
            "(publish_id, live_id, trust_code, period, action, previous_value, previous_updated_at, new_value) "
            "select %s, logged.live_id, logged.trust_code, logged.period, 'rollback', logged.new_value, "
            f"live.updated_at, logged.previous_value from {PUBLISH_ROWS_TABLE} as logged "
            f"inner join {live.sql} as live on cast(live.id as varchar) = logged.live_id where logged.publish_id = %s",
            (new_id, publish_id),
        )
        restored = warehouse.rowcount(
            f"update {live.sql} as live set community_health_data = cast(logged.previous_value as jsonb), "
            f"updated_at = logged.previous_updated_at from {PUBLISH_ROWS_TABLE} as logged "
            "where logged.publish_id = %s and cast(live.id as varchar) = logged.live_id",
            (publish_id,),
        )
        if restored != rows:
            raise LoaderError(
                f"publish --rollback {publish_id}: {restored} of its {rows} rows could be restored; nothing changed"
            )
        warehouse.insert_rows(
            PUBLISH_LOG_TABLE,
            PUBLISH_LOG_COLUMNS,
            [[new_id, "rollback", str(live), utc_now(), restored, 0, 0, 0, publish_id, __version__]],
        )
    out(f"publish {new_id}: rolled back publish {publish_id} on {live}: {restored} rows restored")
    return 0


def _create_index(warehouse: Warehouse, live: LiveTable, out: Callable[[str], None]) -> None:
    """The GIN index the status report recommends; only on request (it is the team's table)."""
    index = quote_identifier(f"{live.name}_community_health_data_gin")
    try:
        warehouse.execute(f"create index if not exists {index} on {live.sql} using gin (community_health_data)")
    except Exception as exc:  # psycopg's InsufficientPrivilege and friends: one line
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoaderError(
            f"publish --create-index on {live}: {first_line} (creating an index needs the table's owner)"
        ) from exc
    out(f"index {live.schema}.{live.name}_community_health_data_gin on {live} (community_health_data): present")
