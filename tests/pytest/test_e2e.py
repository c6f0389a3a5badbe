"""End to end on each target: the 12 real workbooks landed and built, checked against the files."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from tests.pytest.conftest import PROJECT_DIR, Target, cells_in_files, real_workbooks

pytestmark = pytest.mark.e2e

MEASURE_COLUMNS = {
    "Total waiting list": "total_waiting",
    "0-1 weeks (0-7 days)": "wait_0_1_weeks",
    "1-2 weeks (8-14 days)": "wait_1_2_weeks",
    "2-4 weeks (15-28 days)": "wait_2_4_weeks",
    "4-12 weeks (29-84 days)": "wait_4_12_weeks",
    "12-18 weeks (85-126 days)": "wait_12_18_weeks",
    "18-52 weeks (127-364 days)": "wait_18_52_weeks",
    "over 52 weeks (over 365 days)": "wait_52_plus_weeks",
    "52-104 weeks (365-728 days)": "wait_52_104_weeks",
    "over 104 weeks (over 2 years)": "wait_104_plus_weeks",
}


@cache
def published_provider_cells(month: str) -> dict[tuple[str, str, str], float | None]:
    """(org_code, service label, fct column) -> value, read straight from the workbook file."""
    path = next(p for p in real_workbooks() if p.stem.endswith(month))
    book = CalamineWorkbook.from_path(str(path))
    cells: dict[tuple[str, str, str], float | None] = {}
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        title = str(rows[0][0])
        if " by service, " not in title:
            continue
        measure = title.split(" by service, ")[0].replace("Number waiting ", "").replace(">", "")
        column = MEASURE_COLUMNS.get(measure)
        if column is None:
            continue
        header_index = next(i for i, row in enumerate(rows) if row and row[0] == "Organisation Type")
        header = rows[header_index]
        for row in rows[header_index + 1 :]:
            if row[0] != "Provider":
                continue
            for label, value in zip(header[3:], row[3:], strict=True):
                cells[(str(row[1]), str(label), column)] = None if value == "" else float(value)
    return cells


def fct_provider_cells(target: Target, period: str) -> dict[tuple[str, str, str], float | None]:
    columns = list(dict.fromkeys(MEASURE_COLUMNS.values()))
    rows = target.query(
        f"select org_code, service_label, {', '.join(columns)} from marts.fct_community_waits "
        f"where org_type = 'Provider' and period = date '{period}'"
    )
    result: dict[tuple[str, str, str], float | None] = {}
    for org_code, label, *values in rows:
        for column, value in zip(columns, values, strict=True):
            result[(str(org_code), str(label), column)] = None if value is None else float(value)  # type: ignore[arg-type]
    return result


@pytest.mark.parametrize(
    ("month", "period"),
    [
        ("2024-25-August", "2024-08-01"),  # over-52-weeks layout (Table 4g, no 4h)
        ("2024-25-January", "2025-01-01"),  # split layout, header row moved down a row
        ("2025-26-July", "2025-07-01"),  # split layout, latest month
    ],
)
def test_fct_matches_workbook_cell_for_cell(built: Target, month: str, period: str) -> None:
    published = published_provider_cells(month)
    modelled = fct_provider_cells(built, period)
    # every published provider cell equals the mart (blank = null, 0 = 0) ...
    mismatches = {
        key: (value, modelled.get(key, "missing"))
        for key, value in published.items()
        if modelled.get(key, "missing") != value
    }
    assert not mismatches, list(mismatches.items())[:10]
    # ... and the mart has no provider value the workbook does not (the derived
    # wait_52_plus_weeks of split months aside)
    extra = {
        key
        for key, value in modelled.items()
        if key not in published and value is not None and key[2] != "wait_52_plus_weeks"
    }
    assert not extra


def test_known_values(built: Target) -> None:
    rows = built.query(
        "select total_waiting, wait_52_plus_weeks, wait_52_104_weeks, wait_104_plus_weeks "
        "from marts.fct_community_waits where period = date '2025-07-01' and org_type = 'National' "
        "and service_key = 'msk_service'"
    )
    total, over_52, band_52_104, over_104 = rows[0]
    assert total == 385593
    assert over_52 == band_52_104 + over_104  # type: ignore[operator]
    # August 2024 publishes over-52 weeks directly and no split
    assert built.query(
        "select count(wait_52_plus_weeks) > 0, count(wait_52_104_weeks) from marts.fct_community_waits "
        "where period = date '2024-08-01'"
    ) == [(True, 0)]
    # every organisation row of every release: 12 months x 47 services x 190-204 rows
    assert built.query("select count(*), count(distinct period) from marts.fct_community_waits") == [(109557, 12)]


def community_json(target: Target, trust_code: str, period: str) -> dict[str, Any] | None:
    cast = "cast(community_health_data as varchar)" if target.name == "duckdb" else "community_health_data::text"
    rows = target.query(
        f"select {cast} from marts.trust_metrics where trust_code = '{trust_code}' and period = date '{period}'"
    )
    assert len(rows) == 1
    return None if rows[0][0] is None else json.loads(str(rows[0][0]))


def test_community_health_data_shape(built: Target) -> None:
    data = community_json(built, "RJ7", "2025-07-01")
    assert data is not None
    assert data["adult_services"]["neurorehabilitation"] == {
        "total_waiting": 46,
        "wait_0_1_weeks": 10,
        "wait_1_2_weeks": 4,
        "wait_2_4_weeks": 9,
        "wait_4_12_weeks": 20,
        "wait_12_18_weeks": 2,
        "wait_18_52_weeks": 1,
        "wait_52_plus_weeks": 0,
        "wait_52_104_weeks": 0,
        "wait_104_plus_weeks": 0,
    }
    assert set(data["adult_services"]) == {"ltc_falls", "neurorehabilitation"}  # blank services omitted
    assert data["cyp_services"] == {}
    assert data["metadata"] == {
        "last_updated": "2025-09-11",
        "services_reported": 2,
        "total_waiting_all_services": 70,
        "services_with_52plus_breaches": 0,
    }
    august = community_json(built, "RJ7", "2024-08-01")
    assert august is not None
    for service in august["adult_services"].values():
        assert "wait_52_104_weeks" not in service and "wait_52_plus_weeks" in service
    # a trust with no community provider has no community data
    assert community_json(built, "RA7", "2025-07-01") is None


def test_coverage_every_month(built: Target) -> None:
    rows = built.query(
        "select period, total_trusts, trusts_with_community_data from marts.community_period_coverage order by period"
    )
    assert len(rows) == 12
    assert all(total == 151 and 90 <= with_data <= 100 for _, total, with_data in rows)
    # July 2025, as stated in the README
    assert rows[-1][2] == 97
    json_text = "cast(community_health_data as varchar)" if built.name == "duckdb" else "community_health_data::text"
    totals = built.query(
        f"select {json_text} from marts.trust_metrics "
        "where period = date '2025-07-01' and community_health_data is not null"
    )
    services = sum(json.loads(str(r[0]))["metadata"]["services_reported"] for r in totals)
    waiting = sum(json.loads(str(r[0]))["metadata"]["total_waiting_all_services"] for r in totals)
    assert (services, waiting) == (1387, 751038)


def test_rebuild_gives_identical_json(built: Target) -> None:
    json_text = "cast(community_health_data as varchar)" if built.name == "duckdb" else "community_health_data::text"
    sql = f"select trust_code, period, {json_text} from marts.trust_metrics order by trust_code, period"
    before = built.query(sql)
    built.run("dbt", "run", "--full-refresh", "--select", "int_community_health_data_built+")
    assert built.query(sql) == before


def test_trust_metrics_unique_despite_duplicate_extract_rows(built: Target) -> None:
    assert built.query(
        "select count(*), count(distinct trust_code || cast(period as varchar)) from marts.trust_metrics"
    ) == [(1812, 1812)]
    assert built.query("select count(*) from raw_trust_metrics.trust_metrics_extract") == [(1816,)]


def test_loader_and_dbt_agree_on_every_month(built: Target) -> None:
    landed = built.query(
        "select reporting_period, sheet_count from raw_chs.load_log where source_kind = 'chs_workbook' order by 1"
    )
    assert len(landed) == 12
    assert [count for _, count in landed] == [13, 13, 13, 13] + [14] * 8


def test_source_freshness_on_the_load_log(built: Target) -> None:
    result = built.run("dbt", "source", "freshness")  # exits non-zero on an error-level stale source
    # only the load log has a loaded_at to judge by, and it was landed minutes ago
    assert "1 of 1 PASS freshness of raw_chs.load_log" in result.stdout


def test_relanding_is_a_no_op(built: Target) -> None:
    before = built.query("select count(*) from raw_chs.workbook_cells")
    result = built.run("loader", "land", str(real_workbooks()[0].parent))
    assert "landed 0, superseded 0, skipped 12" in result.stdout
    assert built.query("select count(*) from raw_chs.workbook_cells") == before


def test_analyses_compile_and_run(built: Target) -> None:
    """Every analysis compiles; each returns rows, but those that read the live
    trust_metrics table (publish_*, run by tests/pytest/test_publish.py)."""
    built.run("dbt", "compile", "--select", "analyses/*")
    compiled = sorted((built.workdir / "target" / "compiled" / "chs_waiting_lists" / "analyses").glob("*.sql"))
    assert [path.name for path in compiled] == sorted(path.name for path in (PROJECT_DIR / "analyses").glob("*.sql"))
    for path in compiled:
        if path.name.startswith("publish_"):
            continue
        rows = built.query(path.read_text())
        assert rows, f"{path.name} returned no rows"
    # the analyses that rank or list trusts cover every NHS trust provider, with a column
    # saying whether trust_metrics holds it (both kinds reach each list on the real data)
    for name in ("insourcing_targets.sql", "insourcing_opportunities.sql", "high_volume_services.sql"):
        sql = (built.workdir / "target" / "compiled" / "chs_waiting_lists" / "analyses" / name).read_text()
        kinds = built.query(f"select distinct in_trust_metrics from ({sql.strip().rstrip(';')}) as analysis")
        assert {kind for (kind,) in kinds} - {None} == {True, False}, name
    # RT5 (Leicestershire Partnership, not in trust_metrics) has the third most 52+ week waits of a service
    sql = (
        built.workdir / "target" / "compiled" / "chs_waiting_lists" / "analyses" / "insourcing_targets.sql"
    ).read_text()
    ranked = built.query(f"select trust_code, in_trust_metrics, wait_52_plus_weeks from ({sql}) as analysis")
    assert sorted(ranked, key=lambda row: -int(row[2]))[2] == ("RT5", False, 6022)  # type: ignore[arg-type]


def test_every_cell_of_every_sheet_landed(built: Target) -> None:
    cells, sheets = cells_in_files()
    assert built.query(
        "select count(*), count(distinct file_sha256 || ':' || cast(sheet_index as varchar)) "
        "from raw_chs.workbook_cells"
    ) == [(cells, sheets)]
    assert built.query("select count(*) from raw_trust_metrics.trust_metrics_extract") == [(1816,)]


def community_total(target: Target, trust_code: str, period: str) -> int:
    data = community_json(target, trust_code, period)
    assert data is not None
    return int(data["metadata"]["total_waiting_all_services"])


def test_successors_count_towards_their_trust_in_every_month(built: Target) -> None:
    """seeds/trust_successors.csv: a predecessor's figures count towards its successor's
    trust, before the change too, so the trust's series runs unbroken across it."""
    assert community_total(built, "RW1", "2024-08-01") == 15371 + 17180  # Southern Health + Solent (R1C)
    assert community_total(built, "RW1", "2024-08-01") == 32551
    assert community_total(built, "RAL", "2024-08-01") == 7368  # Royal Free + North Middlesex (RAP)
    assert community_total(built, "RAX", "2024-08-01") == 3492  # Hounslow and Richmond (RY9), as before
    assert community_total(built, "RXC", "2024-08-01") == 13056 + 4691  # + Sussex MSK Partnership East (AJX)
    # the month of the change: the successor alone, close to the month before's sum
    assert (community_total(built, "RW1", "2024-09-01"), community_total(built, "RW1", "2024-10-01")) == (
        32567,
        29584,
    )
    assert built.query(
        "select distinct org_code, trust_code from marts.fct_community_waits "
        "where org_code in ('R1C', 'RAP', 'RY9', 'AJX', 'NWX') order by org_code"
    ) == [("AJX", "RXC"), ("NWX", "RDR"), ("R1C", "RW1"), ("RAP", "RAL"), ("RY9", "RAX")]


