"""The model change the review tests and the review benchmark make (tests/pytest/test_review.py,
bench/review.py): over-52-week waits from December 2024 lose the over-104 band (the status
report's own pipeline lost every over-104-week wait that way), and the fct drops the rows
whose total is blank."""

from __future__ import annotations

from pathlib import Path

CHANGES = {
    "models/intermediate/int_community_waits_pivoted.sql": (
        "then coalesce(wait_52_104_weeks, 0) + coalesce(wait_104_plus_weeks, 0)",
        "then wait_52_104_weeks",
    ),
    "models/marts/fct_community_waits.sql": (
        "select * from final\n",
        "select * from final\nwhere total_waiting is not null\n",
    ),
}


def make_change(tree: Path) -> None:
    """Edit the models in `tree` (a checkout of this project)."""
    for relative, (old, new) in CHANGES.items():
        path = tree / relative
        text = path.read_text(encoding="utf-8")
        if old not in text:
            raise AssertionError(f"{relative} no longer reads as the review test expects: {old!r}")
        path.write_text(text.replace(old, new), encoding="utf-8")
