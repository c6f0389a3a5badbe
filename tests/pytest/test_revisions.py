"""A revised release flows through the incremental models: the marts show the newest
release of a month, and nothing of the release it replaced."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.pytest.conftest import (
    PROJECT_DIR,
    Target,
    drop_postgres,
    duckdb_target,
    extract_path,
    postgres_target,
    real_workbooks,
)
from tests.pytest.workbooks import write_chs_workbook

pytestmark = pytest.mark.e2e

TOTAL = "Total waiting list"


def test_revision_replaces_month_in_marts(fresh_duckdb: Target, tmp_path: Path) -> None:
    extract = tmp_path / "extract.csv"
    extract.write_text(
        "trust_code,trust_name,period,icb_code,icb_name,rtt_trust_total_incomplete_pathways\n"
        "RJ7,ST GEORGE'S,2025-07-01,QWE,SOUTH WEST LONDON,100\n"
    )
    first = write_chs_workbook(tmp_path / "first.xlsx", values={(TOTAL, "RJ7", "(A) Audiology"): 5})
    fresh_duckdb.run("loader", "land", str(first), str(extract))
    fresh_duckdb.run("dbt", "seed")
    fresh_duckdb.run("dbt", "run")
    sql = (
        "select total_waiting, source_file_sha256 from marts.fct_community_waits "
        "where org_code = 'RJ7' and service_key = 'audiology' and service_category = 'adult'"
    )
    assert fresh_duckdb.query(sql)[0][0] == 5

    revised = write_chs_workbook(
        tmp_path / "revised.xlsx", revised="02/10/2025", values={(TOTAL, "RJ7", "(A) Audiology"): 6}
    )
    fresh_duckdb.run("loader", "land", str(revised))
    fresh_duckdb.run("dbt", "run")  # incremental: only the new release is reshaped
    (total, sha), *others = fresh_duckdb.query(sql)
    assert (total, others) == (6, [])
    current = fresh_duckdb.query(
        "select file_sha256 from raw_chs.load_log where release_status = 'current' and source_kind = 'chs_workbook'"
    )
    assert current == [(sha,)]
    assert fresh_duckdb.query("select count(distinct file_sha256) from staging.stg_chs__waiting_list_values") == [(1,)]
    assert fresh_duckdb.query(
        "select cast(json_extract_string(community_health_data, '$.adult_services.audiology.total_waiting') as int), "
        "json_extract_string(community_health_data, '$.metadata.last_updated') "
        "from marts.trust_metrics where trust_code = 'RJ7'"
    ) == [(6, "2025-10-02")]


def project_copy(tmp_path: Path) -> Path:
    """A copy of the dbt project whose seeds a test may edit."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "packages.yml", ".dbtignore"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for name in ("models", "seeds", "macros", "analyses", "tests/generic", "tests/validation"):
        shutil.copytree(PROJECT_DIR / name, project / name)
    return project


def test_seed_edit_reprocesses_every_release(copy_of_built_duckdb: Target, tmp_path: Path) -> None:
    """The pivot is incremental; a changed services seed must still reach every month."""
    project = project_copy(tmp_path)
    services = project / "seeds" / "chs_services.csv"
    services.write_text(services.read_text().replace(",adult,msk_service,", ",adult,msk,"))
    copy_of_built_duckdb.project_dir = project
    copy_of_built_duckdb.run("dbt", "build")
    assert copy_of_built_duckdb.query(
        "select count(distinct period) from marts.fct_community_waits where service_key = 'msk'"
    ) == [(12,)]
    assert copy_of_built_duckdb.query(
        "select count(*) from marts.fct_community_waits where service_key = 'msk_service'"
    ) == [(0,)]
    assert copy_of_built_duckdb.query("select count(*) from intermediate.int_community_waits_pivoted") == [(109557,)]
    assert copy_of_built_duckdb.query(
        "select count(distinct period) from marts.trust_metrics "
        "where json_extract(community_health_data, '$.adult_services.msk') is not null"
    ) == [(12,)]


def test_mapping_edit_remakes_community_data_of_every_month(copy_of_built_duckdb: Target, tmp_path: Path) -> None:
    """community_health_data is incremental by release; a trust_mapping edit must reach every month."""
    project = project_copy(tmp_path)
    mapping = project / "seeds" / "trust_mapping.csv"
    row = "RJ7,ST GEORGE'S UNIVERSITY HOSPITALS NHS FOUNDATION TRUST,"
    assert f"{row}RJ7,matched_by_code," in mapping.read_text()
    mapping.write_text(mapping.read_text().replace(f"{row}RJ7,matched_by_code,", f"{row},not_an_nhs_trust,test"))
    sql = "select count(*) from marts.trust_metrics where trust_code = 'RJ7' and community_health_data is not null"
    assert copy_of_built_duckdb.query(sql) == [(12,)]
    copy_of_built_duckdb.project_dir = project
    copy_of_built_duckdb.run("dbt", "build")
    assert copy_of_built_duckdb.query(sql) == [(0,)]
    assert copy_of_built_duckdb.query(
        "select count(distinct period), count(distinct seeds_checksum) "
        "from intermediate.int_community_health_data_built"
    ) == [(12, 1)]


@pytest.mark.parametrize("target_name", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_new_extract_with_a_new_column_flows_through_a_release(target_name: str, tmp_path: Path) -> None:
    """The extract is replaced, not appended to, and its columns can change: its staging
    view is dropped with the old table (PostgreSQL would refuse otherwise) and rebuilt;
    trust_metrics (incremental by difference) rewrites every changed row and drops the
    trust-months that left the extract."""
    target = duckdb_target(tmp_path) if target_name == "duckdb" else postgres_target(tmp_path)
    try:
        data = tmp_path / "data"
        data.mkdir()
        july = next(p for p in real_workbooks() if p.name.endswith("2025-26-July.xlsx"))
        (data / july.name).symlink_to(july)
        release = ("loader", "release", "--no-fetch", "--data-dir", str(data), "--extract")
        target.run(*release, str(extract_path()))

        with extract_path().open(newline="", encoding="utf-8") as source:
            rows = list(csv.reader(source))
        new_extract = tmp_path / "trust_metrics_extract_v2.csv"
        kept = [row for row in rows[1:] if row[0] != "RA7"]  # and RA7 (no community provider) leaves
        with new_extract.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([[*rows[0], "rtt_added_metric"], *([*row, "42"] for row in kept)])
        result = target.run(*release, str(new_extract))

        assert (
            "\ndbt build --select source:raw_trust_metrics+ --indirect-selection empty"
            " --exclude-resource-type unit_test  (project unchanged" in result.stdout
        )
        assert ", 0 failed, 0 errored" in result.stdout
        assert target.query(
            "select count(*), count(*) filter (where cast(rtt_data ->> 'rtt_added_metric' as float) = 42), "
            "count(*) filter (where trust_code = 'RA7') from marts.trust_metrics"
        ) == [(1800, 1800, 0)]
    finally:
        if target_name == "postgres":
            drop_postgres(target)
