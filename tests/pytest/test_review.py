"""make review (loader/review.py): a model change reviewed against the commit it was made on.

In a temporary git worktree of HEAD, over a private copy of the built warehouse (the
session's landed data, shared with the other end-to-end tests): first the review of the
unchanged tree, which must say that nothing moved; then of a change (review_change.py) that
loses the over-104 week waits from the 52+ sum and drops blank totals from the fct, whose
figures the summary must give as the warehouse counts them. Both reviews must leave the
user's schemas and the landed data as they were.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loader.profiles import load_connection
from loader.review import ReviewOptions, run_review
from tests.pytest.conftest import PROJECT_DIR, Target
from tests.pytest.review_change import make_change

pytestmark = pytest.mark.e2e

REVIEW_VENV = PROJECT_DIR / ".venv-review"
USER_SCHEMAS = ("raw_chs", "raw_trust_metrics", "staging", "intermediate", "marts", "seeds")

# The rows whose wait_52_plus_weeks the change alters, counted in the user's fct (built from HEAD).
SPLIT_MONTHS = "period >= date '2024-12-01'"  # the months that publish the 52-104 and 104+ bands
LOST_104_PLUS = (
    f"total_waiting is not null and {SPLIT_MONTHS} and wait_52_plus_weeks is distinct from wait_52_104_weeks"
)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """HEAD in a temporary git worktree (the change is made there, never in the project)."""
    if not (REVIEW_VENV / "bin" / "recce").exists():
        pytest.fail(f"recce's environment is missing: {REVIEW_VENV} (make test creates it)")
    path = tmp_path / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(path), "HEAD"], cwd=PROJECT_DIR, check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=PROJECT_DIR, check=False)


def review(target: Target, tree: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the review of `tree` against HEAD; (exit code, printed lines, target/review.md)."""
    for name, value in target.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tree / "target"))
    monkeypatch.delenv("GITHUB_HEAD_REF", raising=False)
    lines: list[str] = []
    options = ReviewOptions(base_ref="HEAD", recce_venv=REVIEW_VENV, project_dir=tree, target=target.name)
    status = run_review(load_connection(target.name, PROJECT_DIR), options, lines.append)
    return status, "\n".join(lines), (tree / "target" / "review.md").read_text(encoding="utf-8")


def user_state(target: Target) -> list[tuple[object, ...]]:
    """Every relation of the user's schemas with its row count, and the load log."""
    schemas = ", ".join(f"'{schema}'" for schema in USER_SCHEMAS)
    relations = target.query(
        f"select table_schema, table_name from information_schema.tables where table_schema in ({schemas}) "
        "order by 1, 2"
    )
    counts = [(s, t, target.query(f'select count(*) from {s}."{t}"')[0][0]) for s, t in relations]
    return [*counts, *target.query("select file_sha256, release_status, loaded_at from raw_chs.load_log order by 1")]


def one(target: Target, sql: str) -> int:
    return int(str(target.query(sql)[0][0]))


def test_review_of_a_model_change(copy_of_built: Target, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = copy_of_built
    before = user_state(warehouse)

    # The review of no change, and the base's reuse, on DuckDB; the change on both targets
    # (a PostgreSQL review costs three times as much: CI time).
    first_review = warehouse.name == "duckdb"
    if first_review:
        status, printed, summary = review(warehouse, tree, monkeypatch)
        assert status == 0, printed
        assert "**No change in the data**" in summary, summary
        assert "July 2025: unchanged: trusts with community data 97, services reported 1,387" in summary
        assert "No model, seed or test differs." in summary
        assert "0 failed" in summary

    make_change(tree)
    status, printed, summary = review(warehouse, tree, monkeypatch)
    assert status == 0, printed
    if first_review:
        assert "base: reused" in printed  # the same commit and landed files as the first review

    fct = "marts.fct_community_waits"  # the user's marts: built from HEAD, as the base is
    blank_totals = one(warehouse, f"select count(*) from {fct} where total_waiting is null")
    rows = one(warehouse, f"select count(*) from {fct}")
    lost = one(warehouse, f"select count(*) from {fct} where {LOST_104_PLUS}")
    trust_months = one(
        warehouse,
        f"select count(*) from (select distinct trust_code, period from {fct} "
        f"where org_type = 'Provider' and trust_code is not null and {LOST_104_PLUS}) as changed",
    )
    assert blank_totals > 0 and lost > 0 and trust_months > 0
    lead = summary.split("####")[0]
    assert (
        f"**fct_community_waits**: {blank_totals:,} rows fewer ({rows:,} -> {rows - blank_totals:,}); "
        f"{lost:,} values of wait_52_plus_weeks changed in 8 months (Dec 2024 to Jul 2025)"
    ) in lead, summary
    assert f"**trust_metrics**: community_health_data changed for {trust_months:,} trust-months" in lead
    assert "CYP 52+ week waits 79,070 -> " in lead and "national total 1,195,895" in lead
    assert "- modified: fct_community_waits (SQL), int_community_waits_pivoted (SQL)" in summary
    assert "0 failed" in summary

    assert user_state(warehouse) == before  # nothing landed, no user relation rebuilt or changed
    profile = REVIEW_VENV / "home" / ".recce" / "profile.yml"
    assert "anonymous_tracking: false" in profile.read_text(encoding="utf-8")
