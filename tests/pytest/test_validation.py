"""The dbt validation tests fail on broken input: each case corrupts a copy of a built
warehouse (landed cells, a seed table, a model's table) and expects the specific test to fail.

Cases that edit landed cells rebuild with --full-refresh: the staging model is
incremental by release (a real revision arrives as a new file with a new SHA-256; editing
a landed release in place is only something a test does)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.pytest.conftest import PROJECT_DIR, Target

pytestmark = pytest.mark.e2e

JULY_TABLE_4 = (
    "file_sha256 = (select file_sha256 from raw_chs.load_log where reporting_period = date '2025-07-01') "
    "and sheet_name = 'Table 4'"
)


def failing_tests(target: Target, *dbt_args: str) -> str:
    result = target.run("dbt", *dbt_args, check=False)
    assert result.returncode != 0, result.stdout[-3000:]
    return result.stdout


def test_validation_passes_on_the_real_releases(copy_of_built_duckdb: Target) -> None:
    result = copy_of_built_duckdb.run("dbt", "test", "--vars", "{validate_all_releases: true}")
    assert "ERROR=0" in result.stdout


def test_staging_tests_check_the_releases_not_yet_pivoted(copy_of_built_duckdb: Target) -> None:
    """A monthly build checks staging rows of new releases only; a release stays in scope
    until it is pivoted (which a failing staging test prevents); the var checks them all."""
    target = copy_of_built_duckdb
    july = "(select file_sha256 from raw_chs.load_log where reporting_period = date '2025-07-01')"
    target.execute(
        "insert into staging.stg_chs__waiting_list_values "
        f"select * from staging.stg_chs__waiting_list_values where file_sha256 = {july} limit 1"
    )
    select = ("--select", "stg_chs__waiting_list_values,test_type:generic")
    assert "ERROR=0" in target.run("dbt", "test", *select).stdout  # July is pivoted: validated before

    output = failing_tests(target, "test", *select, "--vars", "{validate_all_releases: true}")
    assert "unique_combination_of_columns_stg_chs__waiting_list_values_file_sha256" in output

    target.execute(f"delete from intermediate.int_community_waits_pivoted where file_sha256 = {july}")
    output = failing_tests(target, "build", "--select", "stg_chs__waiting_list_values+")
    assert "unique_combination_of_columns_stg_chs__waiting_list_values_file_sha256" in output
    assert target.query(
        f"select count(*) from intermediate.int_community_waits_pivoted where file_sha256 = {july}"
    ) == [(0,)]  # the failing test kept July out of the pivot, so the next build checks it again


def test_unknown_service_label_stops_the_build_naming_it(copy_of_built_duckdb: Target) -> None:
    copy_of_built_duckdb.execute(
        "update raw_chs.workbook_cells set cell_text = '(A) Audiology (new)' "
        f"where {JULY_TABLE_4} and cell_text = '(A) Audiology'"
    )
    output = failing_tests(copy_of_built_duckdb, "build", "--full-refresh", "--select", "stg_chs__waiting_list_values+")
    assert "unknown service label (add it to seeds/chs_services.csv): (A) Audiology (new)" in output


def test_provider_value_changed_breaks_reconciliation(copy_of_built_duckdb: Target) -> None:
    # (A) Musculoskeletal service (column 10) of the first provider reporting it, July 2025
    copy_of_built_duckdb.execute(
        "update raw_chs.workbook_cells set cell_text = cast(cast(cell_text as integer) + 1000 as varchar) "
        f"where {JULY_TABLE_4} and column_number = 10 and row_number = ("
        f"  select min(row_number) from raw_chs.workbook_cells where {JULY_TABLE_4} "
        "   and column_number = 10 and cell_type = 'n' and row_number in ("
        f"    select row_number from raw_chs.workbook_cells where {JULY_TABLE_4} "
        "     and column_number = 1 and cell_text = 'Provider'))"
    )
    output = failing_tests(copy_of_built_duckdb, "build", "--full-refresh", "--select", "stg_chs__waiting_list_values+")
    assert "assert_community_waits__national_equals_sum_of_providers" in output
    assert "FAIL" in output


def test_missing_band_sheet_fails_the_band_sum_check(copy_of_built_duckdb: Target) -> None:
    # drop every weeks-waited band of three months: far more than the 5% the source explains
    copy_of_built_duckdb.execute(
        "delete from raw_chs.workbook_cells where sheet_name = 'Table 4d' and file_sha256 in ("
        "  select file_sha256 from raw_chs.load_log where reporting_period >= date '2025-05-01')"
    )
    output = failing_tests(copy_of_built_duckdb, "build", "--full-refresh", "--select", "stg_chs__waiting_list_values+")
    assert "community_waits__bands_sum_to_total__error" in output


def test_lost_community_data_fails_coverage(copy_of_built_duckdb: Target) -> None:
    copy_of_built_duckdb.execute(
        "update marts.trust_metrics set community_health_data = null "
        "where trust_code = 'RJ7' and period = date '2025-07-01'"
    )
    output = failing_tests(
        copy_of_built_duckdb, "test", "--select", "assert_trust_metrics__community_coverage_complete"
    )
    assert "Got 1 result" in output


def test_inconsistent_metadata_fails(copy_of_built_duckdb: Target) -> None:
    """The check reads the objects trust_metrics does not show yet: an object that differs
    from its trust_metrics row is checked, and the build does not publish it."""
    copy_of_built_duckdb.execute(
        "update intermediate.int_community_health_data_built set community_health_data = json_merge_patch("
        'community_health_data, \'{"metadata": {"services_reported": 99}}\') '
        "where trust_code = 'RJ7' and period = date '2025-07-01'"
    )
    check = "assert_community_health_data__metadata_matches_services"
    output = failing_tests(copy_of_built_duckdb, "build", "--select", f"{check} trust_metrics")
    assert "Got 1 result" in output
    assert "SKIP relation marts.trust_metrics" in output


def test_zero_turned_blank_fails(copy_of_built_duckdb: Target) -> None:
    """The pivot's tests check the releases not yet made into community_health_data: a
    release already taken in is not re-read by a monthly build, but is with the var, and
    is again once its community_health_data rows are gone."""
    target = copy_of_built_duckdb
    pivot = "intermediate.int_community_waits_pivoted"
    [(row, release)] = target.query(f"select rowid, file_sha256 from {pivot} where wait_0_1_weeks = 0 limit 1")
    target.execute(f"update {pivot} set wait_0_1_weeks = null where rowid = {row}")
    select = ("--select", "assert_community_waits__blanks_and_zeros_preserved")
    assert "ERROR=0" in target.run("dbt", "test", *select).stdout  # the release was taken in before

    output = failing_tests(target, "test", *select, "--vars", "{validate_all_releases: true}")
    assert "Got 1 result" in output

    target.execute(f"delete from intermediate.int_community_health_data_built where file_sha256 = '{release}'")
    output = failing_tests(target, "test", *select)
    assert "Got 1 result" in output


def test_mapping_to_unknown_trust_fails(copy_of_built_duckdb: Target) -> None:
    copy_of_built_duckdb.execute("update seeds.trust_mapping set trust_code = 'ZZZ' where org_code = 'RJ7'")
    output = failing_tests(
        copy_of_built_duckdb, "test", "--select", "assert_trust_mapping__mapped_trusts_in_trust_metrics"
    )
    assert "FAIL" in output


def test_duplicate_trust_month_fails_uniqueness(copy_of_built_duckdb: Target) -> None:
    copy_of_built_duckdb.execute(
        "insert into marts.trust_metrics select * from marts.trust_metrics where trust_code = 'RJ7' limit 1"
    )
    output = failing_tests(copy_of_built_duckdb, "test", "--select", "trust_metrics,test_type:generic")
    assert "unique_combination_of_columns_trust_metrics_trust_code__period" in output


def test_unmapped_provider_warns_with_a_proposal(copy_of_built_duckdb: Target) -> None:
    copy_of_built_duckdb.execute("delete from seeds.trust_mapping where org_code = 'RJ7'")
    copy_of_built_duckdb.run("dbt", "run", "--select", "trust_mapping_proposals")
    result = copy_of_built_duckdb.run("dbt", "test", "--select", "assert_trust_mapping__covers_every_provider")
    assert "WARN 1" in result.stdout
    rows = copy_of_built_duckdb.query("select org_code, trust_code, match_reason from marts.trust_mapping_proposals")
    assert rows == [("RJ7", "RJ7", "matched_by_code")]
    proposal = copy_of_built_duckdb.run("loader", "propose-mapping").stdout.splitlines()
    assert proposal[0] == "org_code,org_name,trust_code,match_reason,note"
    assert proposal[1].startswith("RJ7,ST GEORGE'S UNIVERSITY HOSPITALS NHS FOUNDATION TRUST,RJ7,matched_by_code,")
    assert len(proposal) == 2


def test_anomaly_tests_check_the_months_this_build_flagged(copy_of_built_duckdb: Target) -> None:
    """The flags model re-flags a month it does not hold and the month after it (whose
    comparison changed), reading those and the month before; its warn tests list the rows
    this build wrote, so a monthly build reports the new month's anomalies, not all of them."""
    target = copy_of_built_duckdb
    flags = "intermediate.int_organisation_months_flagged"
    anomaly_tests = ("organisation_months__zero_glitch", "organisation_months__large_change")
    result = target.run("dbt", "test", "--select", *anomaly_tests)
    assert "WARN=0" in result.stdout and "ERROR=0" in result.stdout  # flagged by an earlier build

    before = target.query(f"select * from {flags} order by org_level, org_code, period")
    target.execute(f"delete from {flags} where period = date '2025-05-01'")  # as if May had just landed
    result = target.run("dbt", "build", "--select", "int_organisation_months_flagged")
    assert "WARN 2 organisation_months__zero_glitch" in result.stdout  # RNA, provider and trust
    # RNA May (to zeros) and June (back), RTF May (x3.0), RTE June (1,509 to 22), each as
    # provider and trust; RXC May is rolled forward
    assert "WARN 8 organisation_months__large_change" in result.stdout
    assert "WARN 2 organisation_months__rolled_forward" in result.stdout
    assert target.query(
        "select org_level, org_code, cast(period as varchar) from dbt_test_audit.organisation_months__large_change "
        "order by 3, 2, 1"
    ) == [
        ("provider", "RNA", "2025-05-01"),
        ("trust", "RNA", "2025-05-01"),
        ("provider", "RTF", "2025-05-01"),
        ("trust", "RTF", "2025-05-01"),
        ("provider", "RNA", "2025-06-01"),
        ("trust", "RNA", "2025-06-01"),
        ("provider", "RTE", "2025-06-01"),
        ("trust", "RTE", "2025-06-01"),
    ]
    assert target.query(
        f"select distinct cast(period as varchar) from {flags} where flagged_by_invocation = ("
        f"  select flagged_by_invocation from {flags} where period = date '2025-05-01' limit 1) order by 1"
    ) == [("2025-05-01",), ("2025-06-01",)]
    # the same flags as before, every column but the invocation that wrote them
    after = target.query(f"select * from {flags} order by org_level, org_code, period")
    assert [row[:-1] for row in after] == [row[:-1] for row in before]


