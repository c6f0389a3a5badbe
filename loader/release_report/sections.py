"""What each section of the report shows: its takeaway, charts and tables, from the
month's rows (ReportData). One function per section; build_context puts them together."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loader.dq_summary import RunSummary, describe_months
from loader.release_report import takeaways
from loader.release_report.data import ReportData, Row
from loader.release_report.formatting import count, display_name, icb_name, month, pct, signed
from loader.release_report.page import Chart, Column, Table, chart_spec, raw

SOURCE = (
    "Source: NHS England, Community Health Services Waiting Lists; "
    "contains public sector information licensed under the Open Government Licence v3.0."
)
TRUST_SOURCE = SOURCE.replace(
    "Waiting Lists;", "Waiting Lists, providers mapped to trusts (seeds/trust_mapping.csv), and trust_metrics;"
)

# the rankings' marker, and the groups of rpt_release_trust_coverage as the page names them
IN_TRUST_METRICS = {True: "Yes", False: "No"}
PROVIDER_GROUPS = {
    "nhs_trusts_in_trust_metrics": "NHS trusts in trust_metrics",
    "nhs_trusts_not_in_trust_metrics": "NHS trusts not in trust_metrics (community, mental health, combined)",
    "not_nhs_trusts": "Providers that are not NHS trusts",
    "not_in_trust_mapping": "Providers not in the trust mapping yet",
    "published_nationally_only": "Services published nationally only",
}

# headline cards: measure -> (label, kind); kind decides the unit and how a change reads
HEADLINES = {
    "patients_waiting": ("Patients waiting, England", "count"),
    "patients_waiting_adult": ("Adult services", "count"),
    "patients_waiting_cyp": ("Children and young people's services", "count"),
    "waits_over_52_weeks": ("Waiting over 52 weeks", "count"),
    "waits_over_104_weeks": ("Waiting over 104 weeks", "count"),
    "pct_within_18_weeks": ("Waiting 18 weeks or less", "pct"),
    "trusts_with_community_data": ("Trusts with community data", "count"),
    "pct_trusts_with_community_data": ("Coverage of trust_metrics trusts", "pct"),
}


def _headline_cards(data: ReportData) -> list[dict[str, Any]]:
    by_measure = {row["measure"]: row for row in data.headlines}
    cards = []
    for measure, (label, kind) in HEADLINES.items():
        row = by_measure[measure]
        value = row["measure_value"]
        changes: list[str] = []
        for when, previous, change, relative in (
            ("previous_period", "previous_month_value", "change_on_previous_month", "pct_change_on_previous_month"),
            ("year_ago_period", "year_ago_value", "change_on_year_ago", "pct_change_on_year_ago"),
        ):
            if value is None:  # nothing to compare
                break
            if row[when] not in data.months:
                changes.append(f"{month(row[when])}: not landed")
            elif row[previous] is None:
                changes.append(f"{month(row[when])}: not published")
            elif kind == "pct":
                changes.append(f"{signed(row[change], 1, ' points')} on {month(row[when])}")
            else:
                changes.append(f"{signed(row[change])} ({signed(row[relative], 1, '%')}) on {month(row[when])}")
        if value is None:  # over 104 weeks before December 2024; trusts before trust_metrics has the month
            text = "not in trust_metrics yet" if "trust" in measure else "not published"
        elif measure == "pct_trusts_with_community_data":
            text = f"{pct(value)} of {count(by_measure['trust_metrics_trusts']['measure_value'])}"
        else:
            text = pct(value) if kind == "pct" else count(value)
        cards.append({"measure": measure, "label": label, "text": text, "value": raw(value), "changes": changes})
    return cards


def _headline_table(data: ReportData) -> Table:
    labels = {**{m: label for m, (label, _) in HEADLINES.items()}, "trust_metrics_trusts": "Trusts in trust_metrics"}
    units = {"pct_within_18_weeks": "% of the list", "pct_trusts_with_community_data": "% of trusts"}
    rows = [
        {
            **row,
            "label": labels[row["measure"]],
            "unit": units.get(row["measure"], "trusts" if "trust" in row["measure"] else "patients"),
        }
        for row in data.headlines
    ]
    return Table(
        f"Headline figures, {month(data.period)}",
        [
            Column("Measure", "label"),
            Column("Unit", "unit"),
            Column(month(data.period), "measure_value", "number"),
            Column("Month before", "previous_month_value", "number"),
            Column("Change on the month", "change_on_previous_month", "number"),
            Column("Change on the month (%)", "pct_change_on_previous_month", "pct"),
            Column("Year before", "year_ago_value", "number"),
            Column("Change on the year", "change_on_year_ago", "number"),
            Column("Change on the year (%)", "pct_change_on_year_ago", "pct"),
        ],
        rows,
    )


def _wide_bands(rows: list[Row]) -> tuple[list[Column], list[Row]]:
    """The heatmap's rows as one row per service with a column per band (a reshape)."""
    services: dict[str, Row] = {}
    bands: dict[str, str] = {}
    for row in rows:
        key = f"{row['service_category']}:{row['service_key']}"
        service = services.setdefault(
            key,
            {
                "category": "Adult" if row["service_category"] == "adult" else "CYP",
                "service_name": row["service_name"],
                "total_waiting": row["total_waiting"],
            },
        )
        service[row["band_key"]] = row["pct_of_list"]
        bands[row["band_key"]] = row["band_name"]
    columns = [
        Column("Category", "category"),
        Column("Service", "service_name"),
        Column("Patients waiting", "total_waiting", "count"),
    ]
    columns += [Column(f"{name} (% of list)", key, "pct") for key, name in bands.items()]
    return columns, list(services.values())


