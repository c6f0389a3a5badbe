"""Service steps (int_service_months_flagged) on the 12 real months, both targets: the
steps the workbooks show are flagged with their figures, and the capacity mart takes no
flow from them. The rule's bounds are dbt unit tests (models/intermediate/_int__models.yml)."""

from __future__ import annotations

import pytest

from tests.pytest.conftest import Target
from tests.pytest.test_e2e import published_provider_cells

pytestmark = pytest.mark.e2e

PAEDIATRICS = "(CYP) Community paediatric service"
MSK = "(A) Musculoskeletal service"
CONTINENCE = "(A) Nursing and Therapy support for LTCs: Continence/ colostomy"

# flagged service months per month on the 12 real months (provider, trust): the figures
# dbt_project.yml gives for the bounds
STEPS_PER_MONTH = {
    "2024-09-01": (4, 4),
    "2024-10-01": (6, 2),
    "2024-12-01": (2, 0),
    "2025-01-01": (4, 3),
    "2025-03-01": (1, 1),
    "2025-05-01": (1, 1),
    "2025-06-01": (5, 3),
    "2025-07-01": (2, 1),
}


def workbook_total(month: str, org_code: str, label: str) -> float | None:
    return published_provider_cells(month).get((org_code, label, "total_waiting"))


def service_month(target: Target, org_level: str, org_code: str, service_key: str, period: str) -> tuple[object, ...]:
    rows = target.query(
        "select previous_total_waiting, total_waiting, change_ratio, is_service_step, likely_cause "
        "from intermediate.int_service_months_flagged "
        f"where org_level = '{org_level}' and org_code = '{org_code}' and service_key = '{service_key}' "
        f"and period = date '{period}'"
    )
    assert len(rows) == 1
    previous, total, ratio, is_step, cause = rows[0]
    return previous, total, None if ratio is None else round(float(str(ratio)), 2), is_step, cause


def test_birmingham_community_paediatrics_step_is_flagged(built: Target) -> None:
    """BCHC (RYW) reported a caseload in CYP community paediatrics in January 2025 it had
    not reported before: the service x13 while the provider's whole list grew x1.7, under
    the organisation's x2 bound."""
    december = workbook_total("2024-25-December", "RYW", PAEDIATRICS)
    january = workbook_total("2024-25-January", "RYW", PAEDIATRICS)
    assert (december, january) == (1310, 17091)
    for org_level in ("provider", "trust"):
        assert service_month(built, org_level, "RYW", "community_paediatrics", "2025-01-01") == (
            1310,
            17091,
            13.05,
            True,
            "step in one service: reporting change likely",
        )
    assert built.query(
        "select previous_total_waiting, total_waiting, is_large_change "
        "from intermediate.int_organisation_months_flagged "
        "where org_level = 'provider' and org_code = 'RYW' and period = date '2025-01-01'"
    ) == [(22552, 38402, False)]
    # fct_community_waits carries the flag on the provider's row
    assert built.query(
        "select is_flagged_service_month, service_likely_cause from marts.fct_community_waits "
        "where org_type = 'Provider' and org_code = 'RYW' and service_key = 'community_paediatrics' "
        "and period = date '2025-01-01'"
    ) == [(True, "step in one service: reporting change likely")]


def test_shropshire_msk_list_moved_to_continence_is_flagged(built: Target) -> None:
    """Shropshire Community (R1D), September 2024: its MSK list appears under continence,
    and goes back in October; each step names the other service."""
    assert [workbook_total(month, "R1D", label) for month in ("2024-25-August", "2024-25-September")
            for label in (MSK, CONTINENCE)] == [12681, 134, 1654, 12411]  # fmt: skip
    assert service_month(built, "provider", "R1D", "msk_service", "2024-09-01") == (
        12681,
        1654,
        0.13,
        True,
        "list moved between services (adult.ltc_continence stepped the other way)",
    )
    assert service_month(built, "provider", "R1D", "ltc_continence", "2024-09-01") == (
        134,
        12411,
        92.62,
        True,
        "list moved between services (adult.msk_service stepped the other way)",
    )


