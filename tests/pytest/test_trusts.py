"""Every NHS trust in the analyst views (issue 24 parts 2-3, issue 23 part 7): the trust mart
and the level views on the real July 2025 data, the restated series' metadata on both
targets, and the trust mart's check failing on a provider that is not an NHS trust. The
queries of docs/marts.md and docs/data-quality.md that show these figures run, with their
expected results, in test_documentation.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.pytest.conftest import Target

pytestmark = pytest.mark.e2e

JULY = "date '2025-07-01'"


def test_trust_mart_covers_every_nhs_trust(built: Target) -> None:
    """July 2025: the 97 trusts of trust_metrics hold community_health_data's 751,038; the 26
    NHS trusts trust_metrics has no row for 305,057 and 21,114 over 52 weeks; the 21
    providers that are not NHS trusts (136,084) are not in the mart."""
    assert built.query(
        "select in_trust_metrics, count(distinct trust_code), sum(total_waiting), sum(wait_52_plus_weeks) "
        f"from marts.fct_trust_community_waits where period = {JULY} group by in_trust_metrics order by 1"
    ) == [(False, 26, 305_057, 21_114), (True, 97, 751_038, 57_634)]
    assert built.query(
        "select count(distinct org_code), sum(total_waiting), sum(wait_52_plus_weeks) "
        f"from marts.fct_provider_community_waits where period = {JULY} and match_reason = 'not_an_nhs_trust'"
    ) == [(21, 136_084, 10_759)]
    assert built.query(
        "select count(*) from marts.fct_trust_community_waits as trusts "
        "inner join seeds.trust_mapping as mapping on trusts.trust_code = mapping.org_code "
        "where mapping.match_reason = 'not_an_nhs_trust'"
    ) == [(0,)]
    # the third most 52+ week waits: Leicestershire Partnership, outside trust_metrics, named
    ranked = built.query(
        "select trust_code, trust_name, in_trust_metrics, sum(wait_52_plus_weeks) as waits "
        f"from marts.fct_trust_community_waits where period = {JULY} "
        "group by trust_code, trust_name, in_trust_metrics order by waits desc, trust_code limit 3"
    )
    assert ranked == [
        ("RYW", "BIRMINGHAM COMMUNITY HEALTHCARE NHS FOUNDATION TRUST", True, 10_277),
        ("RCU", "SHEFFIELD CHILDREN'S NHS FOUNDATION TRUST", True, 9_157),
        ("RT5", "LEICESTERSHIRE PARTNERSHIP NHS TRUST", False, 6_022),
    ]
    # successors applied as in the trust series: RW1's August 2024 is Southern Health's and Solent's
    assert built.query(
        "select sum(total_waiting), max(provider_count) from marts.fct_trust_community_waits "
        "where trust_code = 'RW1' and period = date '2024-08-01'"
    ) == [(32_551, 2)]
    # a trust of trust_metrics has its ICB there; a trust outside it has none (the workbooks give none)
    assert built.query(
        "select in_trust_metrics, count(distinct trust_code), count(distinct case when icb_code is not null "
        f"then trust_code end) from marts.fct_trust_community_waits where period = {JULY} group by 1 order by 1"
    ) == [(False, 26, 0), (True, 97, 79)]


def test_level_views_hold_one_level_each(built: Target) -> None:
    levels = {
        "National": "fct_national_community_waits",
        "Region": "fct_region_community_waits",
        "ICB": "fct_icb_community_waits",
        "Provider": "fct_provider_community_waits",
    }
    mixed = dict(built.query("select org_type, count(*) from marts.fct_community_waits group by org_type"))
    for org_type, view in levels.items():
        assert built.query(f"select count(*) from marts.{view}") == [(mixed[org_type],)], view
    assert built.query(f"select sum(total_waiting) from marts.fct_national_community_waits where period = {JULY}") == [
        (1_195_895,)
    ]
    assert built.query(
        f"select count(distinct region_code) from marts.fct_region_community_waits where period = {JULY}"
    ) == [(7,)]


def metadata_by_trust_month(target: Target) -> dict[tuple[str, str], dict[str, Any]]:
    text = "cast(community_health_data as varchar)" if target.name == "duckdb" else "community_health_data::text"
    rows = target.query(
        f"select trust_code, cast(period as varchar), {text} from marts.trust_metrics "
        "where community_health_data is not null"
    )
    return {(str(code), str(period)[:7]): json.loads(str(data))["metadata"] for code, period, data in rows}


def test_restated_series_name_their_predecessors(built: Target) -> None:
    """seeds/trust_successors.csv: a trust-month that counts a predecessor's own rows says so
    in metadata.restated_from; the other trust-months and the other keys are unchanged."""
    metadata = metadata_by_trust_month(built)
    restated = {key for key, value in metadata.items() if "restated_from" in value}
    assert restated == (
        {("RW1", f"2024-{m:02d}") for m in (8, 9)}  # Solent (R1C) until its last month, September
        | {("RXC", f"2024-{m:02d}") for m in (8, 9, 10)}  # Sussex MSK Partnership East (AJX)
        | {("RDR", f"2024-{m:02d}") for m in (8, 9, 10, 11)}  # Here (NWX)
        | {("RAX", f"2024-{m:02d}") for m in (8, 9, 10, 11)}  # Hounslow and Richmond (RY9)
        | {("RAL", f"2024-{m:02d}") for m in (8, 9, 10, 11, 12)}  # North Middlesex (RAP)
    )
    assert metadata[("RDR", "2024-11")]["restated_from"] == [
        {
            "predecessor_code": "NWX",
            "change_kind": "service_transfer",
            "effective_period": "2024-12-01",
            "total_waiting": 7998,
        }
    ]
    assert metadata[("RW1", "2024-08")]["restated_from"] == [
        {"predecessor_code": "R1C", "change_kind": "merger", "effective_period": "2024-10-01", "total_waiting": 17180}
    ]
    assert set(metadata[("RDR", "2024-12")]) == {  # from the change on, the successor's own figure
        "last_updated",
        "services_reported",
        "total_waiting_all_services",
        "services_with_52plus_breaches",
    }
    # NHS England's figure for the trust's own code is the total less the predecessors'
    [(published,)] = built.query(
        "select sum(total_waiting) from marts.fct_provider_community_waits "
        "where org_code = 'RDR' and period = date '2024-11-01'"
    )
    november = metadata[("RDR", "2024-11")]
    assert november["total_waiting_all_services"] - november["restated_from"][0]["total_waiting"] == published == 18046


@pytest.mark.postgres
def test_restated_metadata_same_on_both_targets(built_duckdb: Target, built_postgres: Target) -> None:
    duckdb_metadata, postgres_metadata = metadata_by_trust_month(built_duckdb), metadata_by_trust_month(built_postgres)
    assert sum("restated_from" in value for value in duckdb_metadata.values()) == 18
    assert duckdb_metadata == postgres_metadata


def test_trust_mart_check_fails_on_a_provider_that_is_not_a_trust(copy_of_built_duckdb: Target) -> None:
    """The mart's check reads the months a build flagged: after a build with nothing new it
    reads none; with the var it reads every month and fails when a provider that is not an
    NHS trust (East Coast Community Healthcare CIC, NAX) is counted as one."""
    target = copy_of_built_duckdb
    target.execute(
        "alter view intermediate.int_trust_mapping_resolved rename to int_trust_mapping_resolved_as_built; "
        "create view intermediate.int_trust_mapping_resolved as select org_code, org_name, match_reason, "
        "mapped_trust_code, successor_code, successor_effective_period, successor_change_kind, trust_code, "
        "case when org_code = 'NAX' then 'NAX' else nhs_trust_code end as nhs_trust_code, "
        "case when org_code = 'NAX' then false else in_trust_metrics end as in_trust_metrics "
        "from intermediate.int_trust_mapping_resolved_as_built"
    )
    check = ("--select", "assert_fct_trust_community_waits__equals_nhs_trust_providers")
    assert "ERROR=0" in target.run("dbt", "test", *check).stdout  # no month flagged by this run
    result = target.run("dbt", "test", *check, "--vars", "{validate_all_releases: true}", check=False)
    assert result.returncode != 0
    assert "Got 180 results" in result.stdout  # the 12 months differ, and 168 rows of NAX as a trust
