"""The data-quality summary printed after dbt build."""

from __future__ import annotations

import json
from pathlib import Path

from loader.report import dq_summary


def test_summary_counts_and_lists_problems(tmp_path: Path) -> None:
    results = {
        "results": [
            {"unique_id": "test.p.ok", "status": "pass", "failures": 0},
            {"unique_id": "test.p.some_warning", "status": "warn", "failures": 8, "relation_name": '"db"."audit"."w"'},
            {"unique_id": "test.p.broken", "status": "fail", "failures": 3},
            {
                "unique_id": "unit_test.p.fct_capacity.zero_list",
                "status": "fail",
                "failures": 1,
                "message": "actual differs from expected:\n\n@@ ,period,queue_load",
            },
            {"unique_id": "model.p.fine", "status": "success"},
        ]
    }
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(results))
    text, failed = dq_summary(path)
    assert failed
    lines = text.splitlines()
    assert lines[0] == "data quality: 4 tests: 1 passed, 1 warned, 2 failed, 0 errored, 0 skipped"
    assert lines[1] == "  FAIL  broken: 3 offending rows"
    assert lines[2] == '  WARN  some_warning: 8 offending rows  (stored in "db"."audit"."w")'
    assert lines[3] == "  FAIL  fct_capacity::zero_list: actual differs from expected:"


def test_summary_of_a_clean_run(tmp_path: Path) -> None:
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({"results": [{"unique_id": "test.p.ok", "status": "pass"}]}))
    assert dq_summary(path) == ("data quality: 1 tests: 1 passed, 0 warned, 0 failed, 0 errored, 0 skipped", False)


def test_provider_totals_from_table_4_cells() -> None:
    from loader.release import provider_totals

    title = (1, 1, 1, "s", "Total waiting list by service, July 2025")
    header = [
        (1, 3, c, "s", t)
        for c, t in enumerate(["Organisation Type", "Organisation Code", "Organisation Name", "(A) X", "(A) Y"], 1)
    ]
    body = [
        (1, 4, 1, "s", "National"), (1, 4, 3, "s", "England"), (1, 4, 4, "n", "9"),
        (1, 5, 1, "s", "Provider"), (1, 5, 2, "s", "RJ7"), (1, 5, 3, "s", "ST GEORGE'S"),
        (1, 5, 4, "n", "4"), (1, 5, 5, "n", "5"),
        (2, 1, 1, "s", "Cover page"),
    ]  # fmt: skip
    assert provider_totals([title, *header, *body]) == {"RJ7": 9}  # National row not counted
    assert provider_totals([title]) == {}  # no header row: nothing to report, no crash


def test_anomaly_line_names_the_month_the_figures_and_the_cause(tmp_path: Path) -> None:
    import datetime as dt

    from loader.anomalies import describe_flagged_month, last_invocation_id

    row = {
        "org_level": "provider",
        "org_code": "RAL",
        "org_name": "ROYAL FREE LONDON NHS FOUNDATION TRUST",
        "period": dt.date(2025, 1, 1),
        "previous_total_waiting": 1364,
        "total_waiting": 7979,
        "change_ratio": 7979 / 1364,
        "is_rolled_forward": False,
        "is_zero_glitch": False,
        "is_large_change": True,
        "likely_cause": "merger: RAP to RAL from 2025-01-01",
    }
    assert describe_flagged_month(row) == (
        "  Jan 2025 provider RAL ROYAL FREE LONDON NHS FOUNDATION TRUST: large change; 1364 -> 7979 (x5.85); "
        "likely cause: merger: RAP to RAL from 2025-01-01"
    )
    zeros = {**row, "total_waiting": 0, "change_ratio": 0.0, "is_zero_glitch": True, "likely_cause": None}
    assert describe_flagged_month(zeros).endswith(": all zeros, large change; 1364 -> 0 (x0.00)")
    results = tmp_path / "run_results.json"
    results.write_text(json.dumps({"metadata": {"invocation_id": "abc"}, "results": []}))
    assert last_invocation_id(results) == "abc"
    assert last_invocation_id(tmp_path / "missing.json") is None