def test_successor_proposals_find_the_five_in_the_seed(copy_of_built_duckdb: Target) -> None:
    """Without seeds/trust_successors.csv's rows, propose-mapping proposes exactly them from
    the data: a provider that vanishes the month another's list grows by as much."""
    target = copy_of_built_duckdb
    target.execute("delete from seeds.trust_successors")
    proposals = target.query(
        "select predecessor_code, successor_code, cast(effective_period as varchar), change_kind "
        "from marts.trust_successor_proposals order by 1"
    )
    assert proposals == [
        ("AJX", "RXC", "2024-11-01", "service_transfer"),
        ("NWX", "RDR", "2024-12-01", "service_transfer"),
        ("R1C", "RW1", "2024-10-01", "merger"),
        ("RAP", "RAL", "2025-01-01", "merger"),
        ("RY9", "RAX", "2024-12-01", "merger"),
    ]
    mapping = target.run("loader", "propose-mapping")
    assert mapping.stdout == "org_code,org_name,trust_code,match_reason,note\n"  # the mapping itself is complete
    assert "5 row(s) proposed for seeds/trust_successors.csv: propose-mapping --seed trust_successors" in mapping.stderr
    output = target.run("loader", "propose-mapping", "--seed", "trust_successors").stdout.splitlines()
    assert output[0] == "predecessor_code,successor_code,effective_period,change_kind,source,evidence"
    assert len(output) == 6
    assert output[3].startswith("R1C,RW1,2024-10-01,merger,proposed for review")
    assert output[3] == (
        "R1C,RW1,2024-10-01,merger,proposed for review: confirm against the ODS successor record,"
        '"R1C last reported 2024-09 (17180); RW1 grew by 14197 in 2024-10, 82% of the list reappearing '
        'in the same services"'
    )