def _fields(rows: list[Row], *keys: str) -> list[Row]:
    """The rows with only the fields a chart draws (the page carries every chart's data)."""
    return [{key: row[key] for key in keys} for row in rows]


def _schema_and_table(relation: str | None) -> str | None:
    """``"db"."schema"."table"`` as ``schema.table``: the database differs between targets."""
    if relation is None:
        return None
    return ".".join(part.strip('"') for part in relation.split(".")[-2:])


def _service_label(row: Row) -> str:
    return ("Adult: " if row["service_category"] == "adult" else "CYP: ") + str(row["service_name"])


class Charts(dict[str, Chart]):
    """The page's charts by element id, each a spec filled with its rows."""

    def __init__(self, period: dt.date) -> None:
        super().__init__()
        self.period = period

    def add(self, element_id: str, template: str, rows: list[Row], takeaway: str, kind: str, **subs: str) -> Chart:
        # narrow screens label every other month, ending on the report's month (utcmonth is 0-11)
        subs["PERIOD_MONTH_PARITY"] = str((self.period.month - 1) % 2)
        self[element_id] = Chart(element_id, chart_spec(template, rows, takeaway, **subs), f"{kind}. {takeaway}")
        return self[element_id]


def _follows_trust(chart: Chart, trust: str, filtered: bool = True) -> None:
    """The chart draws (or marks) the trust chosen in the page's selector (its "trust" signal)."""
    chart.spec["params"] = [{"name": "trust", "value": trust}]
    if filtered:
        chart.spec["transform"] = [*chart.spec.get("transform", []), {"filter": "datum.trust_code === trust"}]


def _long_waits(data: ReportData, charts: Charts) -> dict[str, Any]:
    takeaway = takeaways.long_waits(data.national_waits)
    fields = ("period", "service_category", "wait_52_plus_weeks", "wait_104_plus_weeks", "is_band_change_month")
    charts.add(
        "chart-long-waits",
        "long_waits",
        _fields(data.national_waits, *fields),
        takeaway,
        "Line chart of waits over 52 and over 104 weeks by month, adult and children's services",
    )
    band_change = next((row["period"] for row in data.national_waits if row["is_band_change_month"]), None)
    table = Table(
        "Waits over 52 and over 104 weeks, England, by month and service category",
        [
            Column("Month", "period", "month"),
            Column("Services", "category"),
            Column("Patients waiting", "total_waiting", "count"),
            Column("Over 52 weeks", "wait_52_plus_weeks", "count"),
            Column("Over 104 weeks", "wait_104_plus_weeks", "count"),
            Column("Within 18 weeks (%)", "pct_within_18_weeks", "pct"),
        ],
        [
            {**row, "category": "Adult" if row["service_category"] == "adult" else "Children and young people"}
            for row in data.national_waits
        ],
    )
    return {"takeaway": takeaway, "table": table, "band_change": month(band_change) if band_change else None}


