"""Landing into DuckDB: idempotence, revisions, atomicity and bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from loader import land as land_module
from loader.cli import main
from loader.land import land_paths
from loader.warehouse import DuckDBWarehouse
from tests.pytest.conftest import PROJECT_DIR, cells_in_files, extract_path, real_workbooks
from tests.pytest.workbooks import write_chs_workbook

TOTAL = "Total waiting list"


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "wh.duckdb"
    monkeypatch.setenv("CHS_DUCKDB_PATH", str(path))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(PROJECT_DIR))
    return path


def land(*paths: Path) -> int:
    return main(["land", "--target", "duckdb", *(str(p) for p in paths)])


def query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_same_file_twice_changes_nothing(tmp_path: Path, db_path: Path) -> None:
    path = write_chs_workbook(tmp_path / "a.xlsx", values={(TOTAL, "RJ7", "(A) Audiology"): 5})
    assert land(path) == 0
    before = query(db_path, "select count(*) from raw_chs.workbook_cells")
    copy = shutil.copy(path, tmp_path / "renamed copy.xlsx")  # same bytes, other name
    assert land(path, Path(copy)) == 0
    assert query(db_path, "select count(*) from raw_chs.workbook_cells") == before
    assert query(db_path, "select count(*) from raw_chs.load_log") == [(1,)]


def test_revised_month_replaces_and_log_keeps_both(tmp_path: Path, db_path: Path) -> None:
    first = write_chs_workbook(tmp_path / "first.xlsx", values={(TOTAL, "RJ7", "(A) Audiology"): 5})
    revised = write_chs_workbook(
        tmp_path / "revised.xlsx", revised="02/10/2025", values={(TOTAL, "RJ7", "(A) Audiology"): 6}
    )
    assert land(first) == 0
    assert land(revised) == 0
    log = query(db_path, "select file_name, release_status from raw_chs.load_log order by loaded_at, file_name")
    assert sorted(log) == [("first.xlsx", "superseded"), ("revised.xlsx", "current")]
    # only the revised release is current; the first is kept in the superseded table
    current = query(
        db_path,
        "select distinct l.file_name from raw_chs.workbook_cells c join raw_chs.load_log l using (file_sha256)",
    )
    assert current == [("revised.xlsx",)]
    assert query(db_path, "select count(*) > 0 from raw_chs.workbook_cells_superseded") == [(True,)]


def test_older_release_landed_later_does_not_win(tmp_path: Path, db_path: Path) -> None:
    newer = write_chs_workbook(tmp_path / "newer.xlsx", published="11/09/2025", revised="01/10/2025")
    older = write_chs_workbook(
        tmp_path / "older.xlsx", published="11/09/2025", values={(TOTAL, "NNV", "(A) Audiology"): 1}
    )
    assert land(newer) == 0
    assert land(older) == 0
    log = dict(query(db_path, "select file_name, release_status from raw_chs.load_log"))
    assert log == {"newer.xlsx": "current", "older.xlsx": "superseded"}


def test_bad_files_are_reported_and_good_ones_land(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_chs_workbook(tmp_path / "good.xlsx")
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(good.read_bytes()[:2000])
    text = tmp_path / "text.xlsx"
    text.write_text("not a workbook")
    rc = land(corrupt, good, text, tmp_path / "missing.xlsx")
    assert rc == 1
    err = capsys.readouterr().err
    assert "corrupt.xlsx: corrupt or unreadable workbook" in err
    assert "text.xlsx: not an .xlsx workbook" in err
    assert "missing.xlsx: no such file or directory" in err
    assert "Traceback" not in err
    assert query(db_path, "select file_name from raw_chs.load_log") == [("good.xlsx",)]


def test_failure_mid_file_leaves_earlier_files_intact(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [
        write_chs_workbook(tmp_path / f"{month}.xlsx", month=f"{month} 2025") for month in ("April", "May", "June")
    ]
    warehouse = DuckDBWarehouse(str(db_path))
    original = land_module.Warehouse.log_load

    def failing_log(self, record):  # type: ignore[no-untyped-def]
        if record["file_name"] == "June.xlsx":  # cells already inserted in this transaction
            raise RuntimeError("disk full")
        original(self, record)

    monkeypatch.setattr(land_module.Warehouse, "log_load", failing_log)
    with pytest.raises(RuntimeError):
        land_paths(warehouse, files)
    warehouse.close()
    assert query(db_path, "select count(*) from raw_chs.load_log") == [(2,)]
    cells_per_file = query(db_path, "select count(distinct file_sha256), count(*) from raw_chs.workbook_cells")
    assert cells_per_file[0][0] == 2
    # a retry lands the third file and skips the two already there
    monkeypatch.setattr(land_module.Warehouse, "log_load", original)
    assert land(*files) == 0
    assert query(db_path, "select count(*) from raw_chs.load_log") == [(3,)]


def test_extract_lands_verbatim_and_is_replaced(tmp_path: Path, db_path: Path) -> None:
    csv_path = tmp_path / "extract.csv"
    csv_path.write_text('trust_code,period,trust_name\nRJ7,2025-07-01,"ST GEORGE\'S, ""QUOTED"""\nRAX,2025-07-01,\n')
    assert land(csv_path) == 0
    rows = query(
        db_path,
        "select trust_code, trust_name, _row_number from raw_trust_metrics.trust_metrics_extract order by 3",
    )
    assert rows == [("RJ7", 'ST GEORGE\'S, "QUOTED"', 2), ("RAX", None, 3)]
    csv_path.write_text("trust_code,period\nRJ7,2025-08-01\n")
    assert land(csv_path) == 0
    assert query(db_path, "select count(*) from raw_trust_metrics.trust_metrics_extract") == [(1,)]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert land(bad) == 1
    assert query(db_path, "select count(*) from raw_trust_metrics.trust_metrics_extract") == [(1,)]


