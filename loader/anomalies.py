"""The anomalies block of the release summary: the organisation-months the last dbt build
flagged (intermediate.int_organisation_months_flagged), the service months it flagged as
steps (intermediate.int_service_months_flagged) and the successor rows the data suggests
(marts.trust_successor_proposals). All are models; this module only renders."""

from __future__ import annotations

from typing import Any

from loader.mapping_proposals import propose_successors
from loader.warehouse import Warehouse

FLAGS_MODEL = "intermediate.int_organisation_months_flagged"
SERVICE_FLAGS_MODEL = "intermediate.int_service_months_flagged"
FLAG_LABELS = {"is_rolled_forward": "rolled forward", "is_zero_glitch": "all zeros", "is_large_change": "large change"}


def describe_flagged_month(row: dict[str, Any]) -> str:
    """One line: month, organisation, flags, figures, likely cause."""
    flags = ", ".join(label for column, label in FLAG_LABELS.items() if row[column])
    before = "-" if row["previous_total_waiting"] is None else row["previous_total_waiting"]
    ratio = f" (x{row['change_ratio']:.2f})" if row["change_ratio"] is not None and row["is_large_change"] else ""
    name = f" {row['org_name']}" if row["org_name"] else ""
    cause = f"; likely cause: {row['likely_cause']}" if row["likely_cause"] else ""
    return (
        f"  {row['period']:%b %Y} {row['org_level']} {row['org_code']}{name}: {flags}; "
        f"{before} -> {row['total_waiting']}{ratio}{cause}"
    )


def describe_service_step(row: dict[str, Any]) -> str:
    """One line: month, organisation, service, figures, likely cause."""
    ratio = f" (x{row['change_ratio']:.2f})" if row["change_ratio"] is not None else ""
    name = f" {row['org_name']}" if row["org_name"] else ""
    cause = f"; likely cause: {row['likely_cause']}" if row["likely_cause"] else ""
    return (
        f"  {row['period']:%b %Y} {row['org_level']} {row['org_code']}{name}, "
        f"{row['service_category']}.{row['service_key']}: "
        f"{row['previous_total_waiting']} -> {row['total_waiting']}{ratio}{cause}"
    )


def anomaly_summary(warehouse: Warehouse, invocation_id: str | None) -> str:
    """The release summary's anomalies block for dbt invocation ``invocation_id`` (the
    build recorded last in the build log: loader/dq_summary.py)."""
    try:
        return "\n".join(anomaly_lines(warehouse, invocation_id))
    except Exception as exc:  # the models are missing when the build failed before them
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"anomalies: not available ({first_line})"


def anomaly_lines(warehouse: Warehouse, invocation_id: str | None, limit: int = 12) -> list[str]:
    """Flagged organisation-months written by dbt invocation ``invocation_id``, then any
    proposed successor rows."""
    columns = [
        "org_level",
        "org_code",
        "org_name",
        "period",
        "previous_total_waiting",
        "total_waiting",
        "change_ratio",
        *FLAG_LABELS,
        "likely_cause",
    ]
    rows = [
        dict(zip(columns, row, strict=True))
        for row in warehouse.execute(
            f"select {', '.join(columns)} from {FLAGS_MODEL} "
            f"where is_flagged and flagged_by_invocation = {warehouse.placeholder} "
            "order by period, org_code, org_level",
            [invocation_id or ""],
        )
    ]
    lines = [f"anomalies: {len(rows)} organisation-months flagged by this build ({FLAGS_MODEL})"]
    lines.extend(describe_flagged_month(row) for row in rows[:limit])
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more")
    step_columns = [
        "org_level",
        "org_code",
        "org_name",
        "service_category",
        "service_key",
        "period",
        "previous_total_waiting",
        "total_waiting",
        "change_ratio",
        "likely_cause",
    ]
    steps = [
        dict(zip(step_columns, row, strict=True))
        for row in warehouse.execute(
            f"select {', '.join(step_columns)} from {SERVICE_FLAGS_MODEL} "
            f"where is_service_step and flagged_by_invocation = {warehouse.placeholder} "
            "order by period, org_code, org_level, service_category, service_key",
            [invocation_id or ""],
        )
    ]
    lines.append(f"service steps: {len(steps)} service months flagged by this build ({SERVICE_FLAGS_MODEL})")
    lines.extend(describe_service_step(row) for row in steps[:limit])
    if len(steps) > limit:
        lines.append(f"  ... and {len(steps) - limit} more")
    successors = propose_successors(warehouse).splitlines()[1:]
    if successors:
        lines.append("  proposed rows for seeds/trust_successors.csv (review, then add):")
        lines.extend(f"    {line}" for line in successors)
    return lines
