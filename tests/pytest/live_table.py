"""A live-shaped trust_metrics table, built from the extract CSV as the team's table is.

The shape follows the dashboard's types (TrustMetrics in the status report author's
repository): uuid ids, ``data_type``, figures as nested JSON (rtt_data {trust_total,
specialties}, ae_data, diagnostics_data by test, capacity_data), community_health_data
null until published, created_at / updated_at. The nesting rules are written here, on
their own, not read from seeds/trust_metrics_live_fields.csv: reading this table back
through the seed and getting the extract's marts checks the seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import psycopg

RTT_METRICS = (
    "total_incomplete_pathways",
    "total_within_18_weeks",
    "total_over_18_weeks",
    "total_52_plus_weeks",
    "total_78_plus_weeks",
    "total_65_plus_weeks",
    "percent_within_18_weeks",
    "median_wait_weeks",
)
AE_KEYS = {
    "ae_attendances_total": "total_attendances",
    "ae_over_4hrs_total": "over_four_hours_total",
    "ae_4hr_performance_pct": "four_hour_performance_pct",
    "ae_emergency_admissions_total": "emergency_admissions_total",
    "ae_12hr_wait_admissions": "twelve_hour_wait_admissions",
}
DIAGNOSTIC_TESTS = {"mri": "mri_scans", "ct": "ct_scans"}
DIAGNOSTIC_METRICS = {"6week_breaches": "six_week_breaches", "13week_breaches": "thirteen_week_breaches"}
CAPACITY = ("avg_daily_discharges", "virtual_ward_capacity", "virtual_ward_occupancy_rate")
IDENTITY = ("trust_code", "trust_name", "period", "icb_code", "icb_name")
CREATED = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)

DDL = """
create table {table} (
    id uuid primary key default gen_random_uuid(),
    trust_code text not null,
    trust_name text,
    period date not null,
    icb_code text,
    icb_name text,
    data_type text not null default 'monthly',
    rtt_data jsonb,
    ae_data jsonb,
    diagnostics_data jsonb,
    capacity_data jsonb,
    community_health_data jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
)"""


def _number(text: str | None) -> Any:
    if text is None or text == "":
        return None
    value = float(text)
    return int(value) if re.fullmatch(r"-?\d+", text) else value


def _place(document: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


def nested(row: dict[str, str]) -> dict[str, dict[str, Any] | None]:
    """The four JSON columns of one extract row; a column whose every figure is empty is null."""
    columns: dict[str, dict[str, Any]] = {"rtt_data": {}, "ae_data": {}, "diagnostics_data": {}, "capacity_data": {}}
    for name, text in row.items():
        if name in IDENTITY:
            continue
        value = _number(text)
        if name.startswith("trust_total_"):
            _place(columns["rtt_data"], ["trust_total", name.removeprefix("trust_total_")], value)
        elif name.startswith("rtt_"):
            metric = next(m for m in RTT_METRICS if name.endswith("_" + m))
            specialty = name.removeprefix("rtt_").removesuffix("_" + metric)
            _place(columns["rtt_data"], ["specialties", specialty, metric], value)
        elif name in AE_KEYS:
            _place(columns["ae_data"], [AE_KEYS[name]], value)
        elif name.startswith("diag_"):
            test, metric = re.fullmatch(
                r"diag_(.+)_(13week_breaches|6week_breaches|planned_tests|total_waiting|unscheduled_tests|"
                r"waiting_list_total)",
                name,
            ).groups()  # type: ignore[union-attr]
            _place(
                columns["diagnostics_data"],
                [DIAGNOSTIC_TESTS.get(test, test), DIAGNOSTIC_METRICS.get(metric, metric)],
                value,
            )
        elif name in CAPACITY:
            _place(columns["capacity_data"], [name], value)
        else:
            raise AssertionError(f"extract column {name} has no place in the live shape")

    def has_figures(document: Any) -> bool:
        if isinstance(document, dict):
            return any(has_figures(value) for value in document.values())
        return document is not None

    return {name: (document if has_figures(document) else None) for name, document in columns.items()}


def create_live_table(connect_args: dict[str, Any], extract: Path, table: str = "public.trust_metrics") -> int:
    """Create ``table`` from the extract: one 'monthly' row per CSV line (its repeats too, as
    in the real table), each created a second after the line before, plus a 'quarterly'
    row publish must leave alone. Returns the number of monthly rows."""
    with extract.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    with psycopg.connect(**connect_args, autocommit=True) as con:
        con.execute(DDL.format(table=table))
        with con.cursor() as cursor:
            cursor.executemany(
                f"insert into {table} (trust_code, trust_name, period, icb_code, icb_name, data_type, rtt_data, "
                "ae_data, diagnostics_data, capacity_data, created_at, updated_at) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        row["trust_code"],
                        row["trust_name"] or None,
                        row["period"],
                        row["icb_code"] or None,
                        row["icb_name"] or None,
                        "monthly",
                        *(None if document is None else json.dumps(document) for document in nested(row).values()),
                        CREATED + dt.timedelta(seconds=line),
                        CREATED + dt.timedelta(seconds=line),
                    )
                    for line, row in enumerate(rows, start=2)
                ],
            )
            first = rows[0]
            cursor.execute(
                f"insert into {table} (trust_code, trust_name, period, data_type) values (%s, %s, %s, 'quarterly')",
                (first["trust_code"], first["trust_name"], first["period"]),
            )
    return len(rows)
