"""The report's building blocks: data tables (text for people, raw values for copying),
and charts (a Vega-Lite spec from templates/charts/ filled with rows)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.release_report.data import Row
from loader.release_report.formatting import MINUS, count, month, pct

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Column:
    label: str
    key: str
    kind: str = "text"  # text, count, pct, number (counts and percentages), ratio (x13.05), month

    @property
    def numeric(self) -> bool:
        return self.kind in ("count", "pct", "number", "ratio")


@dataclass
class Table:
    caption: str
    columns: list[Column]
    rows: list[Row]

    def cells(self) -> list[list[tuple[str, str, bool]]]:
        """Per row, per column: the text shown, the raw value (copied), whether it is a number."""
        return [
            [(_text(row.get(c.key), c.kind), raw(row.get(c.key)), c.numeric) for c in self.columns] for row in self.rows
        ]


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "count":
        return count(value)
    if kind == "pct":
        return pct(value)
    if kind == "month":
        return month(value)
    if kind == "ratio":
        return f"x{value:,.2f}"
    if kind == "number":  # counts and percentages in one column (the headline table)
        return count(value) if isinstance(value, int) else f"{value:,.1f}".replace("-", MINUS)
    return str(value)


def raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


@dataclass
class Chart:
    element_id: str
    spec: dict[str, Any]
    label: str  # what a screen reader hears for the chart (the table follows)

    def spec_json(self) -> str:
        return script_json(self.spec)


def script_json(value: Any) -> str:
    """JSON safe to place inside <script> (no "</script>", no "<!--")."""
    return json.dumps(value, default=_json_default, separators=(",", ":")).replace("<", "\\u003c")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def chart_spec(template: str, rows: list[Row], description: str, **substitutions: str) -> dict[str, Any]:
    text = (TEMPLATES / "charts" / f"{template}.vl.json").read_text(encoding="utf-8")
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    spec: dict[str, Any] = json.loads(text)
    spec["data"] = {"values": rows}
    spec["description"] = description
    return spec
