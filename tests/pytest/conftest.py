"""Shared fixtures: paths to the real data, helpers to run the loader and dbt, warehouses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent


# The longest tests (minutes each: two builds and recce per review; a release end to end)
# start first, one at the head of each half of the list: pytest-xdist's work-stealing
# scheduler gives each of `make test`'s two workers one half, so each starts one of them,
# rather than one worker running them all while the other runs out of work.
LONGEST = (
    "test_review.py::test_review_of_a_model_change[postgres]",
    "test_review.py::test_review_of_a_model_change[duckdb]",
    "test_fetch.py::test_release_end_to_end",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    longest = [item for name in LONGEST for item in items if item.nodeid.endswith(name)]
    rest = [item for item in items if item not in longest]
    half = len(items) // 2
    first, second = longest[::2], longest[1::2]  # alternately to each half
    items[:] = [*first, *rest[: half - len(first)], *second, *rest[half - len(first) :]]


def data_dir() -> Path:
    """The real workbooks: CHS_DATA_DIR, else ../shared/data/chswl beside the project."""
    return Path(os.environ.get("CHS_DATA_DIR", PROJECT_DIR.parent / "shared" / "data" / "chswl")).resolve()


def extract_path() -> Path:
    default = PROJECT_DIR.parent / "shared" / "data" / "trust_metrics_extract.csv"
    return Path(os.environ.get("CHS_TRUST_METRICS_CSV", default)).resolve()


def real_workbooks() -> list[Path]:
    files = sorted(data_dir().glob("*.xlsx"))
    if not files:
        pytest.fail(f"no workbooks in {data_dir()} (set CHS_DATA_DIR)")
    return files


@cache
def cells_in_files() -> tuple[int, int]:
    """(non-empty cells, sheets) of the real workbooks, read independently of the loader."""
    from python_calamine import CalamineWorkbook

    cells = sheets = 0
    for path in real_workbooks():
        book = CalamineWorkbook.from_path(str(path))
        sheets += len(book.sheet_names)
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            cells += sum(1 for row in rows for value in row if value != "")
    return cells, sheets


@dataclass
class Target:
    """One warehouse to land into and build: a dbt target plus the env that points at it."""

    name: str
    env: dict[str, str]
    workdir: Path
    project_dir: Path = PROJECT_DIR

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a project command (``loader ...`` or ``dbt ...``) against this target."""
        if args[0] == "loader":
            command = [sys.executable, "-m", "loader", *args[1:], "--target", self.name]
        else:
            command = [str(BIN_DIR / "dbt"), *args[1:], "--target", self.name]
        result = subprocess.run(
            command, cwd=self.project_dir, env=self.env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def query(self, sql: str) -> list[tuple[object, ...]]:
        if self.name == "duckdb":
            import duckdb

            with duckdb.connect(self.env["CHS_DUCKDB_PATH"], read_only=True) as con:
                return con.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(**pg_connect_args(self.env)) as con, con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def execute(self, sql: str) -> None:
        if self.name == "duckdb":
            import duckdb

            with duckdb.connect(self.env["CHS_DUCKDB_PATH"]) as con:
                con.execute(sql)
            return
        import psycopg

        with psycopg.connect(**pg_connect_args(self.env), autocommit=True) as con:
            con.execute(sql)


def pg_connect_args(env: dict[str, str]) -> dict[str, object]:
    return {
        "host": env["CHS_PG_HOST"],
        "port": int(env.get("CHS_PG_PORT", "5432")),
        "user": env.get("CHS_PG_USER", "postgres"),
        "password": env.get("CHS_PG_PASSWORD") or None,
        "dbname": env.get("CHS_PG_DBNAME", "postgres"),
    }


def base_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
    env["DBT_TARGET_PATH"] = str(workdir / "target")
    env["DBT_LOG_PATH"] = str(workdir / "logs")
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["CHS_REPORT_DIR"] = str(workdir / "reports")  # release and report write here, not into the project
    return env


def duckdb_target(workdir: Path) -> Target:
    workdir.mkdir(parents=True, exist_ok=True)
    env = base_env(workdir)
    env["CHS_DUCKDB_PATH"] = str(workdir / "warehouse.duckdb")
    return Target("duckdb", env, workdir)


def postgres_target(workdir: Path) -> Target:
    """A fresh database on the server named by CHS_PG_HOST; skip when none is configured."""
    if not os.environ.get("CHS_PG_HOST"):
        pytest.skip("no PostgreSQL configured (set CHS_PG_HOST; .ci/run starts one)")
    import psycopg

    workdir.mkdir(parents=True, exist_ok=True)
    env = base_env(workdir)
    dbname = f"chs_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**pg_connect_args(env), autocommit=True) as con:
        con.execute(f"create database {dbname}")
    env["CHS_PG_DBNAME"] = dbname
    return Target("postgres", env, workdir)


def drop_postgres(target: Target) -> None:
    import psycopg

    admin = dict(target.env)
    admin["CHS_PG_DBNAME"] = os.environ.get("CHS_PG_DBNAME", "postgres")
    with psycopg.connect(**pg_connect_args(admin), autocommit=True) as con:
        con.execute(f"drop database if exists {target.env['CHS_PG_DBNAME']} with (force)")


def _land_and_build(target: Target) -> Target:
    target.run("loader", "land", str(data_dir()), str(extract_path()))
    target.run("dbt", "build")
    return target


@pytest.fixture(scope="session")
def built_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Target:
    """All 12 real workbooks and the extract landed into DuckDB, and `dbt build` passed."""
    return _land_and_build(duckdb_target(tmp_path_factory.mktemp("built_duckdb")))


@pytest.fixture(scope="session")
def built_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The same on PostgreSQL, in a throwaway database."""
    target = postgres_target(tmp_path_factory.mktemp("built_postgres"))
    try:
        yield _land_and_build(target)
    finally:
        drop_postgres(target)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def built(request: pytest.FixtureRequest) -> Target:
    """Each target, landed and built (tests using it run once per target)."""
    target: Target = request.getfixturevalue(f"built_{request.param}")
    return target


@pytest.fixture
def fresh_duckdb(tmp_path: Path) -> Target:
    return duckdb_target(tmp_path)


@pytest.fixture
def copy_of_built_duckdb(built_duckdb: Target, tmp_path: Path) -> Target:
    """A private copy of the built DuckDB warehouse, for tests that corrupt it."""
    target = duckdb_target(tmp_path)
    shutil.copy(built_duckdb.env["CHS_DUCKDB_PATH"], target.env["CHS_DUCKDB_PATH"])
    return target