def test_successor_not_marked_in_the_mapping_fails(copy_of_built_duckdb: Target) -> None:
    copy_of_built_duckdb.execute(
        "update seeds.trust_mapping set match_reason = 'not_in_trust_metrics' where org_code = 'R1C'"
    )
    output = failing_tests(copy_of_built_duckdb, "test", "--select", "assert_trust_successors__agree_with_mapping")
    assert "Got 1 result" in output


def test_propose_mapping_writes_one_csv_per_seed(copy_of_built_duckdb: Target, tmp_path: Path) -> None:
    """--out DIR: one file per seed, each with its seed's header and columns, whose rows
    append to the seed and read back as the rows proposed."""
    target = copy_of_built_duckdb
    target.execute("delete from seeds.trust_mapping where org_code = 'RJ7'")
    target.execute("delete from seeds.trust_successors")
    target.run("dbt", "run", "--select", "trust_mapping_proposals")
    out = tmp_path / "proposals"
    result = target.run("loader", "propose-mapping", "--out", str(out))
    assert result.stdout.splitlines() == [
        f"{out / 'trust_mapping.csv'}: 1 row(s) proposed for seeds/trust_mapping.csv",
        f"{out / 'trust_successors.csv'}: 5 row(s) proposed for seeds/trust_successors.csv",
    ]
    expected = {"trust_mapping": ["RJ7"], "trust_successors": ["AJX", "NWX", "R1C", "RAP", "RY9"]}
    for seed, first_column in expected.items():
        seed_text = (PROJECT_DIR / "seeds" / f"{seed}.csv").read_text(encoding="utf-8")
        proposed = (out / f"{seed}.csv").read_text(encoding="utf-8")
        assert proposed.splitlines()[0] == seed_text.splitlines()[0]  # the seed's header
        assert seed_text.endswith("\n")
        appended = seed_text + "".join(proposed.splitlines(keepends=True)[1:])  # tail -n +2 FILE >> seed
        rows = list(csv.reader(io.StringIO(appended)))
        assert {len(row) for row in rows} == {len(rows[0])}  # every row has the seed's columns
        assert [row[0] for row in rows[len(seed_text.splitlines()) :]] == first_column
