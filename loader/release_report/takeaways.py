"""One-line takeaways, written from the month's figures (never a fixed sentence).

Each function reads rows the report models return and picks the figures to quote (the
row ranked first, the first and last month); the figures themselves, ranks included,
come from the models.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from loader.release_report.formatting import (
    correlation_strength,
    count,
    direction,
    display_name,
    month,
    pct,
    plural,
    signed,
)

Row = dict[str, Any]
CATEGORY = {"adult": "adult", "cyp": "children and young people's"}


def headline(headlines: dict[str, Row], period: dt.date) -> str:
    total = headlines["patients_waiting"]
    long = headlines["waits_over_52_weeks"]
    text = f"{count(total['measure_value'])} patients were waiting in {month(period)}"
    if total["previous_month_value"] is not None:
        text += (
            f", {direction(total['change_on_previous_month'])} {pct(abs(total['pct_change_on_previous_month']))} "
            f"on {month(total['previous_period'])}"
        )
    text += f"; {count(long['measure_value'])} of them had waited over 52 weeks"
    if long["previous_month_value"] is not None:
        text += f" ({signed(long['change_on_previous_month'])} on the month)"
    return text + "."


def long_waits(rows: list[Row]) -> str:
    first = {row["service_category"]: row for row in reversed(rows)}
    last = {row["service_category"]: row for row in rows}
    if first == last:  # a single month: nothing to compare
        return (
            f"In {month(last['cyp']['period'])}, {count(last['cyp']['wait_52_plus_weeks'])} children and young "
            f"people and {count(last['adult']['wait_52_plus_weeks'])} adults had waited over 52 weeks."
        )
    parts = []
    for category in ("cyp", "adult"):
        before, now = first[category]["wait_52_plus_weeks"] or 0, last[category]["wait_52_plus_weeks"] or 0
        verb = "rose" if now > before else ("fell" if now < before else "were unchanged")
        parts.append(
            f"{CATEGORY[category]} waits over 52 weeks {verb} from {count(before)} "
            f"in {month(first[category]['period'])} to {count(now)} in {month(last[category]['period'])}"
        )
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def largest_services(rows: list[Row]) -> str:
    first = {row["service_category"]: row for row in rows if row["list_size_rank"] == 1}
    adult, cyp = first["adult"], first["cyp"]
    return (
        f"{adult['service_name']} is the largest adult list ({count(adult['total_waiting'])}, "
        f"{pct(adult['pct_of_category'])} of adult waits); {cyp['service_name']} the largest for children and "
        f"young people ({count(cyp['total_waiting'])}, {pct(cyp['pct_of_category'])})."
    )


def heatmap(services: list[Row]) -> str:
    top = next(row for row in services if row["long_wait_share_rank"] == 1)
    return (
        f"{top['service_name']} ({CATEGORY[top['service_category']]}) has the longest tail: "
        f"{pct(top['pct_over_52_weeks'])} of its {count(top['total_waiting'])} patients have waited over 52 weeks."
    )


def trust_rankings(trusts: list[Row]) -> str:
    by = {rank: next(row for row in trusts if row[rank] == 1) for rank in ("long_wait_rank", "list_size_rank")}
    over_18 = next(row for row in trusts if row["over_18_weeks_rank"] == 1)
    return (
        f"{display_name(by['long_wait_rank']['trust_name'])} has the most waits over 52 weeks "
        f"({count(by['long_wait_rank']['wait_52_plus_weeks'])}); {display_name(by['list_size_rank']['trust_name'])} "
        f"the largest list ({count(by['list_size_rank']['total_waiting'])}); {display_name(over_18['trust_name'])} "
        f"the largest share over 18 weeks ({pct(over_18['pct_over_18_weeks'])}), of {len(trusts)} trusts."
    )


def trust_coverage(groups: list[Row]) -> str:
    """Who the rankings cover and who is left out, from rpt_release_trust_coverage's rows."""
    by = {row["provider_group"]: row for row in groups}
    none: Row = {"organisations": 0, "total_waiting": 0, "wait_52_plus_weeks": 0, "pct_of_england": 0}
    inside, outside = by.get("nhs_trusts_in_trust_metrics", none), by.get("nhs_trusts_not_in_trust_metrics", none)
    others = by.get("not_nhs_trusts", none)
    return (
        f"The rankings cover every NHS trust with community data: {inside['organisations']} in trust_metrics "
        f"({count(inside['total_waiting'])} patients) and {plural(outside['organisations'], 'NHS trust')} "
        f"trust_metrics holds no row for, {count(outside['total_waiting'])} patients "
        f"({pct(outside['pct_of_england'])} of England's list) and {count(outside['wait_52_plus_weeks'])} "
        "waiting over 52 weeks: community, mental health and combined trusts, where trust_metrics holds "
        f"acute trusts' rows. {plural(others['organisations'], 'provider')} that are not NHS trusts hold "
        f"{count(others['total_waiting'])} ({count(others['wait_52_plus_weeks'])} over 52 weeks) and are not ranked."
    )


