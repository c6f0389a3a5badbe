"""`python -m loader build` (loader/build.py): one writer at a time, a DuckDB file held by
another program named in one line, quiet output with progress, dbt's node lines with -v."""

from __future__ import annotations

import os
import re

import duckdb

from loader.lock import warehouse_lock
from loader.profiles import load_connection
from tests.pytest.conftest import PROJECT_DIR, Target

ANSI = re.compile(r"\x1b\[")


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def test_a_second_writer_is_refused_in_one_line(fresh_duckdb: Target) -> None:
    """This process holds the writer lock (as a build, landing or release does): a build
    started meanwhile is refused before dbt starts, with one line naming the holder."""
    target = fresh_duckdb
    path = target.env["CHS_DUCKDB_PATH"]
    os.environ["CHS_DUCKDB_PATH"] = path
    try:
        connection = load_connection("duckdb", PROJECT_DIR)
    finally:
        del os.environ["CHS_DUCKDB_PATH"]
    with warehouse_lock(connection):
        for command in (("loader", "build"), ("loader", "land", str(PROJECT_DIR / "seeds"))):
            result = target.run(*command, check=False)
            assert result.returncode == 2, result.stdout + result.stderr
            [error] = error_lines(result.stderr)
            assert error.startswith(
                f"error: {path}: another build, release, publish or landing is running (pid {os.getpid()}, since "
            ), error
            assert error.endswith("; try again when it has finished")
            assert result.stdout == ""


def test_a_duckdb_file_open_elsewhere_is_named_in_one_line(fresh_duckdb: Target) -> None:
    """An analyst's DuckDB session holds the file: the build says what to close, not
    DuckDB's advice to open it read-only."""
    target = fresh_duckdb
    path = target.env["CHS_DUCKDB_PATH"]
    with duckdb.connect(path):
        for command in (("loader", "build"), ("loader", "dq-summary")):
            result = target.run(*command, check=False)
            assert result.returncode == 2, result.stdout + result.stderr
            assert error_lines(result.stderr) == [
                f"error: {path} is open in another program (pid {os.getpid()}): close it (an analyst's DuckDB "
                "session, a notebook, recce server) and run again"
            ]
            assert "read-only" not in result.stderr


def test_quiet_output_and_verbose_node_lines(copy_of_built_duckdb: Target) -> None:
    """Piped (not a terminal): no colour codes; progress lines and the summary, not dbt's
    START / OK lines, which -v (or CHS_VERBOSE=1) shows."""
    target = copy_of_built_duckdb
    quiet = target.run("loader", "build", "--select", "stg_chs__load_log")
    assert not ANSI.search(quiet.stdout + quiet.stderr)
    assert re.fullmatch(r"dbt: 4 nodes in \d+ s", quiet.stderr.splitlines()[-1]), quiet.stderr
    assert "START" not in quiet.stdout + quiet.stderr and " OK created" not in quiet.stdout
    assert quiet.stdout.startswith("last build: dbt build --select stg_chs__load_log on duckdb, ")
    assert len(quiet.stdout.splitlines()) == 4  # build, tests, a warning, the standing flags

    verbose = target.run("loader", "build", "-v", "--select", "stg_chs__load_log")
    assert not ANSI.search(verbose.stdout + verbose.stderr)
    assert re.search(r"\d of 4 OK created sql view model staging\.stg_chs__load_log", verbose.stdout), verbose.stdout
    assert "dbt: 4 nodes" not in verbose.stderr
    target.env["CHS_VERBOSE"] = "1"
    assert " OK created sql view model" in target.run("loader", "build", "--select", "stg_chs__load_log").stdout