def flagged(target: Target, flag: str, org_level: str) -> set[tuple[str, str]]:
    rows = target.query(
        f"select org_code, cast(period as varchar) from intermediate.int_organisation_months_flagged "
        f"where {flag} and org_level = '{org_level}'"
    )
    return {(str(code), str(period)[:7]) for code, period in rows}


def test_anomaly_flags_on_the_real_releases(built: Target) -> None:
    # RNA (Dudley) May 2025: 11 services at 0 between 4,548 and 5,089; RY7 October 2024 too
    assert flagged(built, "is_zero_glitch", "provider") == {("RNA", "2025-05"), ("RY7", "2024-10")}
    assert flagged(built, "is_zero_glitch", "trust") == {("RNA", "2025-05")}  # RY7 maps to no trust
    rolled_forward = flagged(built, "is_rolled_forward", "provider")
    assert {("RXC", f"2025-0{m}") for m in range(1, 6)} <= rolled_forward  # 17,099 from December to May
    assert {("RW1", f"2025-0{m}") for m in range(1, 4)} <= rolled_forward  # 26,769 from December to March
    assert {("RY8", "2025-03"), ("RY8", "2025-04"), ("R1C", "2024-09")} <= rolled_forward
    assert len(rolled_forward) == 23  # provider-months with a list over 100
    # changes of a trust's total beyond x2 or x0.5 (lists over 500): none a successor explains
    assert flagged(built, "is_large_change", "trust") == {
        ("R1D", "2024-10"),
        ("RYR", "2024-10"),
        ("R1K", "2024-11"),
        ("RXR", "2025-01"),
        ("RDU", "2025-02"),
        ("R1K", "2025-03"),
        ("RX1", "2025-04"),
        ("RTF", "2025-05"),
        ("RNA", "2025-05"),
        ("RNA", "2025-06"),  # back from the zero month
        ("RTE", "2025-06"),
    }
    causes = built.query(
        "select org_level, org_code, cast(period as varchar), is_large_change, likely_cause "
        "from intermediate.int_organisation_months_flagged "
        "where likely_cause is not null and org_code in ('RAL', 'RNA') order by 1, 2, 3"
    )
    assert [(level, code, str(period)[:7], change, cause) for level, code, period, change, cause in causes] == [
        ("provider", "RAL", "2025-01", True, "merger: RAP to RAL from 2025-01-01"),  # x5.85 as published
        ("provider", "RNA", "2025-06", True, "month before published as zeros"),
        ("trust", "RAL", "2025-01", False, "merger: RAP to RAL from 2025-01-01"),  # 7,522 -> 7,979
        ("trust", "RNA", "2025-06", True, "month before published as zeros"),
    ]
    # the fct carries the provider-month's flags on each of its rows, Provider rows only
    assert built.query(
        "select org_type, count(*), count(is_zero_glitch), sum(case when is_zero_glitch then 1 else 0 end) "
        "from marts.fct_community_waits where period = date '2025-05-01' and org_code in ('RNA', 'Y56') "
        "group by org_type order by org_type"
    ) == [("Provider", 47, 47, 47), ("Region", 47, 0, 0)]