def trust_drill_down(trust: Row, services: list[Row], trend: list[Row]) -> str:
    largest = next(row for row in services if row["list_size_rank"] == 1)
    text = (
        f"{display_name(trust['trust_name'])}: {count(trust['total_waiting'])} patients waiting in "
        f"{plural(trust['services_reported'], 'service')}, {count(trust['wait_52_plus_weeks'])} over 52 weeks; "
        f"largest list {largest['service_name']} "
        f"({count(largest['total_waiting'])})"
    )
    if len(trend) > 1:
        text += f"; {count(trend[0]['total_waiting'])} were waiting in {month(trend[0]['period'])}"
    return text + "."


def msk_vs_rtt(rows: list[Row]) -> str:
    if not rows or rows[0]["msk_rtt_correlation"] is None:
        return "Too few trusts report both community MSK and RTT trauma and orthopaedics waits to compare."
    r = rows[0]["msk_rtt_correlation"]
    return (
        f"Across {rows[0]['trusts_paired']} trusts with both, community MSK and RTT trauma and orthopaedics "
        f"waiting lists show {correlation_strength(r)} correlation (r = {r:.2f})."
    )


def capacity(rows: list[Row]) -> str:
    national = [row for row in rows if row["org_type"] == "National"]
    if not national:
        return "No service needs extra capacity to meet the 18-week standard on these estimates."
    top = national[0]
    return (
        f"England's {top['service_name']} ({CATEGORY[top['service_category']]}) needs the most: "
        f"{count(top['extra_weekly_capacity_18_weeks'])} more patients a week to meet the 18-week standard."
    )


def projection(england: list[Row]) -> str:
    """England's lists 12 months ahead on the current trend (the projection's rows)."""
    in_a_year = {
        row["service_category"]: row
        for row in england
        if row["scenario"] == "current_trend" and row["months_ahead"] == 12
    }
    if set(in_a_year) != {"adult", "cyp"}:
        return "No projection a year ahead in this build."
    adult, cyp = in_a_year["adult"], in_a_year["cyp"]
    return (
        f"On the current trend, in 12 months England's adult lists would hold {count(adult['total_waiting'])} "
        f"patients ({count(adult['wait_52_plus_weeks'])} over 52 weeks) and children's "
        f"{count(cyp['total_waiting'])} ({count(cyp['wait_52_plus_weeks'])} over 52 weeks): "
        "a projection of the current balance, not a forecast (see its backtest)."
    )


def data_quality(
    counts: dict[str, int], revisions: list[Row], changes: list[Row], unmapped: list[Row], tests_found: bool
) -> str:
    new = sum(1 for row in changes if row["provider_change"] == "new")
    tests = (
        f"{plural(counts['total'], 'test')}: {counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed"
        if tests_found
        else "No test results found"
    )
    return (
        f"{tests}; {plural(len(revisions), 'revised month')}; {new} new and {len(changes) - new} vanished "
        f"{'provider' if len(changes) - new == 1 else 'providers'}; "
        f"{plural(len(unmapped), 'provider')} not in the trust mapping."
    )
