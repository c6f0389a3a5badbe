"""What a data review found, in words: the top of ``target/review.md``.

Reads recce's state file (``recce run`` writes it: every check's result, and both
environments' manifests and catalogs) and says what a change does to the marts: rows
gained or lost, how many values of which column changed and in which months, the headline
figures of the latest month, the models changed and their columns. Every number comes from
a check in ``recce.yml``; this module compares the two sides and words them, it queries
nothing. Standard library only, so the loader never imports recce.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# What one row of a mart is, where "rows" would say less (value diffs say "<column> changed
# for 1,152 trust-months").
GRAIN_NOUNS = {"trust_metrics": "trust-months", "community_period_coverage": "months"}

# The headline check's columns in words (others: the column name with spaces).
FIGURE_LABELS = {
    "trusts_with_community_data": "trusts with community data",
    "services_reported": "services reported",
    "patients_waiting": "patients waiting",
    "national_total_waiting": "national total",
    "adult_52_plus_weeks": "adult 52+ week waits",
    "cyp_52_plus_weeks": "CYP 52+ week waits",
}

# A query diff named "<model> by month" (columns <column>__values, <column>__sum per period)
# dates the value changes of that model's columns; the headline figures are this check.
BY_MONTH_SUFFIX = " by month"
HEADLINE_CHECK = "Headline figures by month"
MONTH_STATISTICS = ("__values", "__sum")
MAX_COLUMNS_IN_LEAD = 4

Row = dict[str, Any]


def load_state(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


# ---------------------------------------------------------------- reading the state file


def _frame_rows(frame: dict[str, Any] | None) -> list[Row]:
    """recce's DataFrame ({"columns": [{"key": ...}], "data": [[...]]}) as dicts."""
    if not frame:
        return []
    keys = [str(column["key"]).lower() for column in frame.get("columns", [])]
    return [dict(zip(keys, values, strict=True)) for values in frame.get("data", [])]


def _number(value: Any) -> int | float | None:
    """recce stores numbers as numbers or as their text; None stays None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _same(left: Any, right: Any) -> bool:
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        return abs(left_number - right_number) <= 1e-9 * max(1.0, abs(left_number), abs(right_number))
    return bool(left == right)


@dataclass(frozen=True)
class Check:
    name: str
    type: str
    params: dict[str, Any]
    result: Any  # None when the check has no run (schema and lineage diffs) or it failed
    error: str | None
    has_run: bool


def checks_of(state: dict[str, Any]) -> list[Check]:
    """The checks in recce.yml order, each with its latest run."""
    runs: dict[str, dict[str, Any]] = {}
    for run in state.get("runs", []):
        if run.get("check_id"):
            runs[str(run["check_id"])] = run  # later runs replace earlier ones
    checks = []
    for check in state.get("checks", []):
        run = runs.get(str(check.get("check_id")))
        checks.append(
            Check(
                name=str(check.get("name")),
                type=str(check.get("type")),
                params=dict(check.get("params") or {}),
                result=None if run is None else run.get("result"),
                error=None if run is None else run.get("error"),
                has_run=run is not None,
            )
        )
    return checks


@dataclass
class ValueDiff:
    """A value_diff result: rows matched by primary key, values changed per column."""

    model: str
    primary_key: list[str]
    total: int
    added: int  # keys only in the current environment
    removed: int  # keys only in the base
    changed: dict[str, int] = field(default_factory=dict)  # column -> values changed in common rows

    @property
    def common(self) -> int:
        return self.total - self.added - self.removed


def value_diff(check: Check) -> ValueDiff | None:
    if check.type != "value_diff" or not isinstance(check.result, dict):
        return None
    summary = check.result.get("summary") or {}
    primary_key = check.params.get("primary_key")
    keys = [primary_key] if isinstance(primary_key, str) else list(primary_key or [])
    diff = ValueDiff(
        model=str(check.params.get("model")),
        primary_key=[str(key) for key in keys],
        total=int(_number(summary.get("total")) or 0),
        added=int(_number(summary.get("added")) or 0),
        removed=int(_number(summary.get("removed")) or 0),
    )
    for row in _frame_rows(check.result.get("data")):
        column = str(row.get("column"))
        if column.lower() in (key.lower() for key in diff.primary_key):
            continue
        diff.changed[column] = diff.common - int(_number(row.get("matched")) or 0)
    return diff


def query_sides(check: Check) -> tuple[list[Row], list[Row]] | None:
    """A query_diff's rows on each side (base, current), when both were kept."""
    if check.type != "query_diff" or not isinstance(check.result, dict):
        return None
    if check.result.get("base") is None and check.result.get("current") is None:
        return None  # a diff kept only as differing rows (primary_keys given)
    return _frame_rows(check.result.get("base")), _frame_rows(check.result.get("current"))