def _largest_services(data: ReportData, charts: Charts) -> dict[str, Any]:
    categories = {}
    for category, name in (("adult", "Adult services"), ("cyp", "Children and young people's services")):
        rows = [row for row in data.national_services if row["service_category"] == category]
        top = [
            {
                "label": row["service_name"],
                "total_waiting": row["total_waiting"],
                "wait_52_plus_weeks": row["wait_52_plus_weeks"],
            }
            for row in rows
            if row["list_size_rank"] <= 10
        ]
        chart = charts.add(
            f"chart-top-{category}",
            "bars_with_long_waits",
            top,
            f"{name}: the ten largest lists",
            "Bar chart of the ten largest waiting lists",
        )
        table = Table(
            f"{name} by list size, England, {month(data.period)}",
            [
                Column("Rank", "list_size_rank"),
                Column("Service", "service_name"),
                Column("Patients waiting", "total_waiting", "count"),
                Column("Share of the category (%)", "pct_of_category", "pct"),
                Column("Over 52 weeks", "wait_52_plus_weeks", "count"),
                Column("Over 52 weeks (%)", "pct_over_52_weeks", "pct"),
                Column("Within 18 weeks (%)", "pct_within_18_weeks", "pct"),
            ],
            rows,
        )
        categories[category] = {"title": name, "chart": chart, "table": table}
    return {"takeaway": takeaways.largest_services(data.national_services), "categories": categories}


def _heatmap(data: ReportData, charts: Charts) -> dict[str, Any]:
    takeaway = takeaways.heatmap(data.national_services)
    fields = (
        "service_category",
        "service_name",
        "published_order",
        "band_name",
        "band_label",
        "band_order",
        "patients",
        "pct_of_list",
    )
    charts.add(
        "chart-heatmap",
        "heatmap",
        _fields(data.service_wait_bands, *fields),
        takeaway,
        "Heatmap of each service's list by weeks waited, as a share of the list",
    )
    columns, rows = _wide_bands(data.service_wait_bands)
    caption = f"Share of each service's list by weeks waited, England, {month(data.period)}"
    return {"takeaway": takeaway, "table": Table(caption, columns, rows)}


def _trusts(data: ReportData, charts: Charts, default_trust: str) -> dict[str, Any]:
    rankings = Table(
        f"Trusts by waits over 52 weeks, {month(data.period)}",
        [
            Column("Rank", "long_wait_rank", "count"),
            Column("Trust", "trust_name"),
            Column("Code", "trust_code"),
            Column("ICB", "icb"),
            Column("In trust_metrics", "in_trust_metrics_label"),
            Column("Waiting", "total_waiting", "count"),
            Column("Over 52 wks", "wait_52_plus_weeks", "count"),
            Column("Over 104 wks", "wait_104_plus_weeks", "count"),
            Column("% over 18 wks", "pct_over_18_weeks", "pct"),
            Column("Rank by % over 18 wks", "over_18_weeks_rank", "count"),
            Column("Rank by list size", "list_size_rank", "count"),
        ],
        [
            {
                **row,
                "icb": icb_name(row["icb_name"]),
                "in_trust_metrics_label": IN_TRUST_METRICS[row["in_trust_metrics"]],
            }
            for row in data.trust_summary
        ],
    )
    coverage = Table(
        f"England's community waiting list by provider group, {month(data.period)}",
        [
            Column("Providers", "label"),
            Column("Organisations", "organisations", "count"),
            Column("Waiting", "total_waiting", "count"),
            Column("% of England", "pct_of_england", "pct"),
            Column("Over 52 wks", "wait_52_plus_weeks", "count"),
            Column("% of England's over 52 wks", "pct_of_england_52_plus_weeks", "pct"),
        ],
        [{**row, "label": PROVIDER_GROUPS[row["provider_group"]]} for row in data.trust_coverage],
    )
    services_by_trust: dict[str, list[Row]] = {}
    for row in data.trust_services:
        services_by_trust.setdefault(row["trust_code"], []).append(row)
    trend_by_trust: dict[str, list[Row]] = {}
    for row in data.trust_trend:
        trend_by_trust.setdefault(row["trust_code"], []).append(row)
    drill = [
        {
            "code": trust["trust_code"],
            "name": display_name(trust["trust_name"]),
            "in_trust_metrics": trust["in_trust_metrics"],
            "takeaway": takeaways.trust_drill_down(
                trust, services_by_trust[trust["trust_code"]], trend_by_trust[trust["trust_code"]]
            ),
        }
        for trust in sorted(data.trust_summary, key=lambda row: str(row["trust_name"]))
    ]
    # the drill-down's tables are built in the page from these charts' rows (report.js)
    drill_tables = {
        "services": Table(
            "The selected trust's waiting list by service, " + month(data.period),
            [
                Column("Service", "label"),
                Column("Patients waiting", "total_waiting", "count"),
                Column("Over 52 weeks", "wait_52_plus_weeks", "count"),
                Column("Over 18 weeks (%)", "pct_over_18_weeks", "pct"),
            ],
            [],
        ),
        "trend": Table(
            "The selected trust's waiting list by month",
            [
                Column("Month", "period", "month"),
                Column("Patients waiting", "total_waiting", "count"),
                Column("Over 52 weeks", "wait_52_plus_weeks", "count"),
            ],
            [],
        ),
    }
    drill_services = charts.add(
        "chart-drill-services",
        "bars_with_long_waits",
        [
            {
                "trust_code": row["trust_code"],
                "label": _service_label(row),
                "total_waiting": row["total_waiting"],
                "wait_52_plus_weeks": row["wait_52_plus_weeks"],
                "pct_over_18_weeks": row["pct_over_18_weeks"],
            }
            for row in data.trust_services
        ],
        "The selected trust's waiting list by service",
        "Bar chart of the selected trust's services",
    )
    trend_total = charts.add(
        "chart-drill-trend-total",
        "trend",
        data.trust_trend,
        "The selected trust's list by month",
        "Line chart of the selected trust's waiting list by month",
        VALUE_FIELD="total_waiting",
    )
    trend_long = charts.add(
        "chart-drill-trend-52",
        "trend",
        data.trust_trend,
        "The selected trust's waits over 52 weeks by month",
        "Line chart of the selected trust's waits over 52 weeks by month",
        VALUE_FIELD="wait_52_plus_weeks",
    )
    for chart in (drill_services, trend_total, trend_long):
        _follows_trust(chart, default_trust)
    return {
        "takeaway": takeaways.trust_rankings(data.trust_summary),
        "coverage_takeaway": takeaways.trust_coverage(data.trust_coverage),
        "coverage": coverage,
        "rankings": rankings,
        "drill": drill,
        "drill_tables": drill_tables,
        "default_trust": default_trust,
    }


