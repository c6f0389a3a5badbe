"""fct_waiting_list_capacity against the method computed here, in Python, from the workbook
cells themselves; and its increment: a month is rebuilt from the months it averages over."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import math
from dataclasses import dataclass

import pytest

from tests.pytest.conftest import PROJECT_DIR, Target
from tests.pytest.test_e2e import published_provider_cells

pytestmark = pytest.mark.e2e

# the defaults in dbt_project.yml
DEMAND_UPLIFT = 1.1
HISTORY_MONTHS = 3
STANDARDS = {"18_weeks": (18, 0.92, dt.date(2027, 3, 31)), "52_weeks": (52, 0.99, dt.date(2026, 3, 31))}
# [column, lower, upper] in weeks; None: open-ended
BANDS = [
    ("wait_0_1_weeks", 0, 1),
    ("wait_1_2_weeks", 1, 2),
    ("wait_2_4_weeks", 2, 4),
    ("wait_4_12_weeks", 4, 12),
    ("wait_12_18_weeks", 12, 18),
    ("wait_18_52_weeks", 18, 52),
]
UNSPLIT = [*BANDS, ("wait_52_plus_weeks", 52, None)]
SPLIT = [*BANDS, ("wait_52_104_weeks", 52, 104), ("wait_104_plus_weeks", 104, None)]


def workbook_month(period: dt.date) -> str:
    """The end of the workbook's file name: '2025-26-July' for July 2025."""
    start = period.year if period.month >= 4 else period.year - 1
    return f"{start}-{(start + 1) % 100:02d}-{calendar.month_name[period.month]}"


def month_before(period: dt.date) -> dt.date:
    return (period - dt.timedelta(days=1)).replace(day=1)


def weeks_in_month(period: dt.date) -> float:
    return calendar.monthrange(period.year, period.month)[1] / 7


def seed_rows(name: str) -> list[dict[str, str]]:
    with (PROJECT_DIR / "seeds" / f"{name}.csv").open(newline="") as seed:
        return list(csv.DictReader(seed))


def mapped_providers(trust_code: str) -> list[str]:
    """The providers counting towards a trust: those mapped to it, and the predecessors of
    those (seeds/trust_successors.csv), in every month."""
    providers = [row["org_code"] for row in seed_rows("trust_mapping") if row["trust_code"] == trust_code]
    successors = {row["predecessor_code"]: row["successor_code"] for row in seed_rows("trust_successors")}
    return providers + [predecessor for predecessor, successor in successors.items() if successor in providers]


@dataclass
class Month:
    total: float
    bands: dict[str, float | None]
    split: bool


def series_month(providers: list[str] | None, label: str, period: dt.date) -> Month | None:
    """The providers' figures (None: every provider's) for one service and month, added up,
    from the workbook."""
    cells = published_provider_cells(workbook_month(period))
    if providers is None:
        providers = sorted({code for code, _, _ in cells})
    columns = ["total_waiting", *(band for band, _, _ in UNSPLIT + SPLIT[-2:])]
    values: dict[str, float | None] = {}
    for column in columns:
        found = [cells.get((code, label, column)) for code in providers]
        numbers = [v for v in found if v is not None]
        values[column] = sum(numbers) if numbers else None
    total = values.pop("total_waiting")
    if total is None:
        return None
    split = values["wait_52_104_weeks"] is not None or values["wait_104_plus_weeks"] is not None
    if split:
        values["wait_52_plus_weeks"] = (values["wait_52_104_weeks"] or 0) + (values["wait_104_plus_weeks"] or 0)
    return Month(total, values, split)


# the service-step bounds in dbt_project.yml (int_service_months_flagged)
STEP_UP, STEP_DOWN, STEP_MIN_LIST = 5, 0.2, 1000


def service_steps(label: str, period: dt.date) -> set[str]:
    """The providers whose list of the service steps from the month before's by x5 or x0.2
    (on a list over 1,000 in either month; 0 counts, a blank is not compared), from the
    workbook cells."""
    now, before = (
        published_provider_cells(workbook_month(period)),
        published_provider_cells(workbook_month(month_before(period))),
    )
    steps = set()
    for code, service, column in now:
        if service != label or column != "total_waiting":
            continue
        total, previous = now[(code, service, column)], before.get((code, service, column))
        if total is None or previous is None or max(total, previous) <= STEP_MIN_LIST:
            continue
        if total >= STEP_UP * previous or total <= STEP_DOWN * previous:
            steps.add(code)
    return steps


