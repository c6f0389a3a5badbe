"""Benchmark what a release costs: workbooks on disk -> validated marts.

Run: make bench   (or .venv/bin/python bench/bench.py [--repeat N] [--json PATH])

Measures, each as the median of N runs (default 3) after one warm-up run, with min/max:
  1. loader: land all 12 workbooks into a fresh DuckDB (and PostgreSQL when CHS_PG_HOST is set)
  2. baseline in the same run: pandas.read_excel (openpyxl) of only the Table 4-4h sheets,
     one read_excel call per sheet as a script would; ratio baseline / loader
  3. dbt build (every model and test) from landed data
  4. the full backfill: land + dbt build; and the same through `python -m loader release`
     on an empty warehouse (the command the increment uses: compares like with like)
  5. the monthly increment: with N-1 months landed and built, bring month N in with the
     monthly command, `python -m loader release --no-fetch` (land, dbt build of what the
     new file feeds, report); over 6 and over 12 months, runs taking turns, and as a
     ratio of the backfill
  6. peak RSS of the loader and of dbt (max over the runs)
  7. the release report of the 12th month (`python -m loader report`, one HTML page) from
     the warehouse dbt just built
Results print as a table and are written as JSON (default bench/results.json).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from loader.workbook import parse_file  # noqa: E402

BIN_DIR = Path(sys.executable).parent
TABLE_4_SHEETS = ["Table 4", *(f"Table 4{letter}" for letter in "abcdefgh")]


@dataclass
class Measure:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "median_s": round(statistics.median(self.seconds), 3),
            "min_s": round(min(self.seconds), 3),
            "max_s": round(max(self.seconds), 3),
            "runs": len(self.seconds),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


def run_timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return (seconds, peak RSS in MB) of that process tree's largest process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed\n{out[-3000:]}\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


Case = tuple[str, Callable[[], None], Callable[[], tuple[float, float]]]  # name, prepare, body


def repeat_interleaved(cases: list[Case], times: int) -> list[Measure]:
    """Each case `times` times after a warm-up, taking turns, so that drift in a noisy
    machine's speed falls on every case alike (used to compare the 6th and 12th month)."""
    measures = [Measure(name) for name, _, _ in cases]
    for attempt in range(times + 1):  # the first run is a warm-up, not counted
        for measure, (name, prepare, body) in zip(measures, cases, strict=True):
            prepare()
            seconds, rss = body()
            if attempt:
                measure.seconds.append(seconds)
            measure.peak_rss_mb = max(measure.peak_rss_mb, rss)
            print(f"  {name}: run {attempt or 'warm-up'}: {seconds:.2f} s", file=sys.stderr)
    return measures


def repeat(name: str, times: int, prepare: Callable[[], None], body: Callable[[], tuple[float, float]]) -> Measure:
    return repeat_interleaved([(name, prepare, body)], times)[0]