def test_steps_per_month_on_the_real_data(built: Target) -> None:
    rows = built.query(
        "select cast(period as varchar), count(*) filter (where org_level = 'provider'), "
        "count(*) filter (where org_level = 'trust') "
        "from intermediate.int_service_months_flagged where is_service_step group by period order by period"
    )
    assert {period: (providers, trusts) for period, providers, trusts in rows} == STEPS_PER_MONTH


def test_capacity_takes_no_flow_from_a_step(built: Target) -> None:
    """BCHC's community paediatrics: January gives no demand and no removals, February no
    removals (its flow starts from January's list); before the flag, the step read as three
    months of removals of -1,091 to -1,151 a week. February's removals are December's alone:
    (1,149 + 74 x 1.1 x 31/7 - 1,310) / (31/7) = 45.05."""
    for org_level in ("Provider", "Trust"):
        rows = built.query(
            "select cast(period as varchar), is_flagged_service_month, is_flagged_month, demand_months, "
            "removal_months, weekly_removals, is_removals_negative from marts.fct_waiting_list_capacity "
            f"where org_level = '{org_level}' and org_code = 'RYW' and service_key = 'community_paediatrics' "
            "and period between date '2025-01-01' and date '2025-03-01' order by period"
        )
        assert rows == [
            ("2025-01-01", True, False, 2, 2, 70.74, False),
            ("2025-02-01", False, False, 2, 1, 45.05, False),
            ("2025-03-01", False, False, 2, 1, 90.85, False),
        ], org_level
    # the series the projection calibrates on reads the same column
    assert built.query(
        "select is_usable_for_flows, is_flagged_service_month, is_flagged_organisation_month "
        "from intermediate.int_waiting_list_series_unioned where org_level = 'Trust' and org_code = 'RYW' "
        "and service_key = 'community_paediatrics' and period = date '2025-01-01'"
    ) == [(False, True, False)]


def test_the_report_lists_the_month_s_steps(built: Target) -> None:
    assert built.query(
        "select org_level, org_code, service_key, previous_total_waiting, total_waiting, change_ratio, likely_cause "
        "from marts.rpt_release_service_steps where period = date '2025-07-01' order by org_level, org_code"
    ) == [
        (
            "provider",
            "RXQ",
            "msk_service",
            0,
            1494,
            None,
            "0 the month before: service reported for the first time, or again",
        ),
        ("provider", "RY5", "ltc_continence", 68, 1402, 20.62, "step in one service: reporting change likely"),
        (
            "trust",
            "RXQ",
            "msk_service",
            0,
            1494,
            None,
            "0 the month before: service reported for the first time, or again",
        ),
    ]


def test_a_build_flags_the_new_month_and_the_month_after(copy_of_built_duckdb: Target) -> None:
    """Incremental like int_organisation_months_flagged: a month the table does not hold (as
    if June 2025 had just landed) is flagged with the month after it, reading those and the
    month before; the warn test lists the rows this build wrote (June's 5 provider and 3
    trust steps, July's 2 and 1), and the rows are those the full build made."""
    target = copy_of_built_duckdb
    flags = "intermediate.int_service_months_flagged"
    grain = "org_level, org_code, service_category, service_key, period"
    before = target.query(f"select * from {flags} order by {grain}")
    target.execute(f"delete from {flags} where period = date '2025-06-01'")
    result = target.run("dbt", "build", "--select", "int_service_months_flagged")
    assert "WARN 11 service_months__step" in result.stdout
    assert target.query(
        f"select distinct cast(period as varchar) from {flags} where flagged_by_invocation = ("
        f"  select flagged_by_invocation from {flags} where period = date '2025-06-01' limit 1) order by 1"
    ) == [("2025-06-01",), ("2025-07-01",)]
    after = target.query(f"select * from {flags} order by {grain}")
    assert [row[:-1] for row in after] == [row[:-1] for row in before]


def test_the_warn_test_lists_every_step_with_the_var(built: Target) -> None:
    result = built.run("dbt", "test", "--select", "service_months__step", "--vars", "{validate_all_releases: true}")
    assert "WARN 40 service_months__step" in result.stdout  # 25 provider and 15 trust service months
    assert built.query(
        "select count(*), count(likely_cause) from dbt_test_audit.service_months__step where org_level = 'provider'"
    ) == [(25, 25)]
