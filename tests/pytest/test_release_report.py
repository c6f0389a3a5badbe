"""The release report (loader/release_report, models/marts/report/): the real July 2025
figures on both targets, the same page from DuckDB and PostgreSQL, the optional sections,
and the page in a real browser (headless Chromium, network blocked)."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from loader.errors import LoaderError
from loader.release_report.data import choose_period
from loader.release_report.formatting import correlation_strength, display_name, icb_name, signed
from tests.pytest.browser import SCREENSHOTS, chromium, offline_page
from tests.pytest.conftest import Target

JULY = "2025-07-01"
MAX_PAGE_BYTES = 3_000_000  # small enough to mail


def write_report(target: Target, *args: str) -> Path:
    result = target.run("loader", "report", *args)
    return Path(result.stdout.strip().removeprefix("report: "))


def has_relation(target: Target, name: str) -> bool:
    return target.query(
        f"select count(*) from information_schema.tables where table_schema = 'marts' and table_name = '{name}'"
    ) == [(1,)]


def card_value(page: str, measure: str) -> str:
    match = re.search(rf'<div class="card" data-measure="{measure}" data-value="([^"]*)">', page)
    assert match, measure
    return match.group(1)


def national_totals(target: Target) -> dict[str, int | None]:
    """England's figures for July 2025 straight from fct_community_waits (the National rows)."""
    total, adult, cyp, over_52, over_104 = target.query(
        "select sum(total_waiting), sum(case when service_category = 'adult' then total_waiting end), "
        "sum(case when service_category = 'cyp' then total_waiting end), sum(wait_52_plus_weeks), "
        "sum(wait_104_plus_weeks) from marts.fct_community_waits "
        f"where org_type = 'National' and period = date '{JULY}'"
    )[0]
    return {
        "patients_waiting": total,
        "patients_waiting_adult": adult,
        "patients_waiting_cyp": cyp,
        "waits_over_52_weeks": over_52,
        "waits_over_104_weeks": over_104,
    }  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def july_report_duckdb(built_duckdb: Target) -> Path:
    return write_report(built_duckdb)


# ---- the real data ----------------------------------------------------------------------