class Target:
    """A warehouse the benchmark can reset, snapshot and restore."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.env = dict(os.environ)
        self.env.update(
            DBT_PROFILES_DIR=str(PROJECT_DIR),
            DBT_TARGET_PATH=str(workdir / f"target_{name}"),
            DBT_LOG_PATH=str(workdir / "logs"),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            CHS_TARGET=name,
        )
        if name == "duckdb":
            self.env["CHS_DUCKDB_PATH"] = str(workdir / "bench.duckdb")
        else:
            self.env["CHS_PG_DBNAME"] = f"chs_bench_{uuid.uuid4().hex[:8]}"

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.env["CHS_PG_HOST"],
            port=int(self.env.get("CHS_PG_PORT", "5432")),
            user=self.env.get("CHS_PG_USER", "postgres"),
            password=self.env.get("CHS_PG_PASSWORD") or None,
            dbname=os.environ.get("CHS_PG_DBNAME", "postgres"),
            autocommit=True,
        ) as con:
            con.execute(sql)

    def reset(self) -> None:
        if self.name == "duckdb":
            for suffix in ("", ".wal"):
                Path(self.env["CHS_DUCKDB_PATH"] + suffix).unlink(missing_ok=True)
        else:
            self._pg(f"drop database if exists {self.env['CHS_PG_DBNAME']} with (force)")
            self._pg(f"create database {self.env['CHS_PG_DBNAME']}")

    def snapshot(self, label: str) -> None:
        if self.name == "duckdb":
            shutil.copy(self.env["CHS_DUCKDB_PATH"], self.workdir / f"{label}.duckdb")
        else:
            self._pg(f"drop database if exists {label} with (force)")
            self._pg(f"create database {label} template {self.env['CHS_PG_DBNAME']}")

    def restore(self, label: str) -> None:
        if self.name == "duckdb":
            shutil.copy(self.workdir / f"{label}.duckdb", self.env["CHS_DUCKDB_PATH"])
        else:
            self._pg(f"drop database if exists {self.env['CHS_PG_DBNAME']} with (force)")
            self._pg(f"create database {self.env['CHS_PG_DBNAME']} template {label}")

    def drop_all(self, labels: list[str]) -> None:
        if self.name == "postgres":
            for label in [self.env["CHS_PG_DBNAME"], *labels]:
                self._pg(f"drop database if exists {label} with (force)")

    def land(self, paths: list[Path]) -> tuple[float, float]:
        return run_timed([sys.executable, "-m", "loader", "-q", "land", *map(str, paths)], self.env)

    def build(self) -> tuple[float, float]:
        return run_timed([str(BIN_DIR / "dbt"), "build", "-q"], self.env)

    def report(self) -> tuple[float, float]:
        out_dir = str(self.workdir / "reports")
        return run_timed([sys.executable, "-m", "loader", "-q", "report", "--out-dir", out_dir], self.env)

    def release(self, data_dir: Path, extract: Path) -> tuple[float, float]:
        options = ["--no-fetch", "--data-dir", str(data_dir), "--extract", str(extract)]
        return run_timed([sys.executable, "-m", "loader", "-q", "release", *options], self.env)


def pandas_baseline(python: Path, workbooks: list[Path]) -> tuple[float, float]:
    script = (
        "import sys, pandas as pd\n"
        "from openpyxl import load_workbook\n"
        f"wanted = {TABLE_4_SHEETS!r}\n"
        "for path in sys.argv[1:]:\n"
        "    names = load_workbook(path, read_only=True).sheetnames\n"
        "    for name in [n for n in wanted if n in names]:\n"
        "        pd.read_excel(path, sheet_name=name, header=None, engine='openpyxl')\n"
    )
    return run_timed([str(python), "-c", script, *map(str, workbooks)], dict(os.environ))


def months_in_order(directory: Path) -> list[Path]:
    """Workbooks sorted by the month they report (read from their content)."""
    files = sorted(directory.glob("*.xlsx"))
    return sorted(files, key=lambda p: parse_file(p, p.read_bytes()).reporting_period)


def months_dir(path: Path, workbooks: list[Path]) -> Path:
    """The data directory a user keeps: the months published so far (links to the files)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    for workbook in workbooks:
        (path / workbook.name).symlink_to(workbook)
    return path


