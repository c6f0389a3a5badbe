"""Reports over a finished dbt run and the warehouse: data-quality summary, mapping proposals."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from loader.errors import LoaderError
from loader.warehouse import Warehouse

PROPOSAL_COLUMNS = ("org_code", "org_name", "trust_code", "match_reason", "note")
TEST_PREFIXES = ("test.", "unit_test.")


def run_results_path() -> Path:
    return Path(os.environ.get("DBT_TARGET_PATH", "target")) / "run_results.json"


def dq_summary(path: Path | None = None) -> tuple[str, bool]:
    """Summarise dbt's run_results.json: counts by status, then every test that did not pass.

    Returns the text and whether anything failed or errored.
    """
    path = path or run_results_path()
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoaderError(f"{path}: no dbt results to summarise ({exc.strerror}); run dbt build first") from exc
    # data tests and unit tests (the formulas' checks: unit_test.<project>.<model>.<name>)
    tests = [r for r in document.get("results", []) if str(r.get("unique_id", "")).startswith(TEST_PREFIXES)]
    others = [r for r in document.get("results", []) if not str(r.get("unique_id", "")).startswith(TEST_PREFIXES)]
    counts = Counter(str(result["status"]) for result in tests)
    node_errors = [r for r in others if r.get("status") == "error"]
    lines = [
        f"data quality: {len(tests)} tests: {counts.get('pass', 0)} passed, {counts.get('warn', 0)} warned, "
        f"{counts.get('fail', 0)} failed, {counts.get('error', 0)} errored, {counts.get('skipped', 0)} skipped"
        + (f"; {len(node_errors)} models/seeds errored" if node_errors else "")
    ]
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
        where = f"  (stored in {relation})" if relation and status in ("warn", "fail") else ""
        lines.append(f"  {status.upper():5} {name}: {detail.splitlines()[0] if detail else ''}{where}")
    failed = counts.get("fail", 0) + counts.get("error", 0) + len(node_errors) > 0
    return "\n".join(lines), failed


def propose_mapping(warehouse: Warehouse) -> str:
    """CSV rows (with header) for providers seeds/trust_mapping.csv does not list yet."""
    columns = ", ".join(PROPOSAL_COLUMNS)
    try:
        rows = warehouse.execute(f"select {columns} from marts.trust_mapping_proposals order by org_code")
    except Exception as exc:  # the view does not exist before the first dbt build
        raise LoaderError(f"cannot read marts.trust_mapping_proposals (run dbt build first): {exc}") from exc
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PROPOSAL_COLUMNS)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()
