"""loader/review_summary.py on small recce state files the tests write: the words for a
change, for no change, for a mart the change adds, and for a check that failed."""

from __future__ import annotations

from typing import Any

from loader.review_summary import NodeChanges, node_changes, render_review


def frame(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"columns": [{"key": c, "name": c, "type": "text"} for c in columns], "data": rows}


def check(check_id: str, name: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"check_id": check_id, "name": name, "type": kind, "params": params}


def state(
    row_counts: dict[str, tuple[int | None, int | None]],
    fct_matched: int,
    months: tuple[list[list[Any]], list[list[Any]]],
    value_error: str | None = None,
    new_model: str | None = None,
) -> dict[str, Any]:
    total = 10
    checks = [
        check("c1", "Row counts of the marts", "row_count_diff", {"select": "path:models/marts"}),
        check("c2", "fct values", "value_diff", {"model": "fct", "primary_key": ["period", "org_code"]}),
        check("c3", "fct by month", "query_diff", {"sql_template": "select ..."}),
        check("c4", "Headline figures by month", "query_diff", {"sql_template": "select ..."}),
    ]
    runs = [
        {"check_id": "c1", "result": {m: {"base": b, "curr": c} for m, (b, c) in row_counts.items()}},
        {
            "check_id": "c2",
            "error": value_error,
            "result": None
            if value_error
            else {
                "summary": {"total": total, "added": 0, "removed": 0},
                "data": frame(
                    ["column", "matched", "matched_p"],
                    [["period", "10", "1.0"], ["org_code", "10", "1.0"], ["waiting", str(fct_matched), "0.5"]],
                ),
            },
        },
        {
            "check_id": "c3",
            "result": {
                "base": frame(["period", "waiting__values", "waiting__sum"], months[0]),
                "current": frame(["period", "waiting__values", "waiting__sum"], months[1]),
            },
        },
        {
            "check_id": "c4",
            "result": {
                "base": frame(["period", "national_total_waiting"], [["2025-06-01", 100], ["2025-07-01", 120]]),
                "current": frame(["period", "national_total_waiting"], [["2025-06-01", 100], ["2025-07-01", 120]]),
            },
        },
    ]
    nodes = {"model.p.fct": {"name": "fct", "resource_type": "model", "checksum": {"checksum": "a"}}}
    current_nodes = {"model.p.fct": {"name": "fct", "resource_type": "model", "checksum": {"checksum": "b"}}}
    if new_model:
        current_nodes[f"model.p.{new_model}"] = {"name": new_model, "resource_type": "model"}
        checks.append(check("c5", "new values", "value_diff", {"model": new_model, "primary_key": "id"}))
        runs.append({"check_id": "c5", "error": "relation not found", "result": None})
    return {
        "checks": checks,
        "runs": runs,
        "artifacts": {"base": {"manifest": {"nodes": nodes}}, "current": {"manifest": {"nodes": current_nodes}}},
    }


MONTHS = [["2025-06-01", 10, 50], ["2025-07-01", 10, 60]]


def test_a_change_in_plain_words() -> None:
    moved = [["2025-06-01", 10, 50], ["2025-07-01", 9, 55]]
    text, complete = render_review(state({"fct": (20, 18)}, 7, (MONTHS, moved)), "main (abc)", "pr (def)")
    assert complete
    assert "- **fct**: 2 rows fewer (20 -> 18); 3 values of waiting changed in 1 month (Jul 2025)" in text
    assert "- July 2025: unchanged: national total 120; headline figures of the 1 earlier month unchanged" in text
    assert "- modified: fct (SQL)" in text


def test_no_change_says_so() -> None:
    text, complete = render_review(state({"fct": (20, 20)}, 10, (MONTHS, MONTHS)), "main (abc)", "pr (def)")
    assert complete
    assert "- **No change in the data**: every mart has the same rows and values on both sides (fct 20 rows)." in text


def test_a_new_mart_is_not_a_failed_check() -> None:
    counts = {"fct": (20, 20), "capacity": (None, 5)}
    text, complete = render_review(state(counts, 10, (MONTHS, MONTHS), new_model="capacity"), "main", "pr")
    assert complete
    assert "- **capacity**: new, 5 rows" in text
    assert "- new: capacity" in text


def test_a_failed_check_is_reported_and_fails_the_review() -> None:
    failing = state({"fct": (20, 20)}, 10, (MONTHS, MONTHS), value_error="Invalid primary key\nmore")
    text, complete = render_review(failing, "main", "pr")
    assert not complete
    assert "- FAILED fct values: Invalid primary key" in text
    assert "4 checks (recce.yml), 1 failed." in text


def test_a_test_on_a_disabled_model_is_no_change() -> None:
    """dbt keeps a test on a disabled model in one manifest's nodes (enabled: false) and not
    in the other's (stg_trust_metrics__live's test, make review): neither added nor removed."""
    test_id = "test.p.not_null_columns_stg_live_trust_code__period.0d0d3515a2"
    disabled_test = {"name": "not_null_columns_stg_live", "resource_type": "test", "config": {"enabled": False}}
    enabled_test = {**disabled_test, "config": {"enabled": True}}
    unchanged = state({"fct": (20, 20)}, 10, (MONTHS, MONTHS))
    unchanged["artifacts"]["base"]["manifest"]["nodes"][test_id] = disabled_test
    unchanged["artifacts"]["current"]["manifest"]["disabled"] = {"model.p.stg_live": [{"resource_type": "model"}]}
    assert node_changes(unchanged) == NodeChanges(modified=["fct (SQL)"], added=[], removed=[])
    text, _ = render_review(unchanged, "main", "pr")
    assert "- removed:" not in text
    # a test that was enabled on the base and is gone from this tree is still removed
    unchanged["artifacts"]["base"]["manifest"]["nodes"][test_id] = enabled_test
    assert node_changes(unchanged).removed == ["not_null_columns_stg_live (test)"]
    # and one that a change enables is new
    unchanged["artifacts"]["current"]["manifest"]["nodes"][test_id] = enabled_test
    unchanged["artifacts"]["base"]["manifest"]["nodes"][test_id] = disabled_test
    assert node_changes(unchanged).added == ["not_null_columns_stg_live (test)"]