def bench_target(target: Target, workbooks: list[Path], extract: Path, times: int) -> list[Measure]:
    measures: list[Measure] = []
    everything = [*workbooks, extract]
    measures.append(repeat(f"{target.name}: land 12 workbooks", times, target.reset, lambda: target.land(workbooks)))
    target.reset()
    target.land(everything)
    target.snapshot("landed")
    measures.append(repeat(f"{target.name}: dbt build", times, lambda: target.restore("landed"), target.build))
    measures.append(repeat(f"{target.name}: report, 12 months", times, lambda: None, target.report))

    def backfill() -> tuple[float, float]:
        land_s, land_rss = target.land(everything)
        build_s, build_rss = target.build()
        return land_s + build_s, max(land_rss, build_rss)

    measures.append(repeat(f"{target.name}: backfill (land + build)", times, target.reset, backfill))
    # the same command as the increment, on an empty warehouse: lands all, builds everything
    all_months = months_dir(target.workdir / "months_all", workbooks)
    measures.append(
        repeat(
            f"{target.name}: backfill (release)",
            times,
            target.reset,
            lambda: target.release(all_months, extract),
        )
    )
    increments: list[Case] = []
    for months in (6, 12):
        data_dir = months_dir(target.workdir / f"months_{months}", workbooks[: months - 1])
        target.reset()
        target.release(data_dir, extract)  # lands N-1 months, full build (first build of the warehouse)
        label = f"before_{months}"
        target.snapshot(label)
        (data_dir / workbooks[months - 1].name).symlink_to(workbooks[months - 1])
        increments.append(
            (
                f"{target.name}: increment, month {months} (release)",
                lambda label=label: target.restore(label),  # type: ignore[misc]
                lambda data_dir=data_dir: target.release(data_dir, extract),  # type: ignore[misc]
            )
        )
    measures.extend(repeat_interleaved(increments, times))
    target.drop_all(["landed", "before_6", "before_12"])
    return measures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per figure (after a warm-up)")
    parser.add_argument("--json", type=Path, default=PROJECT_DIR / "bench" / "results.json")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CHS_DATA_DIR", "../shared/data/chswl")))
    parser.add_argument(
        "--extract",
        type=Path,
        default=Path(os.environ.get("CHS_TRUST_METRICS_CSV", "../shared/data/trust_metrics_extract.csv")),
    )
    parser.add_argument(
        "--baseline-python",
        type=Path,
        default=PROJECT_DIR / ".venv-bench" / "bin" / "python",
        help="interpreter with pandas and openpyxl for the baseline (make bench creates .venv-bench)",
    )
    args = parser.parse_args()
    if not args.baseline_python.exists():
        raise SystemExit(f"bench: {args.baseline_python}: no baseline interpreter; run `make bench` to create it")
    data_dir = (PROJECT_DIR / args.data_dir).resolve()
    extract = (PROJECT_DIR / args.extract).resolve()
    workbooks = months_in_order(data_dir)
    if len(workbooks) < 12:
        raise SystemExit(f"bench: need the 12 workbooks in {data_dir}, found {len(workbooks)}")
    workbooks = workbooks[:12]

    measures: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="chs_bench_") as tmp:
        measures.append(
            repeat(
                "baseline: pandas.read_excel Table 4-4h",
                args.repeat,
                lambda: None,
                lambda: pandas_baseline(args.baseline_python, workbooks),
            )
        )
        targets = ["duckdb"] + (["postgres"] if os.environ.get("CHS_PG_HOST") else [])
        for name in targets:
            measures.extend(bench_target(Target(name, Path(tmp)), workbooks, extract, args.repeat))

    results = {m.name: m.as_dict() for m in measures}
    baseline = results["baseline: pandas.read_excel Table 4-4h"]["median_s"]
    ratios: dict[str, float] = {}
    for name in targets:
        land = results[f"{name}: land 12 workbooks"]["median_s"]
        backfill = results[f"{name}: backfill (land + build)"]["median_s"]
        ratios[f"{name}: baseline / land"] = round(baseline / land, 1)
        release_backfill = results[f"{name}: backfill (release)"]["median_s"]
        for months in (6, 12):
            increment = results[f"{name}: increment, month {months} (release)"]["median_s"]
            ratios[f"{name}: increment month {months} / backfill"] = round(increment / backfill, 2)
            ratios[f"{name}: increment month {months} / backfill (release)"] = round(increment / release_backfill, 2)

    document = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "repeat": args.repeat,
        "measures": list(results.values()),
        "ratios": ratios,
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    out = io.StringIO()
    out.write(f"{'measure':<48} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}\n")
    for m in results.values():
        out.write(
            f"{m['name']:<48} {m['median_s']:>9.2f} {m['min_s']:>7.2f} {m['max_s']:>7.2f} {m['peak_rss_mb']:>12.0f}\n"
        )
    for name, value in ratios.items():
        out.write(f"{name:<48} {value:>9}\n")
    print(out.getvalue(), end="")
    print(f"(JSON: {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