@pytest.mark.e2e
def test_july_2025_report_shows_the_marts(built: Target) -> None:
    path = write_report(built)
    assert path.name == "community-waits-2025-07.html"
    page = path.read_text(encoding="utf-8")
    assert card_value(page, "trusts_with_community_data") == "97"
    assert card_value(page, "pct_trusts_with_community_data") == "64.2"
    for measure, value in national_totals(built).items():
        assert int(card_value(page, measure)) == int(value or 0), measure  # England = fct's National rows
    assert int(card_value(page, "patients_waiting")) == 1_195_895
    # every NHS trust provider is ranked: the 97 of trust_metrics hold the README's 751,038 (the sum
    # of trust_metrics' total_waiting_all_services), the 26 NHS trusts trust_metrics has no row for 305,057
    assert built.query(
        "select in_trust_metrics, count(*), sum(total_waiting), sum(wait_52_plus_weeks) "
        f"from marts.rpt_release_trust_summary where period = date '{JULY}' group by in_trust_metrics order by 1"
    ) == [(False, 26, 305_057, 21_114), (True, 97, 751_038, 57_634)]
    assert page.count('<option value="') == 123
    assert page.count(", not in trust_metrics)</option>") == 26
    # Leicestershire Partnership (RT5), outside trust_metrics, ranks third by 52+ week waits
    rankings = page.split('id="rankings"', 1)[1].split("</table>", 1)[0]
    third = rankings.split("<tr>")[4]  # the header row, then ranks 1, 2, 3
    assert 'data-value="RT5"' in third and ">No<" in third and ">6,022<" in third
    # who is outside trust_metrics, and why: the groups add up to England
    coverage = built.query(
        "select provider_group, organisations, total_waiting, wait_52_plus_weeks from marts.rpt_release_trust_coverage "
        f"where period = date '{JULY}' order by group_order"
    )
    assert coverage == [
        ("nhs_trusts_in_trust_metrics", 97, 751_038, 57_634),
        ("nhs_trusts_not_in_trust_metrics", 26, 305_057, 21_114),
        ("not_nhs_trusts", 21, 136_084, 10_759),
        ("published_nationally_only", 0, 3_716, 0),
    ]
    assert sum(row[2] for row in coverage) == 1_195_895
    assert (
        "26 NHS trusts trust_metrics holds no row for, 305,057 patients (25.5% of England&#39;s list) and 21,114 "
        "waiting over 52 weeks: community, mental health and combined trusts, where trust_metrics holds acute "
        "trusts&#39; rows. 21 providers that are not NHS trusts hold 136,084 (10,759 over 52 weeks)"
    ) in page
    # one file, nothing to fetch: no external script, style, font or image
    assert path.stat().st_size < MAX_PAGE_BYTES
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.DOTALL)  # scripts' text aside
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=|@import|url\(""", markup)
    # sections 7 and 8 say so when their models are not in the build
    for relation, absent in (
        ("rpt_release_capacity", "Capacity estimates are not available in this build"),
        ("rpt_release_anomalies", "Anomaly flags are not available in this build"),
    ):
        assert (absent in page) != has_relation(built, relation), relation
    assert "Months revised by the releases landed with July 2025" in page
    # the month's service steps (int_service_months_flagged): Lincolnshire Community's continence x20.62
    if has_relation(built, "rpt_release_service_steps"):
        assert "Service months flagged as steps, July 2025" in page
        assert re.search(r"<td[^>]*>1,402</td>\s*<td[^>]*>x20\.62</td>", page)


@pytest.mark.e2e
@pytest.mark.postgres
def test_same_report_from_duckdb_and_postgres(built_duckdb: Target, built_postgres: Target) -> None:
    def normalised(target: Target) -> str:
        page = write_report(target).read_text(encoding="utf-8")
        page = re.sub(r"Generated .*? warehouse\.", "Generated", page)  # the time and the target's name
        return re.sub(r"dbt tests of the last build recorded in the warehouse \([^)]*\)", "dbt tests", page)

    duckdb_page, postgres_page = normalised(built_duckdb), normalised(built_postgres)
    if duckdb_page != postgres_page:  # show where, not 1.6 MB
        for number, (a, b) in enumerate(zip(duckdb_page.splitlines(), postgres_page.splitlines(), strict=False)):
            assert a == b, f"line {number}:\n duckdb:   {a[:300]}\n postgres: {b[:300]}"
    assert duckdb_page == postgres_page


@pytest.mark.e2e
def test_period_option(built_duckdb: Target) -> None:
    first = write_report(built_duckdb, "--period", "2024-08").read_text(encoding="utf-8")
    assert "Release report for August 2024" in first
    assert "July 2024: not landed" in first and "August 2023: not landed" in first
    assert card_value(first, "waits_over_104_weeks") == ""  # not published before December 2024
    december = write_report(built_duckdb, "--period", "2024-12").read_text(encoding="utf-8")
    assert "November 2024: not published" in december  # the over-104 band, on the month before
    for period, reason in (
        ("2023-01", "not landed (landed: 2024-08 to 2025-07)"),
        ("2025/07", "expected YYYY-MM, e.g. 2025-07"),
    ):
        result = built_duckdb.run("loader", "report", "--period", period, check=False)
        assert result.returncode == 2
        assert result.stderr.strip() == f"error: --period {period}: {reason}"


@pytest.mark.e2e
def test_capacity_section_ranks_the_marts_services(built_duckdb: Target) -> None:
    """Section 7 reads fct_waiting_list_capacity (rpt_release_capacity): in July 2025
    England's MSK service needs the most extra weekly capacity for the 18-week standard."""
    page = write_report(built_duckdb).read_text(encoding="utf-8")
    [(name, extra)] = built_duckdb.query(
        "select service_name, extra_weekly_capacity_18_weeks from marts.rpt_release_capacity "
        f"where period = date '{JULY}' and org_type = 'National' and capacity_rank = 1"
    )
    assert name == "Musculoskeletal service"
    assert f"England's Musculoskeletal service (adult) needs the most: {extra:,.0f} more patients a week" in page
    [(provider,)] = built_duckdb.query(
        "select org_name from marts.rpt_release_capacity "
        f"where period = date '{JULY}' and org_type = 'Provider' and capacity_rank = 1"
    )
    assert 'id="chart-capacity"' in page and html.escape(provider) in page


@pytest.mark.e2e
def test_anomaly_panel_lists_the_months_flagged(built_duckdb: Target) -> None:
    """May 2025: Dudley (RNA) published zeros for every service, a provider and a trust
    flagged (issue 18's flags, int_organisation_months_flagged)."""
    page = write_report(built_duckdb, "--period", "2025-05").read_text(encoding="utf-8")
    assert "Anomaly flags are not available in this build" not in page
    panel = page.split("Organisation months flagged as suspicious, May 2025", 1)[1].split("</table>", 1)[0]
    rows = [row for row in panel.split("<tr>") if 'data-value="RNA"' in row and "all zeros (submission glitch)" in row]
    assert all(">0<" in row and ">4,548<" in row for row in rows), rows  # 0 waiting, after 4,548 in April
    assert {level for row in rows for level in ("provider", "trust") if f'data-value="{level}"' in row} == {
        "provider",
        "trust",
    }


# ---- the page in a real browser ------------------------------------------------------------


@pytest.mark.e2e
def test_month_not_yet_in_trust_metrics(copy_of_built_duckdb: Target) -> None:
    """A workbook can land before the trust_metrics extract has its month: the England
    sections and the trust rankings (from the workbook) are there, the MSK/RTT section
    (trust_metrics' RTT figures) says why it is not."""
    copy_of_built_duckdb.execute(f"delete from marts.trust_metrics where period = date '{JULY}'")
    page = write_report(copy_of_built_duckdb).read_text(encoding="utf-8")
    assert int(card_value(page, "patients_waiting")) == 1_195_895
    assert card_value(page, "trusts_with_community_data") == ""
    assert page.count("the trust_metrics extract does not cover this month yet") == 1
    assert page.count('<option value="') == 123


# Vega-Lite warns that "fit-x" sizing leaves a bar chart's height to its rows ({"step": ...}):
# the sizes we asked for. Any other warning or error fails the test.
KNOWN_WARNINGS = (r'^WARN Dropping "fit-y" because spec has discrete height\.$',)


@pytest.mark.e2e
def test_report_in_a_browser(july_report_duckdb: Path, built_duckdb: Target) -> None:
    """Chromium opens the file with the network blocked: no console error, no request but the
    file itself, every chart drawn, the headline figures equal the marts, and choosing
    another trust redraws the drill-down. Screenshots at 1280 and 390 px for people."""
    expected = {measure: str(value) for measure, value in national_totals(built_duckdb).items()}
    charts = 11  # section 7's chart and section 9's two (the projection) included
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        for width in (1280, 390):
            with offline_page(browser, july_report_duckdb, width, KNOWN_WARNINGS) as opened:
                _check_report(opened.page, expected, charts)
                opened.page.screenshot(path=str(SCREENSHOTS / f"report-{width}.png"), full_page=True)
                assert not opened.problems, opened.problems
                assert opened.requests == [july_report_duckdb.as_uri()], opened.requests


def _check_report(page: Any, expected: dict[str, str], chart_count: int) -> None:
    page.wait_for_selector("body[data-charts-ready]", timeout=60_000)
    charts = page.locator("div.chart")
    assert charts.count() == page.locator("script[data-chart]").count() == chart_count
    for index in range(charts.count()):
        chart = charts.nth(index)
        assert chart.get_attribute("data-rendered") == "true", chart.get_attribute("id")
        marks = chart.locator("svg .mark-rect path, svg .mark-symbol path, svg .mark-line path")
        assert marks.count() > 0, f"{chart.get_attribute('id')} drew nothing"
    for measure, value in expected.items():
        assert page.locator(f'.card[data-measure="{measure}"]').get_attribute("data-value") == value
    assert page.locator('.card[data-measure="trusts_with_community_data"] .value').inner_text() == "97"

    before = _drill_down(page)
    options = page.locator("#trust-select option").evaluate_all("options => options.map(o => o.value)")
    assert len(options) == 123  # every NHS trust provider, in trust_metrics or not
    in_scatter = page.evaluate(
        "JSON.parse(document.querySelector('script[data-chart=\"chart-msk-rtt\"]').textContent)"
        ".data.values.map(row => row.trust_code)"
    )
    trust = next(code for code in reversed(options) if code != before["trust"] and code in in_scatter)
    page.select_option("#trust-select", trust)
    page.wait_for_function(  # the charts redraw asynchronously
        "before => document.querySelector('#chart-drill-trend-total svg').innerHTML !== before",
        arg=before["trend chart"],
    )
    page.wait_for_function("code => document.querySelector('#chart-msk-rtt svg').textContent.includes(code)", arg=trust)
    after = _drill_down(page)
    for part in ("takeaway", "services chart", "trend chart", "table"):
        assert after[part] != before[part], part
    assert trust in after["scatter"] and after["scatter"] != before["scatter"]  # the marked point moves
    page.select_option("#trust-select", before["trust"])  # back, for the screenshot
    page.wait_for_function(
        "before => document.querySelector('#chart-drill-trend-total svg').innerHTML === before",
        arg=before["trend chart"],
    )


def _drill_down(page: Any) -> dict[str, str]:
    evaluate = page.evaluate
    return {
        "trust": evaluate("document.querySelector('#trust-select').value"),
        "takeaway": evaluate("document.querySelector('p[data-drill-trust]:not([hidden])').textContent"),
        "services chart": evaluate("document.querySelector('#chart-drill-services svg').innerHTML"),
        "trend chart": evaluate("document.querySelector('#chart-drill-trend-total svg').innerHTML"),
        "scatter": evaluate(
            "Array.from(document.querySelectorAll('#chart-msk-rtt svg text')).map(t => t.textContent).join(' ')"
        ),
        "table": evaluate("document.querySelector('table[data-rows-from=\"chart-drill-services\"] tbody').textContent"),
    }


# ---- small parts -----------------------------------------------------------------------------


def test_choose_period() -> None:
    months = [dt.date(2024, 8, 1), dt.date(2024, 9, 1)]
    assert choose_period(months, None) == dt.date(2024, 9, 1)
    assert choose_period(months, "2024-08") == dt.date(2024, 8, 1)
    with pytest.raises(LoaderError, match="not landed"):
        choose_period(months, "2024-10")
    with pytest.raises(LoaderError, match="no months landed"):
        choose_period([], None)


def test_formatting() -> None:
    assert display_name("SHEFFIELD CHILDREN'S NHS FOUNDATION TRUST") == "Sheffield Children's NHS Foundation Trust"
    assert display_name("TORBAY AND SOUTH DEVON NHS FOUNDATION TRUST") == "Torbay and South Devon NHS Foundation Trust"
    assert display_name("Already Mixed") == "Already Mixed"
    assert icb_name("NHS CHESHIRE AND MERSEYSIDE INTEGRATED CARE BOARD") == "Cheshire and Merseyside"
    assert icb_name(None) is None
    assert signed(1234) == "+1,234" and signed(-5.25, 1, "%") == "\u22125.2%" and signed(0) == "0"
    assert correlation_strength(0.279) == "a weak positive"
    assert correlation_strength(-0.6) == "a strong negative"
    assert correlation_strength(0.05) == "no clear"


def test_vega_bundle_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loader.release_report import render

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chs-waiting-lists"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if cache.is_dir():  # reuse the bundle made once for this version (making it takes seconds)
        shutil.copytree(cache, tmp_path / "chs-waiting-lists")
    bundle = render.vega_bundle()
    assert "window.vegaEmbed=" in bundle and "</script" not in bundle
    assert list((tmp_path / "chs-waiting-lists").glob("vega-bundle-vl-convert-*.js"))
