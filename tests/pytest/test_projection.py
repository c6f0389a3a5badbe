"""The waiting-list projection (fct_waiting_list_projection and its backtest) on the 12 real
months: the same figures on DuckDB and PostgreSQL, and the backtest scores that
docs/projection.md reports, asserted so they cannot go stale."""

from __future__ import annotations

import math

import pytest

from tests.pytest.conftest import Target

pytestmark = pytest.mark.e2e

# analyses/projection_backtest_scores.sql, as of January 2025, the mean over horizons 1-6
# (months_ahead 0 rows): (model, as-of value carried forward, straight line through 6 months).
# MAPE % for England's lists; the median over Provider x service lists (20+ over 52 weeks at
# the as-of month) for provider_median_52_plus; % of provider totals inside the 80% interval.
BACKTEST_AS_OF = "2025-01-01"
SCORES: dict[str, tuple[float, float | None, float | None]] = {
    "england_adult_total": (4.263, 4.659, 10.450),
    "england_cyp_total": (7.974, 8.889, 11.369),
    "england_adult_52_plus": (12.889, 8.152, 18.251),
    "england_cyp_52_plus": (15.006, 20.461, 15.041),
    "provider_median_52_plus": (33.156, 29.376, 36.953),
    "provider_interval_coverage": (70.168, None, None),
}


def compiled_analysis(target: Target, name: str) -> str:
    target.run("dbt", "compile", "--select", name, "--quiet")
    path = target.workdir / "target" / "compiled" / "chs_waiting_lists" / "analyses" / f"{name}.sql"
    return path.read_text(encoding="utf-8").strip().rstrip(";")


def backtest_scores(target: Target) -> dict[str, tuple[float, float | None, float | None]]:
    sql = compiled_analysis(target, "projection_backtest_scores")
    # the analysis ends with an order by: wrap it without
    rows = target.query(
        "select measure, model_error, carried_error, line_error from ("
        + sql.rsplit("order by", 1)[0]
        + f") as scores where as_of_period = date '{BACKTEST_AS_OF}' and months_ahead = 0"
    )
    return {
        str(measure): (
            float(model),  # type: ignore[arg-type]
            None if carried is None else float(carried),  # type: ignore[arg-type]
            None if line is None else float(line),  # type: ignore[arg-type]
        )
        for measure, model, carried, line in rows
    }


def test_backtest_scores_as_reported(built: Target) -> None:
    scores = backtest_scores(built)
    assert set(scores) == set(SCORES)
    for measure, expected in SCORES.items():
        for got, want in zip(scores[measure], expected, strict=True):
            assert (got is None) == (want is None), measure
            if got is not None and want is not None:
                assert got == pytest.approx(want, abs=0.002), (measure, scores[measure])


def test_backtest_against_the_targets(built_duckdb: Target) -> None:
    """The issue's targets, as met or missed today: a change that moves one across must
    update docs/projection.md (the figures there say which are missed and why)."""
    scores = backtest_scores(built_duckdb)

    def better_naive(measure: str) -> float:
        _, carried, line = scores[measure]
        assert carried is not None and line is not None
        return min(carried, line)

    # met: the totals within 1.1x the better naive forecast; the interval's coverage
    for measure in ("england_adult_total", "england_cyp_total"):
        assert scores[measure][0] <= 1.1 * better_naive(measure), measure
    assert 65 <= scores["provider_interval_coverage"][0] <= 95
    # beating both naive forecasts on 52+ week waits: met for CYP (by 0.04 points over the
    # straight line), missed for adult and the provider median (the carried-forward value wins)
    beats_both = {
        measure: scores[measure][0] < better_naive(measure)
        for measure in ("england_adult_52_plus", "england_cyp_52_plus", "provider_median_52_plus")
    }
    assert beats_both == {
        "england_adult_52_plus": False,
        "england_cyp_52_plus": True,
        "provider_median_52_plus": False,
    }


# per target: figures of the projection, the standard search and the backtest, keyed
FIGURES = {
    "summary": (
        "select org_level, coalesce(org_code, ''), service_category, service_key, scenario, "
        "total_waiting_at_target_18_weeks, pct_within_18_weeks_at_target_18_weeks, "
        "wait_52_plus_weeks_at_target_52_weeks, projected_extra_weekly_capacity_18_weeks, "
        "projected_extra_weekly_capacity_52_weeks, months_to_clear_52_plus_weeks "
        "from marts.fct_waiting_list_projection_summary"
    ),
    "projection": (
        "select org_level, scenario, months_ahead, sum(total_waiting), sum(total_waiting_lower), "
        "sum(total_waiting_upper), sum(wait_52_plus_weeks), count(*) "
        "from marts.fct_waiting_list_projection group by org_level, scenario, months_ahead"
    ),
    "backtest": (
        "select as_of_period, org_level, months_ahead, sum(projected_total_waiting), "
        "sum(projected_wait_52_plus_weeks), sum(total_waiting_upper), count(*) "
        "from marts.fct_waiting_list_projection_backtest group by as_of_period, org_level, months_ahead"
    ),
    "national": (
        "select coalesce(org_code, ''), service_category, service_key, scenario, months_ahead, total_waiting, "
        "wait_52_plus_weeks, pct_within_18_weeks from marts.fct_waiting_list_projection where org_level = 'National'"
    ),
}


def keyed(rows: list[tuple[object, ...]], key_columns: int) -> dict[tuple[object, ...], tuple[object, ...]]:
    return {tuple(str(value) for value in row[:key_columns]): row[key_columns:] for row in rows}


def same(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, int | float) or isinstance(right, int | float):
        a, b = float(left), float(right)  # type: ignore[arg-type]
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return str(left) == str(right)


@pytest.mark.postgres
def test_same_figures_on_both_targets(built_duckdb: Target, built_postgres: Target) -> None:
    keys = {"summary": 5, "projection": 3, "backtest": 3, "national": 5}
    for name, sql in FIGURES.items():
        duck = keyed(built_duckdb.query(sql), keys[name])
        pg = keyed(built_postgres.query(sql), keys[name])
        assert duck.keys() == pg.keys(), name
        assert len(duck) > 40, name
        different = [key for key in duck if not all(same(a, b) for a, b in zip(duck[key], pg[key], strict=True))]
        assert not different, (name, [(key, duck[key], pg[key]) for key in different[:5]])


def test_report_shows_the_projection(built_duckdb: Target) -> None:
    """Section 9 of the July 2025 report: England's lists a year ahead, as the mart has them."""
    from tests.pytest.test_release_report import write_report

    page = write_report(built_duckdb).read_text(encoding="utf-8")
    assert 'id="projection"' in page and "chart-projection-england" in page and "chart-projection-trust" in page
    in_a_year = built_duckdb.query(
        "select service_category, total_waiting from marts.rpt_release_projection "
        "where row_kind = 'list' and area_code = 'England' and scenario = 'current_trend' and months_ahead = 12 "
        "order by service_category"
    )
    assert [category for category, _ in in_a_year] == ["adult", "cyp"]
    for _, total in in_a_year:
        assert f"{int(total):,}" in page  # e.g. "851,405" in the takeaway
    assert "Months to clear the 52+ week backlog" in page