def estimate(providers: list[str] | None, label: str, period: dt.date) -> dict[str, object]:
    """The capacity method (README "Capacity planning"), written out independently. England
    (providers None) takes no flow from a provider's service month that steps
    (service_steps): its demand and list change are left out of that month's flows."""
    months = {p: series_month(providers, label, p) for p in [period, *_months_before(period, HISTORY_MONTHS)]}
    window = [period, *_months_before(period, HISTORY_MONTHS - 1)]
    flow_months: dict[dt.date, tuple[Month | None, Month | None]] = {}
    for p in window:
        steps = service_steps(label, p) if providers is None else set()
        if steps:
            codes = {code for m in (p, month_before(p)) for code, _, _ in published_provider_cells(workbook_month(m))}
            kept = sorted(codes - steps)
            flow_months[p] = (series_month(kept, label, p), series_month(kept, label, month_before(p)))
        else:
            flow_months[p] = (months[p], months[month_before(p)])

    def demand(p: dt.date) -> float | None:
        month = flow_months[p][0]
        band = month.bands["wait_0_1_weeks"] if month else None
        return None if band is None else band * DEMAND_UPLIFT

    def removals(p: dt.date) -> float | None:
        (now, before), d = flow_months[p], demand(p)
        if now is None or before is None or d is None:
            return None
        return (before.total + d * weeks_in_month(p) - now.total) / weeks_in_month(p)

    demands = [d for d in map(demand, window) if d is not None]
    flows = [r for r in map(removals, window) if r is not None]
    weekly_demand = sum(demands) / len(demands) if demands else None
    weekly_removals = sum(flows) / len(flows) if flows else None
    month = months[period]
    assert month is not None
    layout = SPLIT if month.split else UNSPLIT
    counts = [month.bands[band] or 0 for band, _, _ in layout]
    total_in_bands = sum(counts)
    within_18 = sum(counts[:5])
    midpoints = [low if high is None else (low + high) / 2 for _, low, high in layout]
    mean_wait = sum(n * midpoint for n, midpoint in zip(counts, midpoints, strict=True)) / total_in_bands
    rank, below = 0.92 * total_in_bands, 0.0
    for n, (_, low, high) in zip(counts, layout, strict=True):
        if high is None:
            p92, p92_lower_bound = float(low), True
            break
        if below + n >= rank:
            p92, p92_lower_bound = low + (rank - below) / n * (high - low), False
            break
        below += n
    result: dict[str, object] = {
        "total_waiting": month.total,
        "pct_within_18_weeks": 100 * within_18 / total_in_bands,
        "pct_over_52_weeks": 100 * (month.bands["wait_52_plus_weeks"] or 0) / total_in_bands,
        "mean_wait_weeks": mean_wait,
        "p92_wait_weeks": p92,
        "p92_wait_is_lower_bound": p92_lower_bound,
        "weekly_demand": weekly_demand,
        "demand_months": len(demands),
        "weekly_removals": weekly_removals,
        "removal_months": len(flows),
    }
    assert weekly_demand is not None and weekly_removals is not None and weekly_removals > 0
    result["queue_load"] = weekly_demand / weekly_removals
    month_end = period.replace(day=calendar.monthrange(period.year, period.month)[1])
    for name, (weeks, share, target_date) in STANDARDS.items():
        target_mean_wait = weeks / -math.log(1 - share)
        target_queue = weekly_demand * target_mean_wait
        weeks_to_target = (target_date - month_end).days / 7
        relief = weekly_demand + (month.total - target_queue) / weeks_to_target
        result[f"target_queue_size_{name}"] = target_queue
        result[f"relief_capacity_{name}"] = relief
        result[f"extra_weekly_capacity_{name}"] = max(relief - weekly_removals, 0.0)
        result[f"waiting_list_pressure_{name}"] = 2 * mean_wait / weeks
    return result


def _months_before(period: dt.date, count: int) -> list[dt.date]:
    months = [month_before(period)]
    while len(months) < count:
        months.append(month_before(months[-1]))
    return months


CHECKED_ROWS = [
    # a trust's MSK service in the latest month
    ("Trust", "RDR", "(A) Musculoskeletal service", dt.date(2025, 7, 1)),
    # a merged trust across the merger: RY9 reported until November 2024, RAX since December;
    # RY9 counts towards RAX in every month (seeds/trust_successors.csv)
    ("Trust", "RAX", "(A) Musculoskeletal service", dt.date(2025, 1, 1)),
    # a provider that is not an NHS trust (no Trust row), and a CYP service
    ("Provider", "NLX", "(CYP) Community paediatric service", dt.date(2025, 7, 1)),
    # England: the sum of every provider (National = sum of providers is tested in dbt)
    ("National", None, "(A) Musculoskeletal service", dt.date(2025, 7, 1)),
]


