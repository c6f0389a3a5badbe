"""Read the release report's numbers from the warehouse: the report models, by name.

Every figure the report shows is computed by a dbt model (models/marts/report/,
``rpt_release_*``, and ``trust_mapping_proposals``); this module selects the month's rows
and nothing else: no sums, no ratios. Values come back as plain Python numbers (ints
where whole), so DuckDB and PostgreSQL give the same report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from loader.errors import LoaderError
from loader.warehouse import Warehouse

SCHEMA = "marts"
Row = dict[str, Any]

# Optional sections: shown when the model exists in the warehouse (enabled in the dbt
# project once the capacity mart / the anomaly flags are there), else "not available".
CAPACITY_RELATION = "rpt_release_capacity"
ANOMALIES_RELATION = "rpt_release_anomalies"
SERVICE_STEPS_RELATION = "rpt_release_service_steps"
PROJECTION_RELATION = "rpt_release_projection"  # rows only for the latest landed month
TREND_MONTHS = 12  # the trusts' trend charts (section 5): this many months up to the report's


@dataclass
class ReportData:
    period: dt.date
    months: list[dt.date]  # every landed month up to and including period
    headlines: list[Row]
    national_waits: list[Row]  # every month up to period
    national_services: list[Row]
    service_wait_bands: list[Row]
    trust_summary: list[Row]  # the month's trusts
    trust_trend: list[Row]  # every trust, the TREND_MONTHS months up to period
    trust_services: list[Row]
    trust_coverage: list[Row]  # the month's list by group of providers (in trust_metrics or not, ...)
    msk_vs_rtt: list[Row]
    provider_changes: list[Row]
    revisions: list[Row]
    unmapped_providers: list[Row]
    capacity: list[Row] | None = None  # None: the relation does not exist in this build
    anomalies: list[Row] | None = None
    service_steps: list[Row] | None = None
    projection: list[Row] | None = None  # None: not in this build; []: not the latest month
    target: str = ""


def _plain(value: Any) -> Any:
    """Numbers as int when whole, else float, whatever the engine returned (DuckDB's
    round() gives a double, PostgreSQL's a numeric), so both give the same page."""
    if isinstance(value, Decimal | float):
        return int(value) if value == int(value) else float(value)
    return value


def _months_before(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` calendar months before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _date_literal(day: dt.date) -> str:
    return f"date '{day:%Y-%m-%d}'"


def read_rows(warehouse: Warehouse, relation: str, columns: str, where: str, order_by: str) -> list[Row]:
    """``select columns from marts.relation where ... order by ...`` as dicts of plain values."""
    sql = f"select {columns} from {SCHEMA}.{relation} where {where} order by {order_by}"
    try:
        rows = warehouse.execute(sql)
    except Exception as exc:  # a model missing: the project was not built with the report models
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoaderError(f"cannot read {SCHEMA}.{relation} (run dbt build first): {first_line}") from exc
    names = [name.strip() for name in columns.split(",")]
    return [{name: _plain(value) for name, value in zip(names, row, strict=True)} for row in rows]


def relation_exists(warehouse: Warehouse, relation: str) -> bool:
    rows = warehouse.execute(
        f"select count(*) from information_schema.tables where table_schema = '{SCHEMA}' and table_name = '{relation}'"
    )
    return bool(rows[0][0])


def landed_months(warehouse: Warehouse) -> list[dt.date]:
    rows = read_rows(warehouse, "rpt_release_headlines", "period", "measure = 'patients_waiting'", "period")
    return [row["period"] for row in rows]


def choose_period(months: list[dt.date], asked: str | None) -> dt.date:
    """The month asked for (``YYYY-MM``), else the latest landed; one clear error otherwise."""
    if not months:
        raise LoaderError("no months landed in the warehouse: land workbooks and run dbt build first")
    if asked is None:
        return months[-1]
    try:
        period = dt.datetime.strptime(asked, "%Y-%m").date()
    except ValueError as exc:
        raise LoaderError(f"--period {asked}: expected YYYY-MM, e.g. 2025-07") from exc
    if period not in months:
        raise LoaderError(f"--period {asked}: not landed (landed: {months[0]:%Y-%m} to {months[-1]:%Y-%m})")
    return period


def read_report_data(warehouse: Warehouse, asked_period: str | None, target: str = "") -> ReportData:
    months = landed_months(warehouse)
    period = choose_period(months, asked_period)
    this_month = f"period = {_date_literal(period)}"
    # the trusts' trends: the TREND_MONTHS months up to the report's (not every month held)
    trend_start = _months_before(period, TREND_MONTHS)
    trend_months = f"period > {_date_literal(trend_start)} and period <= {_date_literal(period)}"

    def read(relation: str, columns: str, where: str, order_by: str) -> list[Row]:
        return read_rows(warehouse, relation, columns, where, order_by)

    def optional(relation: str, columns: str, order_by: str) -> list[Row] | None:
        if not relation_exists(warehouse, relation):
            return None
        return read(relation, columns, this_month, order_by)

    trust_rows = read(
        "rpt_release_trust_summary",
        "period, trust_code, trust_name, icb_code, icb_name, in_trust_metrics, services_reported, total_waiting, "
        "wait_52_plus_weeks, wait_104_plus_weeks, pct_over_18_weeks, long_wait_rank, over_18_weeks_rank, "
        "list_size_rank",
        trend_months,
        "trust_code, period",
    )
    up_to = f"period <= {_date_literal(period)}"
    return ReportData(
        period=period,
        months=[month for month in months if month <= period],
        headlines=read(
            "rpt_release_headlines",
            "measure, measure_value, previous_period, previous_month_value, change_on_previous_month, "
            "pct_change_on_previous_month, year_ago_period, year_ago_value, change_on_year_ago, "
            "pct_change_on_year_ago",
            this_month,
            "measure_order",
        ),
        national_waits=read(
            "rpt_release_national_waits",
            "period, service_category, total_waiting, pct_within_18_weeks, wait_52_plus_weeks, "
            "wait_104_plus_weeks, has_52_week_split, is_band_change_month",
            up_to,
            "period, service_category",
        ),
        national_services=read(
            "rpt_release_national_services",
            "service_category, service_key, service_name, published_order, total_waiting, pct_of_category, "
            "wait_52_plus_weeks, pct_over_52_weeks, pct_within_18_weeks, list_size_rank, long_wait_share_rank",
            this_month,
            "service_category, list_size_rank",
        ),
        service_wait_bands=read(
            "rpt_release_service_wait_bands",
            "service_category, service_key, service_name, published_order, band_key, band_label, band_name, "
            "band_order, patients, total_waiting, pct_of_list",
            this_month,
            "published_order, band_order",
        ),
        trust_summary=sorted(
            (row for row in trust_rows if row["period"] == period), key=lambda row: row["long_wait_rank"]
        ),
        trust_trend=[
            {key: row[key] for key in ("period", "trust_code", "total_waiting", "wait_52_plus_weeks")}
            for row in trust_rows
        ],
        trust_services=read(
            "rpt_release_trust_services",
            "trust_code, service_category, service_key, service_name, total_waiting, wait_52_plus_weeks, "
            "pct_over_18_weeks, list_size_rank",
            this_month,
            "trust_code, list_size_rank",
        ),
        trust_coverage=read(
            "rpt_release_trust_coverage",
            "provider_group, organisations, total_waiting, wait_52_plus_weeks, pct_of_england, "
            "pct_of_england_52_plus_weeks",
            this_month,
            "group_order",
        ),
        msk_vs_rtt=read(
            "rpt_release_msk_vs_rtt",
            "trust_code, trust_name, msk_waiting, rtt_trauma_orthopaedics_waiting, trusts_paired, msk_rtt_correlation",
            this_month,
            "trust_code",
        ),
        provider_changes=read(
            "rpt_release_provider_changes",
            "previous_period, provider_change, org_code, org_name, trust_code",
            this_month,
            "provider_change, org_code",
        ),
        revisions=read(
            "rpt_release_revisions",
            "revised_period, superseded_file_name, superseded_released_on, revised_file_name, "
            "revised_released_on, revised_loaded_at",
            this_month,
            "revised_period, revised_loaded_at",
        ),
        unmapped_providers=read(
            "trust_mapping_proposals",
            "org_code, org_name, match_reason, first_period, last_period",
            f"first_period <= {_date_literal(period)}",
            "org_code",
        ),
        capacity=optional(
            CAPACITY_RELATION,
            "org_type, org_code, org_name, service_category, service_name, total_waiting, wait_52_plus_weeks, "
            "extra_weekly_capacity_18_weeks, capacity_rank",
            "org_type, capacity_rank",
        ),
        anomalies=optional(
            ANOMALIES_RELATION,
            "org_level, org_code, org_name, anomaly, total_waiting, previous_total_waiting, likely_cause",
            "org_level desc, org_code, anomaly",
        ),
        service_steps=optional(
            SERVICE_STEPS_RELATION,
            "org_level, org_code, org_name, service_label, previous_total_waiting, total_waiting, change_ratio, "
            "likely_cause",
            "org_level desc, org_code, service_label",
        ),
        projection=optional(
            PROJECTION_RELATION,
            "row_kind, area_code, area_name, trust_code, service_category, service_key, service_name, scenario, "
            "projected_period, months_ahead, total_waiting, total_waiting_lower, total_waiting_upper, "
            "wait_52_plus_weeks, wait_52_plus_weeks_as_of, trend_months_to_clear_52_plus_weeks, "
            "standard_months_to_clear_52_plus_weeks, extra_weekly_capacity_52_weeks",
            "row_kind, area_code, service_category, scenario, months_ahead, service_key",
        ),
        target=target,
    )