def keyed_query_rows(check: Check) -> tuple[list[str], dict[tuple[Any, ...], Row], dict[tuple[Any, ...], Row]]:
    """A query_diff run with primary_keys: recce keeps the differing rows only, each with
    in_a (on the base) and in_b (on the current side)."""
    keys = [str(key).lower() for key in check.params.get("primary_keys") or []]
    base: dict[tuple[Any, ...], Row] = {}
    current: dict[tuple[Any, ...], Row] = {}
    result = check.result if isinstance(check.result, dict) else {}
    for row in _frame_rows(result.get("diff")):
        in_a, in_b = str(row.pop("in_a", "")).lower() == "true", str(row.pop("in_b", "")).lower() == "true"
        key = tuple(row.get(column) for column in keys)
        if in_a:
            base[key] = row
        if in_b:
            current[key] = row
    return keys, base, current


def month_label(value: Any, long: bool = False) -> str:
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return day.strftime("%B %Y" if long else "%b %Y")


@dataclass
class MonthlyDiff:
    """A query_diff with one row per period: which months and columns moved."""

    columns: list[str]
    base: dict[str, Row]
    current: dict[str, Row]

    @property
    def months(self) -> list[str]:
        return sorted(set(self.base) | set(self.current))

    def moved(self, month: str, column: str) -> bool:
        return not _same(self.base.get(month, {}).get(column), self.current.get(month, {}).get(column))

    def months_moved(self, columns: Iterable[str]) -> list[str]:
        wanted = list(columns)
        return [month for month in self.months if any(self.moved(month, column) for column in wanted)]


def monthly_diff(check: Check) -> MonthlyDiff | None:
    sides = query_sides(check)
    if sides is None:
        return None
    base_rows, current_rows = sides
    rows = base_rows or current_rows
    if not rows or "period" not in rows[0]:
        return None
    columns = [column for column in rows[0] if column != "period"]
    return MonthlyDiff(
        columns=columns,
        base={str(row["period"])[:10]: row for row in base_rows},
        current={str(row["period"])[:10]: row for row in current_rows},
    )


@dataclass(frozen=True)
class NodeChanges:
    modified: list[str]  # "name (what: SQL, config, contract)"
    added: list[str]
    removed: list[str]


def _what_changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    what = []
    if (before.get("checksum") or {}).get("checksum") != (after.get("checksum") or {}).get("checksum"):
        what.append("SQL" if str(after.get("resource_type")) in ("model", "test") else "contents")
    if before.get("unrendered_config") != after.get("unrendered_config"):
        what.append("config")
    if (before.get("contract") or {}).get("checksum") != (after.get("contract") or {}).get("checksum"):
        what.append("contract")
    return what