@pytest.mark.parametrize(("org_level", "org_code", "label", "period"), CHECKED_ROWS)
def test_capacity_rows_match_the_method_on_the_workbook_cells(
    built: Target, org_level: str, org_code: str | None, label: str, period: dt.date
) -> None:
    providers = {"Trust": mapped_providers(str(org_code)), "Provider": [str(org_code)]}.get(org_level)
    if org_code is not None:  # the method here takes every month: none of the window is flagged
        window = ", ".join(f"date '{month}'" for month in [period, *_months_before(period, HISTORY_MONTHS)])
        flagged = built.query(
            "select count(*) from intermediate.int_organisation_months_flagged "
            f"where org_level = '{org_level.lower()}' and org_code = '{org_code}' and is_flagged "
            f"and period in ({window})"
        )
        assert flagged == [(0,)]
        steps = built.query(
            "select count(*) from intermediate.int_service_months_flagged "
            f"where org_level = '{org_level.lower()}' and org_code = '{org_code}' and is_service_step "
            f"and period in ({window})"
        )
        assert steps == [(0,)]
    expected = estimate(providers, label, period)
    columns = list(expected)
    code = "org_code is null" if org_code is None else f"org_code = '{org_code}'"
    rows = built.query(
        f"select {', '.join(columns)} from marts.fct_waiting_list_capacity "
        f"where org_level = '{org_level}' and {code} and service_label = '{label}' and period = date '{period}'"
    )
    assert len(rows) == 1
    for column, value in zip(columns, rows[0], strict=True):
        wanted = expected[column]
        if isinstance(wanted, float):  # the mart rounds to 2 decimals (ratios to 3)
            assert value == pytest.approx(wanted, abs=0.0051), column
        else:
            assert value == wanted, column


def capacity_rows(target: Target) -> dict[tuple[object, ...], tuple[object, ...]]:
    """Every row of the mart but the invocation that wrote it, keyed by its grain."""
    columns = [
        str(name)
        for (name,) in target.query(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'fct_waiting_list_capacity' order by ordinal_position"
        )
        if name != "dbt_invocation_id"
    ]
    rows = target.query(f"select {', '.join(columns)} from marts.fct_waiting_list_capacity")
    key = [columns.index(c) for c in ("period", "org_level", "org_code", "service_category", "service_key")]
    return {tuple(row[i] for i in key): row for row in rows}


def test_a_month_not_taken_in_rebuilds_it_and_the_months_that_average_over_it(built: Target) -> None:
    """As after a revision of April 2025: April and the 3 months after it are rebuilt, from
    January to July, and come out as the full build made them; earlier months are untouched."""
    before = capacity_rows(built)
    built.execute("delete from marts.fct_waiting_list_capacity where period = date '2025-04-01'")
    built.run("dbt", "run", "--select", "fct_waiting_list_capacity")
    assert capacity_rows(built) == before
    rebuilt = built.query(
        "select period, count(*) from marts.fct_waiting_list_capacity "
        "where dbt_invocation_id = (select max(dbt_invocation_id) from marts.fct_waiting_list_capacity "
        "where period = date '2025-04-01') group by period order by period"
    )
    assert [str(period) for period, _ in rebuilt] == ["2025-04-01", "2025-05-01", "2025-06-01", "2025-07-01"]


def test_changing_a_var_recomputes_every_month(copy_of_built_duckdb: Target) -> None:
    target = copy_of_built_duckdb
    target.run("dbt", "run", "--select", "fct_waiting_list_capacity", "--vars", "{demand_uplift: 1.2}")
    assert target.query(
        "select count(distinct period), count(distinct settings_checksum), "
        "count(*) filter (where abs(weekly_demand - wait_0_1_weeks * 1.2) > 0.006 and demand_months = 1 "
        "and not is_flagged_month and not is_flagged_service_month) "
        "from marts.fct_waiting_list_capacity"
    ) == [(12, 1, 0)]


def test_capacity_data_tests_fail_on_a_broken_mart(copy_of_built_duckdb: Target) -> None:
    """England's MSK list no longer the sum of its providers, a percentage above 100 and a
    negative extra capacity: each specific test fails (every row checked, as after a
    project change)."""
    target = copy_of_built_duckdb
    july = "period = date '2025-07-01' and service_key = 'msk_service'"
    for change, rows in (
        ("total_waiting = total_waiting + 1", "org_level = 'National'"),
        ("pct_within_18_weeks = 100.5", "org_level = 'Trust' and org_code = 'RDR'"),
        ("extra_weekly_capacity_18_weeks = -1", "org_level = 'ICB'"),
    ):
        target.execute(f"update marts.fct_waiting_list_capacity set {change} where {rows} and {july}")
    result = target.run(
        "dbt",
        "test",
        "--select",
        "fct_waiting_list_capacity,test_type:data",
        "--vars",
        "{validate_all_releases: true}",
        check=False,
    )
    assert result.returncode != 0
    for failing in (
        "FAIL 1 assert_waiting_list_capacity__national_equals_sum_of_providers",
        "FAIL 1 waiting_list_capacity__percentages_within_0_100",
        "waiting_list_capacity__capacities_not_negative",
    ):
        assert failing in result.stdout, result.stdout[-3000:]