def _msk_vs_rtt(data: ReportData, charts: Charts, default_trust: str) -> dict[str, Any]:
    msk_takeaway = takeaways.msk_vs_rtt(data.msk_vs_rtt)
    scatter_fields = ("trust_code", "trust_name", "msk_waiting", "rtt_trauma_orthopaedics_waiting")
    scatter = charts.add(
        "chart-msk-rtt",
        "scatter",
        _fields(data.msk_vs_rtt, *scatter_fields),
        msk_takeaway,
        "Scatter plot of community MSK against RTT trauma and orthopaedics waits, one point per trust",
    )
    _follows_trust(scatter, default_trust, filtered=False)  # every trust drawn, the chosen one marked
    msk_table = Table(
        f"Community MSK and RTT trauma and orthopaedics waits per trust, {month(data.period)}",
        [
            Column("Trust", "trust_name"),
            Column("Code", "trust_code"),
            Column("Community MSK waiting", "msk_waiting", "count"),
            Column("RTT T&O incomplete pathways", "rtt_trauma_orthopaedics_waiting", "count"),
        ],
        data.msk_vs_rtt,
    )
    return {"takeaway": msk_takeaway, "table": msk_table}


def _capacity(data: ReportData, charts: Charts) -> dict[str, Any] | None:
    """Section 7, when the capacity mart is in this build (None: "not available")."""
    if data.capacity is None:
        return None
    national = [
        {**row, "label": _service_label(row)}
        for row in data.capacity
        if row["org_type"] == "National" and row["capacity_rank"] <= 10
    ]
    providers = [row for row in data.capacity if row["org_type"] == "Provider" and row["capacity_rank"] <= 15]
    capacity_takeaway = takeaways.capacity(data.capacity)
    return {
        "takeaway": capacity_takeaway,
        "chart": charts.add(
            "chart-capacity",
            "capacity",
            national,
            capacity_takeaway,
            "Bar chart of the services needing the most extra weekly capacity",
        )
        if national
        else None,
        "national": Table(
            f"England: services by extra weekly capacity to meet the 18-week standard, {month(data.period)}",
            [
                Column("Service", "label"),
                Column("Extra patients a week", "extra_weekly_capacity_18_weeks", "count"),
                Column("Patients waiting", "total_waiting", "count"),
                Column("Over 52 weeks", "wait_52_plus_weeks", "count"),
            ],
            national,
        ),
        "providers": Table(
            f"Providers' services by extra weekly capacity to meet the 18-week standard, {month(data.period)}",
            [
                Column("Provider", "org_name"),
                Column("Code", "org_code"),
                Column("Service", "service_name"),
                Column("Extra patients a week", "extra_weekly_capacity_18_weeks", "count"),
                Column("Patients waiting", "total_waiting", "count"),
                Column("Over 52 weeks", "wait_52_plus_weeks", "count"),
            ],
            providers,
        ),
    }