def test_all_real_workbooks_land_every_cell(tmp_path: Path, db_path: Path) -> None:
    """Counts in the warehouse equal counts read independently from the files."""
    expected_cells, expected_sheets = cells_in_files()
    assert land(real_workbooks()[0].parent, extract_path()) == 0
    assert query(
        db_path,
        "select count(*), count(distinct file_sha256), count(distinct file_sha256 || sheet_name) "
        "from raw_chs.workbook_cells",
    ) == [(expected_cells, 12, expected_sheets)]
    assert query(
        db_path,
        "select sum(cell_count), sum(sheet_count) from raw_chs.load_log where source_kind = 'chs_workbook'",
    ) == [(expected_cells, expected_sheets)]
    # a real value, verbatim: July 2025, Table 4, National, (A) Musculoskeletal service
    assert query(
        db_path,
        "select c.cell_text from raw_chs.workbook_cells c join raw_chs.load_log l using (file_sha256) "
        "where l.reporting_period = date '2025-07-01' and c.sheet_name = 'Table 4' "
        "and c.row_number = 6 and c.column_number = 10",
    ) == [("385593",)]
    assert query(db_path, "select count(*) from raw_trust_metrics.trust_metrics_extract") == [(1816,)]


def test_a_long_tmpdir_does_not_stop_the_reader(tmp_path: Path, db_path: Path) -> None:
    """The reader's server process listens on a Unix socket under TMPDIR (at most 107
    bytes of path): a deep TMPDIR, as CI runners have, still lands."""
    path = write_chs_workbook(tmp_path / "a.xlsx", values={(TOTAL, "RJ7", "(A) Audiology"): 5})
    deep = tmp_path / ("t" * 100)
    deep.mkdir()
    env = {**os.environ, "TMPDIR": str(deep), "CHS_DUCKDB_PATH": str(db_path)}
    command = [sys.executable, "-m", "loader", "land", "--target", "duckdb", str(path)]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "landed 1" in result.stdout + result.stderr
    assert list(deep.iterdir()) == []  # nothing left behind there
