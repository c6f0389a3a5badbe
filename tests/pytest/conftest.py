"""Shared fixtures: paths to the real data, helpers to run the loader and dbt, warehouses."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


# Modules whose tests share module-scoped state and run in file order (test_publish.py: one
# live table, publish 1, 2, 3 ... in turn): they go right after the first half's longest
# test, together, so no worker starts them midway and work-stealing (which takes from the
# tail of a worker's queue) does not split them.
IN_FILE_ORDER = ("tests/pytest/test_publish.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    longest = [item for name in LONGEST for item in items if item.nodeid.endswith(name)]
    in_order = [item for item in items if item.nodeid.split("::")[0] in IN_FILE_ORDER and item not in longest]
    rest = [item for item in items if item not in longest and item not in in_order]
    half = len(items) // 2
    first, second = longest[::2], longest[1::2]  # alternately to each half
    head = [*first, *in_order]
    items[:] = [*head, *rest[: max(half - len(head), 0)], *second, *rest[max(half - len(head), 0) :]]


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


def postgres_target(workdir: Path, template: str | None = None) -> Target:
    """A fresh database on the server named by CHS_PG_HOST (a copy of database `template`
    when given); skip when none is configured."""
    if not os.environ.get("CHS_PG_HOST"):
        pytest.skip("no PostgreSQL configured (set CHS_PG_HOST; .ci/run starts one)")
    import psycopg

    workdir.mkdir(parents=True, exist_ok=True)
    env = base_env(workdir)
    dbname = f"chs_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**pg_connect_args(env), autocommit=True) as con:
        con.execute(f"create database {dbname}" + (f" template {template}" if template else ""))
    env["CHS_PG_DBNAME"] = dbname
    return Target("postgres", env, workdir)


def drop_postgres(target: Target) -> None:
    drop_database(target.env, target.env["CHS_PG_DBNAME"])


def drop_database(env: dict[str, str], dbname: str) -> None:
    """Drop `dbname`, connected as `env` says to the server's own database (CHS_PG_DBNAME)."""
    import psycopg

    admin = dict(env)
    admin["CHS_PG_DBNAME"] = os.environ.get("CHS_PG_DBNAME", "postgres")
    with psycopg.connect(**pg_connect_args(admin), autocommit=True) as con:
        con.execute(f"drop database if exists {dbname} with (force)")


def _land_and_build(target: Target) -> Target:
    target.run("loader", "land", str(data_dir()), str(extract_path()))
    target.run("dbt", "build")
    return target


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path` for the block, waiting for any other holder."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class SharedBuilds:
    """The session's warehouses, landed and built once per test run in a directory every
    pytest-xdist worker sees (their basetemps' parent; without xdist, the session's own
    basetemp): the first worker to ask for a target builds it while any other that asks
    waits. Each worker then works on a private copy (a file copy; a database made with the
    built one as its template), as tests write into theirs. The last worker to finish drops
    the shared PostgreSQL database."""

    root: Path

    def state(self, name: str) -> Path:
        """The shared build's state: {"dbname": PostgreSQL database or "", "failed": why, when it did}."""
        return self.root / f"shared_{name}.json"

    def record(self, name: str, **state: str) -> None:
        self.state(name).write_text(json.dumps(state), encoding="utf-8")

    @contextmanager
    def built(self, name: str) -> Iterator[tuple[Path, dict[str, str]]]:
        """(work directory, state) of the shared build of target `name`, building it if
        no worker has; its lock is held for the block, so copies are made one at a time
        (PostgreSQL copies a template only while no other session is connected to it)."""
        workdir = self.root / f"shared_{name}"
        with file_lock(self.root / f"shared_{name}.lock"):
            if not self.state(name).exists():
                target = duckdb_target(workdir) if name == "duckdb" else postgres_target(workdir)
                dbname = target.env["CHS_PG_DBNAME"] if name == "postgres" else ""
                self.record(name, dbname=dbname, failed="interrupted while building")
                try:
                    _land_and_build(target)
                except Exception as exc:
                    self.record(name, dbname=dbname, failed=str(exc))
                    raise
                self.record(name, dbname=dbname)
            state: dict[str, str] = json.loads(self.state(name).read_text(encoding="utf-8"))
            if "failed" in state:
                pytest.fail(f"the session's {name} warehouse did not build:\n{state['failed']}")
            yield workdir, state

    def leave(self) -> None:
        """This worker has finished its tests: the last one drops the shared database."""
        with file_lock(self.root / "shared_workers.lock"):
            finished = self.root / "shared_workers_finished"
            count = int(finished.read_text(encoding="utf-8")) + 1 if finished.exists() else 1
            finished.write_text(str(count), encoding="utf-8")
        if count < int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) or not self.state("postgres").exists():
            return
        dbname = json.loads(self.state("postgres").read_text(encoding="utf-8"))["dbname"]
        if dbname:
            drop_database(dict(os.environ), dbname)


@pytest.fixture(scope="session", autouse=True)
def shared_builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedBuilds]:
    basetemp = tmp_path_factory.getbasetemp()
    shared = SharedBuilds(basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp)
    yield shared
    shared.leave()


@pytest.fixture(scope="session")
def built_duckdb(shared_builds: SharedBuilds, tmp_path_factory: pytest.TempPathFactory) -> Target:
    """All 12 real workbooks and the extract landed into DuckDB, and `dbt build` passed:
    this worker's copy of the session's build (warehouse file and dbt's artifacts)."""
    workdir = tmp_path_factory.mktemp("built_duckdb")
    with shared_builds.built("duckdb") as (shared, _):
        shutil.copytree(shared, workdir, dirs_exist_ok=True)
    return duckdb_target(workdir)


@pytest.fixture(scope="session")
def built_postgres(shared_builds: SharedBuilds, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The same on PostgreSQL: this worker's throwaway database, a copy of the session's."""
    workdir = tmp_path_factory.mktemp("built_postgres")
    with shared_builds.built("postgres") as (shared, state):
        shutil.copytree(shared, workdir, dirs_exist_ok=True)
        target = postgres_target(workdir, template=state["dbname"])
    try:
        yield target
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


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def copy_of_built(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """Each target: a private copy of the built warehouse, for tests that write into it (a
    file copy, or a PostgreSQL database made with the built one as its template), with the
    built one's settings (its dbt target directory: dbt parses the project partially)."""
    built: Target = request.getfixturevalue(f"built_{request.param}")
    env = dict(built.env)
    if built.name == "duckdb":
        env["CHS_DUCKDB_PATH"] = str(tmp_path / "warehouse.duckdb")
        shutil.copy(built.env["CHS_DUCKDB_PATH"], env["CHS_DUCKDB_PATH"])
        yield Target("duckdb", env, tmp_path)
        return
    import psycopg

    env["CHS_PG_DBNAME"] = f"{built.env['CHS_PG_DBNAME']}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(**pg_connect_args(built.env | {"CHS_PG_DBNAME": "postgres"}), autocommit=True) as con:
        con.execute(f"create database {env['CHS_PG_DBNAME']} template {built.env['CHS_PG_DBNAME']}")
    target = Target("postgres", env, tmp_path)
    try:
        yield target
    finally:
        drop_postgres(target)


@pytest.fixture
def copy_of_built_duckdb(built_duckdb: Target, tmp_path: Path) -> Target:
    """A private copy of the built DuckDB warehouse, for tests that corrupt it."""
    target = duckdb_target(tmp_path)
    shutil.copy(built_duckdb.env["CHS_DUCKDB_PATH"], target.env["CHS_DUCKDB_PATH"])
    return target
