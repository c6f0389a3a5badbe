"""Landing tables and bulk writes for DuckDB and PostgreSQL.

Tables (schema ``raw_chs`` unless noted):
- ``load_log``: one row per file ever landed (both releases of a revised month).
- ``workbook_cells``: every non-empty cell of the *current* release of each month.
- ``workbook_cells_superseded``: cells of releases replaced by a later one, kept so
  earlier figures can still be found.
- ``raw_trust_metrics.trust_metrics_extract``: the extract CSV, verbatim (text columns).

Writes are bulk (DuckDB: an Arrow table inserted in one statement; PostgreSQL: COPY)
and values are never spliced into SQL text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.errors import LoaderError
from loader.profiles import Connection
from loader.workbook import Cells

RAW_SCHEMA = "raw_chs"
EXTRACT_SCHEMA = "raw_trust_metrics"
EXTRACT_TABLE = f"{EXTRACT_SCHEMA}.trust_metrics_extract"
CELLS_TABLE = f"{RAW_SCHEMA}.workbook_cells"
SUPERSEDED_CELLS_TABLE = f"{RAW_SCHEMA}.workbook_cells_superseded"
LOAD_LOG_TABLE = f"{RAW_SCHEMA}.load_log"
FULL_BUILD_LOG_TABLE = f"{RAW_SCHEMA}.full_build_log"
PUBLISH_LOG_TABLE = f"{RAW_SCHEMA}.publish_log"
PUBLISH_ROWS_TABLE = f"{RAW_SCHEMA}.publish_log_rows"

PUBLISH_LOG_COLUMNS = (
    "publish_id",
    "kind",
    "live_table",
    "published_at",
    "rows_updated",
    "rows_cleared",
    "rows_unchanged",
    "trust_months_missing",
    "rolls_back_publish_id",
    "loader_version",
)

CELL_COLUMNS = (
    "file_sha256",
    "sheet_index",
    "sheet_name",
    "row_number",
    "column_number",
    "cell_type",
    "cell_text",
)

LOAD_LOG_COLUMNS = (
    "file_sha256",
    "source_kind",
    "file_name",
    "file_size_bytes",
    "sheet_count",
    "row_count",
    "cell_count",
    "reporting_period",
    "published_on",
    "revised_on",
    "release_status",
    "superseded_by_sha256",
    "loaded_at",
    "load_seconds",
    "loader_version",
)

_CELLS_DDL = """(
    file_sha256 varchar(64) not null,
    sheet_index integer not null,
    sheet_name varchar not null,
    row_number integer not null,
    column_number integer not null,
    cell_type varchar(1) not null check (cell_type in ('n', 's', 'b', 'd', 't')),
    cell_text varchar not null
)"""

DDL = (
    f"create schema if not exists {RAW_SCHEMA}",
    f"create schema if not exists {EXTRACT_SCHEMA}",
    f"""create table if not exists {LOAD_LOG_TABLE} (
    file_sha256 varchar(64) primary key,
    source_kind varchar not null check (source_kind in ('chs_workbook', 'trust_metrics_extract')),
    file_name varchar not null,
    file_size_bytes bigint not null,
    sheet_count integer,
    row_count bigint not null,
    cell_count bigint,
    reporting_period date,
    published_on date,
    revised_on date,
    release_status varchar not null check (release_status in ('current', 'superseded')),
    superseded_by_sha256 varchar(64),
    loaded_at timestamp not null,
    load_seconds double precision not null,
    loader_version varchar not null
)""",
    f"create table if not exists {CELLS_TABLE} {_CELLS_DDL}",
    f"create table if not exists {SUPERSEDED_CELLS_TABLE} {_CELLS_DDL}",
    # successful full `dbt build`s run by `release`, so a later release knows whether the
    # dbt project changed since everything was last built (loader/release.py)
    f"""create table if not exists {FULL_BUILD_LOG_TABLE} (
    project_fingerprint varchar(64) not null,
    built_at timestamp not null
)""",
    # every `loader publish` to the live trust_metrics table (loader/publish.py), and the
    # rows it changed with their previous values, which `publish --rollback` restores
    f"""create table if not exists {PUBLISH_LOG_TABLE} (
    publish_id integer primary key,
    kind varchar not null check (kind in ('publish', 'rollback')),
    live_table varchar not null,
    published_at timestamp not null,
    rows_updated integer not null,
    rows_cleared integer not null,
    rows_unchanged integer not null,
    trust_months_missing integer not null,
    rolls_back_publish_id integer,
    loader_version varchar not null
)""",
    f"""create table if not exists {PUBLISH_ROWS_TABLE} (
    publish_id integer not null,
    live_id varchar not null,
    trust_code varchar not null,
    period date not null,
    action varchar not null check (action in ('update', 'clear', 'rollback')),
    previous_value varchar,
    previous_updated_at timestamp with time zone,
    new_value varchar
)""",
)


def utc_now() -> dt.datetime:
    """The time the warehouse records (load log, build log): UTC, naive, whole seconds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class Release:
    file_sha256: str
    release_date: dt.date | None


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """Common SQL; subclasses provide the connection, placeholders and bulk writes."""

    placeholder = "?"
    extra_ddl: tuple[str, ...] = ()  # statements only this engine needs

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise NotImplementedError
        yield  # pragma: no cover

    def insert_cells(self, table: str, file_sha256: str, cells: Cells) -> None:
        raise NotImplementedError

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def rowcount(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a data-changing statement; the number of rows it changed."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def analyze(self) -> None:
        """Refresh planner statistics after a load (where the engine needs it)."""

    # ---- shared logic ---------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def ensure_tables(self) -> None:
        with self.transaction():
            for statement in (*DDL, *self.extra_ddl):
                self.execute(statement)

    def landed_hashes(self) -> set[str]:
        """SHA-256 of every file already landed (any status): landing those again is a no-op."""
        return {row[0] for row in self.execute(f"select file_sha256 from {LOAD_LOG_TABLE}")}

    def current_release(self, source_kind: str, period: dt.date | None) -> Release | None:
        sql = (
            f"select file_sha256, coalesce(revised_on, published_on) from {LOAD_LOG_TABLE} "
            "where source_kind = ? and release_status = 'current' and "
        )
        if period is None:
            rows = self.execute(self._sql(sql + "reporting_period is null"), (source_kind,))
        else:
            rows = self.execute(self._sql(sql + "reporting_period = ?"), (source_kind, period))
        if len(rows) > 1:
            raise LoaderError(f"load log has {len(rows)} current releases for {source_kind} {period}")
        return Release(rows[0][0], rows[0][1]) if rows else None

    def supersede(self, old_sha256: str, new_sha256: str, *, move_cells: bool) -> None:
        if move_cells:
            columns = ", ".join(CELL_COLUMNS)
            self.execute(
                self._sql(
                    f"insert into {SUPERSEDED_CELLS_TABLE} ({columns}) "
                    f"select {columns} from {CELLS_TABLE} where file_sha256 = ?"
                ),
                (old_sha256,),
            )
            self.execute(self._sql(f"delete from {CELLS_TABLE} where file_sha256 = ?"), (old_sha256,))
        self.execute(
            self._sql(
                f"update {LOAD_LOG_TABLE} set release_status = 'superseded', superseded_by_sha256 = ? "
                "where file_sha256 = ?"
            ),
            (new_sha256, old_sha256),
        )

    def release_cells(self, table: str, file_sha256: str) -> list[tuple[Any, ...]]:
        """(sheet_index, row_number, column_number, cell_type, cell_text) of one release."""
        return self.execute(
            self._sql(
                f"select sheet_index, row_number, column_number, cell_type, cell_text from {table} "
                "where file_sha256 = ?"
            ),
            (file_sha256,),
        )

    def last_full_build_fingerprint(self) -> str | None:
        rows = self.execute(f"select project_fingerprint from {FULL_BUILD_LOG_TABLE} order by built_at desc limit 1")
        return str(rows[0][0]) if rows else None

    def log_full_build(self, project_fingerprint: str) -> None:
        with self.transaction():
            columns = ("project_fingerprint", "built_at")
            self.insert_rows(FULL_BUILD_LOG_TABLE, columns, [[project_fingerprint, utc_now()]])

    def log_load(self, record: dict[str, Any]) -> None:
        self.insert_rows(LOAD_LOG_TABLE, LOAD_LOG_COLUMNS, [[record[c] for c in LOAD_LOG_COLUMNS]])

    def replace_extract(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], sha256: str) -> None:
        """Replace the landed extract: it is a snapshot, so the newest file is the table.

        Its columns can change between extracts, so the table is re-created. `cascade`
        drops dbt's staging view over it (PostgreSQL refuses to drop a table a view
        depends on); the view is compiled from the table's columns, so the next build
        re-creates it (release builds views whenever an extract lands). All of this is
        in the file's transaction: a failed landing keeps the old table and view.
        """
        all_columns = [*columns, "_file_sha256", "_row_number"]
        definitions = ", ".join(
            [f"{quote_identifier(name)} varchar" for name in columns]
            + ["_file_sha256 varchar(64) not null", "_row_number integer not null"]
        )
        self.execute(f"drop table if exists {EXTRACT_TABLE} cascade")
        self.execute(f"create table {EXTRACT_TABLE} ({definitions})")
        self.insert_rows(
            EXTRACT_TABLE,
            [quote_identifier(name) for name in all_columns],
            [[*row, sha256, number] for number, row in enumerate(rows, start=2)],
        )