def node_changes(state: dict[str, Any]) -> NodeChanges:
    """Models, seeds, snapshots and tests that differ between the two manifests: their
    file (SQL or CSV), their config, or their contract.

    Only enabled nodes count: dbt keeps a test on a disabled model (stg_trust_metrics__live
    unless trust_metrics_source is `live`) in ``nodes`` with ``enabled: false`` after one
    parse and leaves it out after another, so a node disabled on both sides is no change."""
    artifacts = state.get("artifacts") or {}
    base = ((artifacts.get("base") or {}).get("manifest") or {}).get("nodes") or {}
    current = ((artifacts.get("current") or {}).get("manifest") or {}).get("nodes") or {}
    kinds = ("model.", "seed.", "snapshot.", "test.")

    def relevant(nodes: dict[str, Any]) -> set[str]:
        return {
            unique_id
            for unique_id, node in nodes.items()
            if unique_id.startswith(kinds) and (node.get("config") or {}).get("enabled", True) is not False
        }

    def name(unique_id: str) -> str:
        node = current.get(unique_id) or base.get(unique_id) or {}
        kind = unique_id.split(".")[0]
        return str(node.get("name", unique_id)) + ("" if kind == "model" else f" ({kind})")

    modified = []
    for unique_id in relevant(base) & relevant(current):
        what = _what_changed(base[unique_id], current[unique_id])
        if what:
            modified.append(f"{name(unique_id)} ({', '.join(what)})".replace(") (", ", "))
    return NodeChanges(
        modified=sorted(modified),
        added=sorted(name(u) for u in relevant(current) - relevant(base)),
        removed=sorted(name(u) for u in relevant(base) - relevant(current)),
    )


def column_changes(state: dict[str, Any]) -> dict[str, list[str]]:
    """Per model present on both sides: columns added, removed or retyped (from the catalogs)."""
    artifacts = state.get("artifacts") or {}
    base = ((artifacts.get("base") or {}).get("catalog") or {}).get("nodes") or {}
    current = ((artifacts.get("current") or {}).get("catalog") or {}).get("nodes") or {}
    changes: dict[str, list[str]] = {}
    for unique_id in sorted(set(base) & set(current)):
        if not unique_id.startswith("model."):
            continue
        before = {name.lower(): str(c.get("type")) for name, c in (base[unique_id].get("columns") or {}).items()}
        after = {name.lower(): str(c.get("type")) for name, c in (current[unique_id].get("columns") or {}).items()}
        found = [f"+{name} {after[name]}" for name in after if name not in before]
        found += [f"-{name}" for name in before if name not in after]
        found += [
            f"{name} {before[name]} -> {after[name]}"
            for name in after
            if name in before and before[name].lower() != after[name].lower()
        ]
        if found:
            changes[unique_id.split(".")[-1]] = found
    return changes


# ---------------------------------------------------------------- wording


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 or noun.endswith("s") else "s")


def _span(months: list[str]) -> str:
    if not months:
        return ""
    if len(months) == 1:
        return month_label(months[0])
    return f"{month_label(months[0])} to {month_label(months[-1])}"


def _row_count_phrase(base: int | None, current: int | None) -> str | None:
    if base is None and current is None:
        return "on neither side"
    if base is None:
        return f"new, {_count(current or 0, 'row')}"
    if current is None:
        return f"gone (the base had {_count(base, 'row')})"
    if base == current:
        return None
    difference = current - base
    return f"{_count(abs(difference), 'row')} {'more' if difference > 0 else 'fewer'} ({base:,} -> {current:,})"


def _value_phrases(diff: ValueDiff, by_month: MonthlyDiff | None) -> list[str]:
    phrases = []
    if diff.added and diff.removed:  # else the row count says it
        keys = ", ".join(diff.primary_key)
        parts = [f"{diff.removed:,} gone"] if diff.removed else []
        parts += [f"{diff.added:,} new"] if diff.added else []
        phrases.append(f"rows by ({keys}): {' and '.join(parts)}")
    changed = sorted(((n, c) for c, n in diff.changed.items() if n), key=lambda item: -item[0])
    noun = GRAIN_NOUNS.get(diff.model)
    for number, column in changed[:MAX_COLUMNS_IN_LEAD]:
        phrase = f"{column} changed for {number:,} {noun}" if noun else f"{number:,} values of {column} changed"
        if by_month is not None:
            months = by_month.months_moved(column + suffix for suffix in MONTH_STATISTICS)
            if months:
                phrase += f" in {_count(len(months), 'month')} ({_span(months)})"
        phrases.append(phrase)
    if len(changed) > MAX_COLUMNS_IN_LEAD:
        more = changed[MAX_COLUMNS_IN_LEAD:]
        phrases.append(f"and {len(more)} more columns ({', '.join(column for _, column in more)})")
    return phrases