TRUST_PROJECTION_MONTHS = 12
SCENARIO_LABELS = {
    "current_trend": "Current trend",
    "meets_18_week_standard": "Meeting 18 weeks",
}


def _projection(data: ReportData, charts: Charts, default_trust: str | None) -> dict[str, Any] | None:
    """Section 9: England's and the chosen trust's projected lists and 52+ week waits, with
    the 80% interval, on the current trend and with the standard-meeting capacity
    (rpt_release_projection); per England service, months to clear the 52+ backlog.
    None: not in this build; rows only for the latest landed month."""
    if data.projection is None:
        return None
    lists = [
        {**row, "scenario_label": SCENARIO_LABELS[row["scenario"]], "series": _projection_series(row)}
        for row in data.projection
        if row["row_kind"] == "list"
    ]
    if not lists:
        return {"available": False}
    england = [row for row in lists if row["area_code"] == "England"]
    # a trust's chart: the next 12 months (every trust's rows are in the page, for the selector)
    trusts = [row for row in lists if row["trust_code"] is not None and row["months_ahead"] <= TRUST_PROJECTION_MONTHS]
    clearance = [
        {**row, "label": row["service_name"] + (" (CYP)" if row["service_category"] == "cyp" else "")}
        for row in data.projection
        if row["row_kind"] == "service_clearance"
    ]
    takeaway = takeaways.projection(england)
    fields = (
        "projected_period",
        "scenario_label",
        "total_waiting",
        "total_waiting_lower",
        "total_waiting_upper",
        "wait_52_plus_weeks",
    )
    charts.add(
        "chart-projection-england",
        "projection",
        _fields(england, *fields, "series"),
        takeaway,
        "Line chart of England's projected waiting lists with their 80% intervals",
    )
    trust_chart = charts.add(
        "chart-projection-trust",
        "projection",
        _fields(trusts, *fields, "series", "trust_code"),
        takeaway,
        "Line chart of the chosen trust's projected waiting list with its 80% interval",
    )
    if default_trust:
        _follows_trust(trust_chart, default_trust)
    return {
        "available": True,
        "takeaway": takeaway,
        "england": Table(
            "England: projected lists and 52+ week waits by month",
            [
                Column("Month", "projected_period", "month"),
                Column("Services", "series"),
                Column("Scenario", "scenario_label"),
                Column("Projected list", "total_waiting", "count"),
                Column("80% interval, low", "total_waiting_lower", "count"),
                Column("80% interval, high", "total_waiting_upper", "count"),
                Column("Over 52 weeks", "wait_52_plus_weeks", "count"),
            ],
            england,
        ),
        "clearance": Table(
            "England's services: months to clear the 52+ week backlog (blank: not within 24 months)",
            [
                Column("Service", "label"),
                Column("Over 52 weeks now", "wait_52_plus_weeks_as_of", "count"),
                Column("Months, current trend", "trend_months_to_clear_52_plus_weeks", "count"),
                Column("Extra patients a week for the 52-week standard", "extra_weekly_capacity_52_weeks", "count"),
                Column("Months, with that capacity", "standard_months_to_clear_52_plus_weeks", "count"),
            ],
            clearance,
        ),
    }


def _projection_series(row: Row) -> str:
    if row["area_code"] != "England":
        return "Every service"
    return "Adult services" if row["service_category"] == "adult" else "Children and young people"


