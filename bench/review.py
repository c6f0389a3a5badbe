"""Benchmark what a data review costs (make review: loader/review.py), on DuckDB.

Run: make bench-review   (or .venv/bin/python bench/review.py [--repeat N] [--json PATH])

The 12 real workbooks and the extract are landed and built once into a scratch warehouse;
each run reviews a checkout of HEAD carrying the test suite's model change
(tests/pytest/review_change.py) against HEAD, over a fresh copy of that warehouse:
  1. the whole review: the base (HEAD) built, the current tree built (what changed,
     downstream and the marts), recce's checks, target/review.md;
  2. the same with the base reused (an earlier review built it from the same commit and
     landed files: a reviewer's second push);
each the median of N runs (default 3) after one warm-up, with min/max, and the CPU seconds
of the processes it started (dbt, recce). Separate from bench.py so `make bench` stays quick.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from loader.profiles import load_connection  # noqa: E402
from loader.review import ReviewOptions, run_review  # noqa: E402
from tests.pytest.review_change import make_change  # noqa: E402

BIN_DIR = Path(sys.executable).parent
REVIEW_VENV = PROJECT_DIR / ".venv-review"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def landed_warehouse(workdir: Path, data_dir: Path, extract: Path) -> Path:
    path = workdir / "landed.duckdb"
    env = dict(os.environ, CHS_DUCKDB_PATH=str(path), DBT_TARGET_PATH=str(workdir / "target"))
    for command in (
        [sys.executable, "-m", "loader", "-q", "land", str(data_dir), str(extract)],
        [str(BIN_DIR / "dbt"), "build", "-q"],
    ):
        subprocess.run(command, cwd=PROJECT_DIR, env=env, check=True, capture_output=True)
    return path


def one_review(workdir: Path, landed: Path, reuse_base: bool, label: str) -> tuple[float, float, list[str]]:
    """One review in a fresh checkout of HEAD with the change; (seconds, CPU seconds, step lines)."""
    tree = workdir / "tree"
    warehouse = workdir / "review.duckdb"
    if not reuse_base:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT_DIR, capture_output=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), "HEAD"], cwd=PROJECT_DIR, check=True
        )
        make_change(tree)
        shutil.copy(landed, warehouse)
    os.environ.update(CHS_DUCKDB_PATH=str(warehouse), DBT_TARGET_PATH=str(tree / "target"))
    lines: list[str] = []
    options = ReviewOptions(base_ref="HEAD", recce_venv=REVIEW_VENV, project_dir=tree, target="duckdb")
    started, cpu = time.perf_counter(), children_cpu()
    status = run_review(load_connection("duckdb", PROJECT_DIR), options, lines.append)
    seconds, cpu_seconds = time.perf_counter() - started, children_cpu() - cpu
    if status != 0:
        raise SystemExit("bench: the review failed\n" + "\n".join(lines))
    steps = [line for line in lines if line.startswith(("base:", "current:", "recce run:"))]
    print(f"  {label}: {seconds:.1f} s (CPU {cpu_seconds:.1f} s)", file=sys.stderr)
    return seconds, cpu_seconds, steps


def summarise(name: str, runs: list[tuple[float, float, list[str]]]) -> dict[str, Any]:
    seconds = [run[0] for run in runs]
    return {
        "name": name,
        "median_s": round(statistics.median(seconds), 1),
        "min_s": round(min(seconds), 1),
        "max_s": round(max(seconds), 1),
        "median_cpu_s": round(statistics.median(run[1] for run in runs), 1),
        "runs": len(runs),
        "steps_of_last_run": runs[-1][2],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=PROJECT_DIR / "bench" / "review_results.json")
    default_data = PROJECT_DIR.parent / "shared" / "data"
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CHS_DATA_DIR", default_data / "chswl")))
    parser.add_argument(
        "--extract",
        type=Path,
        default=Path(os.environ.get("CHS_TRUST_METRICS_CSV", default_data / "trust_metrics_extract.csv")),
    )
    args = parser.parse_args()
    os.environ.update(DBT_PROFILES_DIR=str(PROJECT_DIR), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    os.environ.pop("GITHUB_HEAD_REF", None)
    workdir = Path(tempfile.mkdtemp(prefix="chs-bench-review-"))
    try:
        print("landing and building the 12 months once", file=sys.stderr)
        landed = landed_warehouse(workdir, args.data_dir.resolve(), args.extract.resolve())
        cold, warm = [], []
        for attempt in range(args.repeat + 1):  # the first round is a warm-up
            label = f"run {attempt}" if attempt else "warm-up"
            run_cold = one_review(workdir, landed, reuse_base=False, label=f"{label}, base built")
            run_warm = one_review(workdir, landed, reuse_base=True, label=f"{label}, base reused")
            if attempt:
                cold.append(run_cold)
                warm.append(run_warm)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(workdir / "tree")], cwd=PROJECT_DIR, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    results = [
        summarise("DuckDB: review, base built (base + current + checks)", cold),
        summarise("DuckDB: review, base reused (current + checks)", warm),
    ]
    print(f"\n{'measure (12 real months)':56} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}")
    for result in results:
        print(
            f"{result['name']:56} {result['median_s']:9.1f} {result['min_s']:7.1f} {result['max_s']:7.1f} "
            f"{result['median_cpu_s']:7.1f}"
        )
        for step in result["steps_of_last_run"]:
            print(f"    {step}")
    args.json.write_text(json.dumps({"nproc": os.cpu_count(), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
