"""Reports over a finished dbt run and the warehouse: data-quality summary, mapping proposals.

The release report (one HTML page per month) is its own package, loader/release_report.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.errors import LoaderError
from loader.warehouse import Warehouse

PROPOSAL_COLUMNS = ("org_code", "org_name", "trust_code", "match_reason", "note")
SUCCESSOR_PROPOSAL_COLUMNS = (
    "predecessor_code",
    "successor_code",
    "effective_period",
    "change_kind",
    "source",
    "evidence",
)
TEST_PREFIXES = ("test.", "unit_test.")


def run_results_path() -> Path:
    return Path(os.environ.get("DBT_TARGET_PATH", "target")) / "run_results.json"


@dataclass
class TestProblem:
    status: str  # warn, fail, error (a test), or error (a model or seed)
    name: str
    detail: str  # "N offending rows" or dbt's message
    relation: str | None  # where the failing rows are stored, if they are


@dataclass
class RunSummary:
    """What a dbt run's run_results.json says about its tests."""

    counts: Counter[str]  # tests by status: pass, warn, fail, error, skipped
    tests: int
    node_errors: int  # models and seeds that errored
    problems: list[TestProblem]  # every test (and node) that did not pass, by name
    generated_at: str | None

    @property
    def failed(self) -> bool:
        return self.counts.get("fail", 0) + self.counts.get("error", 0) + self.node_errors > 0


def summarise_run_results(path: Path | None = None) -> RunSummary:
    path = path or run_results_path()
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoaderError(f"{path}: no dbt results to summarise ({exc.strerror}); run dbt build first") from exc
    # data tests and unit tests (the formulas' checks: unit_test.<project>.<model>.<name>)
    tests = [r for r in document.get("results", []) if str(r.get("unique_id", "")).startswith(TEST_PREFIXES)]
    others = [r for r in document.get("results", []) if not str(r.get("unique_id", "")).startswith(TEST_PREFIXES)]
    node_errors = [r for r in others if r.get("status") == "error"]
    problems = []
    for result in sorted(tests + node_errors, key=lambda r: str(r["unique_id"])):
        status = str(result["status"])
        if status in ("pass", "success", "skipped"):
            continue
        parts = str(result["unique_id"]).split(".")
        unit_test = parts[0] == "unit_test"
        name = f"{parts[2]}::{parts[3]}" if unit_test else parts[2]
        rows = None if unit_test else result.get("failures")  # a unit test's message says how it differs
        detail = f"{rows} offending rows" if rows is not None else str(result.get("message") or "")
        relation = result.get("relation_name")
        problems.append(
            TestProblem(
                status=status,
                name=name,
                detail=detail.splitlines()[0] if detail else "",
                relation=str(relation) if relation and status in ("warn", "fail") else None,
            )
        )
    return RunSummary(
        counts=Counter(str(result["status"]) for result in tests),
        tests=len(tests),
        node_errors=len(node_errors),
        problems=problems,
        generated_at=document.get("metadata", {}).get("generated_at"),
    )


def dq_summary(path: Path | None = None) -> tuple[str, bool]:
    """Summarise dbt's run_results.json: counts by status, then every test that did not pass.

    Returns the text and whether anything failed or errored.
    """
    summary = summarise_run_results(path)
    counts = summary.counts
    lines = [
        f"data quality: {summary.tests} tests: {counts.get('pass', 0)} passed, {counts.get('warn', 0)} warned, "
        f"{counts.get('fail', 0)} failed, {counts.get('error', 0)} errored, {counts.get('skipped', 0)} skipped"
        + (f"; {summary.node_errors} models/seeds errored" if summary.node_errors else "")
    ]
    for problem in summary.problems:
        where = f"  (stored in {problem.relation})" if problem.relation else ""
        lines.append(f"  {problem.status.upper():5} {problem.name}: {problem.detail}{where}")
    return "\n".join(lines), summary.failed


def propose_mapping(warehouse: Warehouse) -> str:
    """CSV rows (with header) for providers seeds/trust_mapping.csv does not list yet."""
    return _proposals_csv(warehouse, "marts.trust_mapping_proposals", PROPOSAL_COLUMNS)


def propose_successors(warehouse: Warehouse) -> str:
    """CSV rows (with header) for seeds/trust_successors.csv: providers that vanished while
    another's list grew by as much (marts.trust_successor_proposals)."""
    return _proposals_csv(warehouse, "marts.trust_successor_proposals", SUCCESSOR_PROPOSAL_COLUMNS)


def _proposals_csv(warehouse: Warehouse, view: str, columns: tuple[str, ...]) -> str:
    try:
        rows = warehouse.execute(f"select {', '.join(columns)} from {view} order by {columns[0]}, {columns[1]}")
    except Exception as exc:  # the view does not exist before the first dbt build
        raise LoaderError(f"cannot read {view} (run dbt build first): {exc}") from exc
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()