def _data_quality(data: ReportData, run: RunSummary | None) -> dict[str, Any]:
    counts = {"pass": 0, "warn": 0, "fail": 0, "error": 0, "skipped": 0, "total": 0}
    if run is not None:
        counts.update({status: run.counts.get(status, 0) for status in ("pass", "warn", "fail", "error", "skipped")})
        counts["total"] = run.tests
    return {
        "takeaway": takeaways.data_quality(
            counts, data.revisions, data.provider_changes, data.unmapped_providers, bool(run and run.tests)
        ),
        "run": run,
        "counts": counts,
        "months_checked": describe_months(run.months_checked, run.checks_every_month) if run else "",
        "problems": Table(
            "Tests that did not pass in the last dbt build",
            [
                Column("Status", "status"),
                Column("Test", "name"),
                Column("Result", "detail"),
                Column("Failing rows stored in (or the query that finds them)", "relation"),
            ],
            [
                {**vars(problem), "relation": _schema_and_table(problem.relation) or problem.query}
                for problem in run.problems
            ]
            if run
            else [],
        ),
        "revisions": Table(
            f"Months revised by the releases landed with {month(data.period)}",
            [
                Column("Month revised", "revised_period", "month"),
                Column("Replaced file", "superseded_file_name"),
                Column("Replaced release dated", "superseded_released_on"),
                Column("Revised file", "revised_file_name"),
                Column("Revision dated", "revised_released_on"),
                Column("Landed (UTC)", "revised_loaded_at"),
            ],
            data.revisions,
        ),
        "changes": Table(
            f"Providers new or vanished in {month(data.period)} (against the month landed before)",
            [
                Column("Change", "provider_change"),
                Column("Code", "org_code"),
                Column("Provider", "org_name"),
                Column("Maps to trust", "trust_code"),
            ],
            data.provider_changes,
        ),
        "unmapped": Table(
            "Providers not in seeds/trust_mapping.csv (make propose-mapping proposes rows)",
            [
                Column("Code", "org_code"),
                Column("Provider", "org_name"),
                Column("Proposed reason", "match_reason"),
                Column("First seen", "first_period", "month"),
                Column("Last seen", "last_period", "month"),
            ],
            data.unmapped_providers,
        ),
        "anomalies": None
        if data.anomalies is None
        else Table(
            f"Organisation months flagged as suspicious, {month(data.period)} (the figures are as published)",
            [
                Column("Level", "org_level"),
                Column("Code", "org_code"),
                Column("Organisation", "org_name"),
                Column("Flag", "anomaly"),
                Column("Patients waiting", "total_waiting", "count"),
                Column("The month before", "previous_total_waiting", "count"),
                Column("Likely cause", "likely_cause"),
            ],
            data.anomalies,
        ),
        "service_steps": None
        if data.service_steps is None
        else Table(
            f"Service months flagged as steps, {month(data.period)}: one service's list x5 or x0.2 on the month "
            "before (the figures are as published; the capacity estimates take no flow from them)",
            [
                Column("Level", "org_level"),
                Column("Code", "org_code"),
                Column("Organisation", "org_name"),
                Column("Service", "service_label"),
                Column("The month before", "previous_total_waiting", "count"),
                Column("Patients waiting", "total_waiting", "count"),
                Column("Ratio", "change_ratio", "ratio"),
                Column("Likely cause", "likely_cause"),
            ],
            data.service_steps,
        ),
    }


def build_context(data: ReportData, run: RunSummary | None, generated_at: dt.datetime) -> dict[str, Any]:
    """Everything the page template shows, from the month's rows."""
    period = data.period
    charts = Charts(period)
    # the drill-down starts on the trust with the most 52+ week waits (every NHS trust with
    # community data, from the workbook); no MSK/RTT section for a month trust_metrics does
    # not have yet (a workbook landed before the extract has it)
    default_trust = data.trust_summary[0]["trust_code"] if data.trust_summary else None
    # the MSK/RTT comparison needs trust_metrics' month (its RTT figures); the rankings only the workbook
    in_trust_metrics_month = any(
        row["measure"] == "trust_metrics_trusts" and row["measure_value"] is not None for row in data.headlines
    )
    return {
        "title": f"Community health services waiting lists: {month(period)}",
        "period": f"{period:%Y-%m}",
        "period_label": month(period),
        "months_label": f"{month(data.months[0])} to {month(period)}" if len(data.months) > 1 else month(period),
        "generated_at": f"{generated_at:%d %B %Y %H:%M} UTC",
        "target": data.target,
        "source": SOURCE,
        "trust_source": TRUST_SOURCE,
        "headline_takeaway": takeaways.headline({row["measure"]: row for row in data.headlines}, period),
        "cards": _headline_cards(data),
        "headline_table": _headline_table(data),
        "long_waits": _long_waits(data, charts),
        "largest_services": _largest_services(data, charts),
        "heatmap": _heatmap(data, charts),
        "trusts": _trusts(data, charts, default_trust) if default_trust else None,
        "msk": _msk_vs_rtt(data, charts, default_trust) if default_trust and in_trust_metrics_month else None,
        "capacity": _capacity(data, charts),
        "projection": _projection(data, charts, default_trust),
        "dq": _data_quality(data, run),
        "charts": charts,
    }
