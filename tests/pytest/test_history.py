"""Longer history: workbooks older than the trust_metrics source, and backfills in batches.

trust_metrics holds only the months its source covers; the community marts hold every
month landed; a full build with older months passes and records its fingerprint, so the
releases after it build selectively again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.pytest.conftest import Target, extract_path, real_workbooks
from tests.pytest.workbooks import write_chs_workbook

pytestmark = pytest.mark.e2e

TOTAL = "Total waiting list"
BAND = "Number waiting 0-1 weeks (0-7 days)"


def older_month(directory: Path, month: str, published: str) -> Path:
    """A small workbook for a month before the extract: RJ7 (a mapped trust) and National."""
    values = {(measure, org, "(A) Audiology"): 7 for measure in (TOTAL, BAND) for org in ("RJ7", "England")}
    return write_chs_workbook(directory / f"older-{month.replace(' ', '-')}.xlsx", month, published, values=values)


def months(target: Target, relation: str) -> int:
    return int(target.query(f"select count(distinct period) from {relation}")[0][0])


def release(target: Target, data_dir: Path) -> str:
    result = target.run(
        "loader", "release", "--no-fetch", "--data-dir", str(data_dir), "--extract", str(extract_path())
    )
    return result.stdout


def test_months_before_the_extract(copy_of_built_duckdb: Target, tmp_path: Path) -> None:
    target = copy_of_built_duckdb
    data_dir = tmp_path / "workbooks"
    data_dir.mkdir()
    for workbook in real_workbooks():
        (data_dir / workbook.name).symlink_to(workbook)
    older_month(data_dir, "June 2024", "11/07/2024")
    older_month(data_dir, "July 2024", "08/08/2024")

    out = release(target, data_dir)  # exits 0: every test passed
    assert "dbt build --vars {validate_all_releases: true}" in out  # first release here: a full build
    assert target.query("select count(*) from raw_chs.full_build_log") == [(1,)]
    assert months(target, "marts.fct_community_waits") == 14
    assert months(target, "marts.trust_metrics") == 12  # the extract's months only
    assert target.query(
        "select period, cast(json_extract_string(community_health_data, '$.adult_services.audiology.total_waiting') "
        "as int) from intermediate.int_community_health_data_built where trust_code = 'RJ7' "
        "and period < date '2024-08-01' order by period"
    ) == [(dt.date(2024, 6, 1), 7), (dt.date(2024, 7, 1), 7)]

    older_month(data_dir, "May 2024", "13/06/2024")
    out = release(target, data_dir)
    assert "(project unchanged since its last full build)" in out  # selective again
    assert "0 failed, 0 errored" in out
    assert months(target, "marts.fct_community_waits") == 15
    assert months(target, "marts.trust_metrics") == 12


def test_backfill_in_batches_equals_one_batch(copy_of_built: Target) -> None:
    """The 12 real months rebuilt five releases at a time (three statements per model: the
    model's and two batches in its post-hook) give the same rows as in one go."""
    target = copy_of_built
    tables = {
        "staging.stg_chs__waiting_list_values": "file_sha256, sheet_name, sheet_row, sheet_column",
        "intermediate.int_community_waits_pivoted": "period, org_type, org_code, service_label",
        "intermediate.int_community_health_data_built": "trust_code, period",
    }
    row_hash = "hash(t)" if target.name == "duckdb" else "hashtext(t::text)::bigint"

    def fingerprints() -> dict[str, object]:
        return {table: target.query(f"select count(*), sum({row_hash}) from {table} as t")[0] for table in tables}

    before = fingerprints()
    # with the views between them: on PostgreSQL a rebuilt table takes its dependent views with it
    selected = f"+{list(tables)[-1].split('.')[1]}"
    target.run("dbt", "run", "--full-refresh", "--select", selected, "--vars", "{releases_per_batch: 5}")
    assert fingerprints() == before