def test_anomaly_tests_list_the_flagged_months(built: Target) -> None:
    """The warn tests store one row per flagged organisation-month, naming it, its figures
    and the likely cause; with the var they read every month."""
    tests = "organisation_months__zero_glitch organisation_months__rolled_forward organisation_months__large_change"
    result = built.run("dbt", "test", "--select", *tests.split(), "--vars", "{validate_all_releases: true}")
    assert "WARN 3 organisation_months__zero_glitch" in result.stdout
    assert "WARN 39 organisation_months__rolled_forward" in result.stdout  # 23 providers, 16 trusts
    assert "WARN 27 organisation_months__large_change" in result.stdout  # 16 providers, 11 trusts
    rows = built.query(
        "select org_level, org_code, org_name, cast(period as varchar), previous_total_waiting, total_waiting "
        "from dbt_test_audit.organisation_months__zero_glitch order by 1, 2"
    )
    assert [(level, code, name, str(period), before, after) for level, code, name, period, before, after in rows] == [
        ("provider", "RNA", "THE DUDLEY GROUP NHS FOUNDATION TRUST", "2025-05-01", 4548, 0),
        ("provider", "RY7", "WIRRAL COMMUNITY HEALTH AND CARE NHS FOUNDATION TRUST", "2024-10-01", 6706, 0),
        ("trust", "RNA", "THE DUDLEY GROUP NHS FOUNDATION TRUST", "2025-05-01", 4548, 0),
    ]