def _figure(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "blank" if value is None else str(value)
    return f"{number:,}"


def _figure_label(column: str) -> str:
    return FIGURE_LABELS.get(column, column.replace("_", " "))


def _headline_phrases(headline: MonthlyDiff) -> list[str]:
    """The latest month's figures (what moved, what did not), then the earlier months that moved."""
    months = headline.months
    if not months:
        return []
    latest = months[-1]
    before, after = headline.base.get(latest, {}), headline.current.get(latest, {})
    moved = [c for c in headline.columns if headline.moved(latest, c)]
    kept = [c for c in headline.columns if c not in moved]
    parts = []
    for column in moved:
        change = ""
        old, new = _number(before.get(column)), _number(after.get(column))
        if old is not None and new is not None:
            change = f" ({new - old:+,})"
        parts.append(f"{_figure_label(column)} {_figure(before.get(column))} -> {_figure(after.get(column))}{change}")
    if kept:
        unchanged = ", ".join(f"{_figure_label(c)} {_figure(after.get(c))}" for c in kept)
        parts.append("unchanged: " + unchanged)
    phrases = [f"{month_label(latest, long=True)}: " + "; ".join(parts)]
    earlier = [m for m in headline.months_moved(headline.columns) if m != latest]
    if earlier:
        phrases.append(f"headline figures also moved in {_count(len(earlier), 'earlier month')} ({_span(earlier)})")
    elif len(months) > 1:
        phrases.append(f"headline figures of the {_count(len(months) - 1, 'earlier month')} unchanged")
    return phrases


@dataclass
class Review:
    """Everything the summary says, read from one state file."""

    checks: list[Check]
    row_counts: dict[str, tuple[int | None, int | None]]
    value_diffs: dict[str, ValueDiff]
    by_month: dict[str, MonthlyDiff]
    headline: MonthlyDiff | None
    keyed_queries: list[Check]
    nodes: NodeChanges
    columns: dict[str, list[str]]

    @property
    def failed(self) -> list[Check]:
        """Checks that should have run and did not finish; a value diff of a model on one
        side only (a mart the change adds or removes) cannot run, and is not counted."""
        one_sided = set(self.nodes.added) | set(self.nodes.removed)
        return [
            c
            for c in self.checks
            if (c.error or (not c.has_run and c.type not in ("schema_diff", "lineage_diff")))
            and c.params.get("model") not in one_sided
        ]


def read_review(state: dict[str, Any]) -> Review:
    checks = checks_of(state)
    row_counts: dict[str, tuple[int | None, int | None]] = {}
    value_diffs: dict[str, ValueDiff] = {}
    by_month: dict[str, MonthlyDiff] = {}
    headline = None
    keyed = []
    for check in checks:
        if check.type == "row_count_diff" and isinstance(check.result, dict):
            for model, counts in check.result.items():
                base, current = _number(counts.get("base")), _number(counts.get("curr"))
                row_counts[model] = (None if base is None else int(base), None if current is None else int(current))
        elif (diff := value_diff(check)) is not None:
            value_diffs[diff.model] = diff
        elif check.type == "query_diff" and check.params.get("primary_keys") and isinstance(check.result, dict):
            keyed.append(check)
        elif (monthly := monthly_diff(check)) is not None:
            if check.name == HEADLINE_CHECK:
                headline = monthly
            elif check.name.endswith(BY_MONTH_SUFFIX):
                by_month[check.name.removesuffix(BY_MONTH_SUFFIX)] = monthly
    return Review(
        checks=checks,
        row_counts=row_counts,
        value_diffs=value_diffs,
        by_month=by_month,
        headline=headline,
        keyed_queries=keyed,
        nodes=node_changes(state),
        columns=column_changes(state),
    )


def _keyed_query_phrase(check: Check) -> tuple[str, str] | None:
    _, base, current = keyed_query_rows(check)
    if not base and not current:
        return None
    model_match = re.search(r"ref\(\s*['\"](\w+)['\"]", str(check.params.get("sql_template", "")))
    model = model_match.group(1) if model_match else check.name
    gone = sorted(k for k in base if k not in current)
    new = sorted(k for k in current if k not in base)
    changed = sorted(k for k in current if k in base)
    parts = []
    for label, found in (("gone", gone), ("new", new), ("changed", changed)):
        if found:
            shown = ", ".join("/".join(str(v) for v in key) for key in found[:5])
            parts.append(f"{_count(len(found), 'row')} {label} ({shown}{', ...' if len(found) > 5 else ''})")
    return model, "; ".join(parts)


def lead_lines(review: Review) -> list[str]:
    """One bullet per mart that moved, then the headline figures; or 'no change'."""
    models = list(review.row_counts) + [m for m in review.value_diffs if m not in review.row_counts]
    lines = []
    for model in models:
        phrases = []
        if model in review.row_counts:
            phrase = _row_count_phrase(*review.row_counts[model])
            if phrase:
                phrases.append(phrase)
        if model in review.value_diffs:
            phrases.extend(_value_phrases(review.value_diffs[model], review.by_month.get(model)))
        if phrases:
            lines.append(f"- **{model}**: " + "; ".join(phrases))
    for check in review.keyed_queries:
        found = _keyed_query_phrase(check)
        if found:
            lines.append(f"- **{found[0]}**: {found[1]}")
    moved_anything = bool(lines)
    if review.headline is not None:
        headline = _headline_phrases(review.headline)
        if headline:
            lines.append("- " + "; ".join(headline))
    if not moved_anything:
        marts = ", ".join(
            f"{model} {current:,} rows" for model, (_, current) in review.row_counts.items() if current is not None
        )
        lines.insert(
            0, f"- **No change in the data**: every mart has the same rows and values on both sides ({marts})."
        )
    return lines


def detail_lines(review: Review) -> list[str]:
    lines = ["", "#### Models changed"]
    nodes = review.nodes
    if not (nodes.modified or nodes.added or nodes.removed):
        lines.append("No model, seed or test differs.")
    for label, names in (("modified", nodes.modified), ("new", nodes.added), ("removed", nodes.removed)):
        if names:
            lines.append(f"- {label}: {', '.join(names)}")
    lines += ["", "#### Columns"]
    if review.columns:
        lines += [f"- {model}: {', '.join(found)}" for model, found in review.columns.items()]
    else:
        lines.append("No column added, removed or retyped in any model on both sides.")
    if review.value_diffs:
        lines += [
            "",
            "#### Rows and values",
            "",
            "| mart | rows base | rows current | values changed |",
            "|---|--:|--:|---|",
        ]
        for model, diff in review.value_diffs.items():
            base, current = review.row_counts.get(model, (None, None))
            changed = ", ".join(f"{c} {n:,}" for c, n in diff.changed.items() if n) or "none"
            lines.append(f"| {model} | {_figure(base)} | {_figure(current)} | {changed} |")
    if review.headline is not None and review.headline.months:
        headline = review.headline
        labels = [_figure_label(c) for c in headline.columns]
        lines += ["", "#### Headline figures by month (current; base where it differs)", ""]
        lines += ["| month | " + " | ".join(labels) + " |", "|---" + "|--:" * len(labels) + "|"]
        for month in headline.months:
            cells = []
            for column in headline.columns:
                now = _figure(headline.current.get(month, {}).get(column))
                before = _figure(headline.base.get(month, {}).get(column))
                cells.append(now if not headline.moved(month, column) else f"**{now}** (was {before})")
            lines.append(f"| {month_label(month)} | " + " | ".join(cells) + " |")
    failed = review.failed
    lines += ["", "#### Checks", f"{len(review.checks)} checks (recce.yml), {len(failed)} failed."]
    for check in failed:
        reason = (check.error or "did not run").strip().splitlines()[0]
        lines.append(f"- FAILED {check.name}: {reason}")
    return lines


def render_review(
    state: dict[str, Any],
    base_label: str,
    current_label: str,
    recce_markdown: str | None = None,
) -> tuple[str, bool]:
    """The Markdown of target/review.md, and whether every check ran."""
    review = read_review(state)
    lines = [f"### Data review: {current_label} against {base_label}", ""]
    lines += lead_lines(review)
    lines += detail_lines(review)
    if recce_markdown:
        lines += ["", "<details><summary>recce summary (lineage and checks)</summary>", "", recce_markdown.strip()]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n", not review.failed