def duckdb_open_error(path: str, error: Exception) -> str:
    """One line for a DuckDB file that cannot be opened. Held by another process, DuckDB
    advises opening it read-only, which does not apply to a writer: say what to do."""
    text = str(error)
    if "Could not set lock" in text or "Conflicting lock" in text:
        holder = re.search(r"\(PID (\d+)\)", text)
        pid = f" (pid {holder.group(1)})" if holder else ""
        return (
            f"{path} is open in another program{pid}: close it (an analyst's DuckDB session, a notebook, "
            "recce server) and run again"
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"cannot open DuckDB database {path}: {first_line}"


class DuckDBWarehouse(Warehouse):
    placeholder = "?"

    def __init__(self, path: str) -> None:
        import duckdb

        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(path)
        except duckdb.Error as exc:
            raise LoaderError(duckdb_open_error(path, exc)) from exc
        # The loader's parallelism is in parsing (worker threads); DuckDB's own worker
        # threads would only compete with them for the cores while it appends one file.
        self.con.execute("set threads = 1")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.con.execute(sql, list(params))
        return cursor.fetchall() if cursor.description else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.begin()
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    def _insert_arrow(self, table: str, columns: Sequence[str], data: dict[str, Any]) -> None:
        import pyarrow as pa

        batch = pa.table(data)
        self.con.register("_landing_batch", batch)
        try:
            names = ", ".join(columns)
            self.con.execute(f"insert into {table} ({names}) select * from _landing_batch")
        finally:
            self.con.unregister("_landing_batch")

    def insert_cells(self, table: str, file_sha256: str, cells: Cells) -> None:
        import pyarrow as pa

        count = len(cells)
        data = {
            "file_sha256": pa.repeat(file_sha256, count),
            "sheet_index": pa.array(cells.sheet_index, pa.int32()),
            "sheet_name": pa.array(cells.sheet_name, pa.string()),
            "row_number": pa.array(cells.row_number, pa.int32()),
            "column_number": pa.array(cells.column_number, pa.int32()),
            "cell_type": pa.array(cells.cell_type, pa.string()),
            "cell_text": pa.array(cells.cell_text, pa.string()),
        }
        self._insert_arrow(table, CELL_COLUMNS, data)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        data = {f"c{i}": [row[i] for row in rows] for i in range(len(columns))}
        self._insert_arrow(table, columns, data)

    def close(self) -> None:
        self.con.close()


class PostgresWarehouse(Warehouse):
    placeholder = "%s"
    # dbt reads one release's cells at a time (macros/incremental_by_release.sql): without
    # this index each read scans every month landed. DuckDB's zone maps do the same job
    # (a release's cells are written together), so it needs none.
    extra_ddl = (f"create index if not exists workbook_cells__file_sha256 on {CELLS_TABLE} (file_sha256)",)

    def __init__(self, settings: dict[str, Any]) -> None:
        import psycopg

        try:
            self.con = psycopg.connect(
                host=settings.get("host"),
                port=settings.get("port"),
                user=settings.get("user"),
                password=settings.get("password") or None,
                dbname=settings.get("dbname"),
                sslmode=settings.get("sslmode", "prefer"),
                connect_timeout=10,
                autocommit=True,
            )
        except psycopg.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LoaderError(f"cannot connect to PostgreSQL: {first_line}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cursor:
            cursor.execute(sql, list(params) if params else None)
            return cursor.fetchall() if cursor.description else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.con.transaction():
            yield

    def _copy(self, table: str, columns: Sequence[str], rows: Any) -> None:
        names = ", ".join(columns)
        with self.con.cursor() as cursor, cursor.copy(f"copy {table} ({names}) from stdin") as copy:
            for row in rows:
                copy.write_row(row)

    def insert_cells(self, table: str, file_sha256: str, cells: Cells) -> None:
        rows = zip(
            [file_sha256] * len(cells),
            cells.sheet_index,
            cells.sheet_name,
            cells.row_number,
            cells.column_number,
            cells.cell_type,
            cells.cell_text,
            strict=True,
        )
        self._copy(table, CELL_COLUMNS, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._copy(table, columns, rows)

    def rowcount(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.con.cursor() as cursor:
            cursor.execute(sql, list(params) if params else None)
            return int(cursor.rowcount)

    def analyze(self) -> None:
        """Refresh planner statistics after a load; dbt's queries on the cells depend on them.

        The first load gets full statistics. Later loads change the row count and the
        releases' shares, not the shape of a sheet, so they re-analyze file_sha256 alone
        from a 3,000-row sample (statistics target 10): a constant cost, where a full
        analyze reads more of the table with every month landed.
        """
        self.execute(f"analyze {LOAD_LOG_TABLE}")
        schema, table = CELLS_TABLE.split(".")
        analyzed = self.execute(
            "select count(*) from pg_stats where schemaname = %s and tablename = %s and attname = 'cell_text'",
            (schema, table),
        )[0][0]
        if not analyzed:
            self.execute(f"analyze {CELLS_TABLE}")
            return
        self.execute(f"alter table {CELLS_TABLE} alter column file_sha256 set statistics 10")
        self.execute(f"analyze {CELLS_TABLE} (file_sha256)")

    def close(self) -> None:
        self.con.close()


def open_warehouse(connection: Connection) -> Warehouse:
    if connection.type == "duckdb":
        return DuckDBWarehouse(str(connection.settings["path"]))
    if connection.type == "postgres":
        return PostgresWarehouse(connection.settings)
    raise LoaderError(f"target '{connection.target}': unsupported type '{connection.type}'")
