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
  6. peak RSS of the loader and of dbt (max over the runs): of the largest process, and of
     the whole process tree (the loader's parse workers included) sampled every 50 ms;
     on PostgreSQL also the server processes serving the benchmark's database
  7. the release report of the 12th month (`python -m loader report`, one HTML page) from
     the warehouse dbt just built
With --decade DIR (the ten-year history of ../shared/tools/make_decade.py; optional, it
takes a while): the backfill (land + dbt build) of the last 12, 60 and 120 months of DIR,
one run each, and the monthly increment (the 12th / 120th month through `loader release`),
runs taking turns; the ratios 120 / 12 months.
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
    peak_tree_mb: float = 0.0  # the process and its children (parse workers), summed
    peak_server_mb: float = 0.0  # PostgreSQL: the server processes of the benchmark's database

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "median_s": round(statistics.median(self.seconds), 3),
            "min_s": round(min(self.seconds), 3),
            "max_s": round(max(self.seconds), 3),
            "runs": len(self.seconds),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_tree_mb": round(self.peak_tree_mb, 1),
            "peak_server_mb": round(self.peak_server_mb, 1),
        }


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float  # the largest process (ru_maxrss)
    peak_tree_mb: float  # the command's process tree, summed, sampled
    peak_server_mb: float  # the PostgreSQL processes serving `database`, summed, sampled


def _proc_status(pid: int, field_name: str) -> float:
    """A memory field of /proc/<pid>/status in MB (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _processes() -> dict[int, tuple[int, str]]:
    """{pid: (parent pid, command line)} of every process visible in /proc."""
    found: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
            found[int(entry)] = (parent, command)
    return found


def _sample(root: int, database: str | None) -> tuple[float, float]:
    """(RSS of `root` and its descendants, private memory of the PostgreSQL backends of
    `database`) in MB. A backend's RSS counts the shared buffers it touched, so it is
    measured by RssAnon; the server's shared_buffers come on top."""
    processes = _processes()
    tree, index = [root], 0
    while index < len(tree):
        tree.extend(pid for pid, (parent, _) in processes.items() if parent == tree[index])
        index += 1
    server = 0.0
    if database:
        backends = [
            pid
            for pid, (_, command) in processes.items()
            if command.startswith("postgres: ") and f" {database} " in command
        ]
        server = sum(_proc_status(pid, "RssAnon") for pid in backends)
    return sum(_proc_status(pid, "VmRSS") for pid in tree), server


def run_timed(command: list[str], env: dict[str, str], database: str | None = None) -> Run:
    """Run a command; its seconds and peak memory (see Run)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=out, stderr=err)
        peak_tree = peak_server = 0.0
        while True:
            waited, status, usage = os.wait4(process.pid, os.WNOHANG)
            if waited:
                break
            tree, server = _sample(process.pid, database)
            peak_tree, peak_server = max(peak_tree, tree), max(peak_server, server)
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            out.seek(0)
            err.seek(0)
            raise SystemExit(
                f"bench: {' '.join(command)} failed\n{out.read().decode()[-3000:]}\n{err.read().decode()[-3000:]}"
            )
    return Run(seconds, usage.ru_maxrss / 1024, max(peak_tree, usage.ru_maxrss / 1024), peak_server)


Case = tuple[str, Callable[[], None], Callable[[], Run]]  # name, prepare, body


def repeat_interleaved(cases: list[Case], times: int, warm_up: bool = True) -> list[Measure]:
    """Each case `times` times after a warm-up, taking turns, so that drift in a noisy
    machine's speed falls on every case alike (used to compare the 6th and 12th month)."""
    measures = [Measure(name) for name, _, _ in cases]
    for attempt in range(times + int(warm_up)):  # the first run is a warm-up, not counted
        for measure, (name, prepare, body) in zip(measures, cases, strict=True):
            prepare()
            run = body()
            if attempt or not warm_up:
                measure.seconds.append(run.seconds)
            measure.peak_rss_mb = max(measure.peak_rss_mb, run.peak_rss_mb)
            measure.peak_tree_mb = max(measure.peak_tree_mb, run.peak_tree_mb)
            measure.peak_server_mb = max(measure.peak_server_mb, run.peak_server_mb)
            print(f"  {name}: run {attempt or 'warm-up'}: {run.seconds:.2f} s", file=sys.stderr)
    return measures


def repeat(name: str, times: int, prepare: Callable[[], None], body: Callable[[], Run]) -> Measure:
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

    @property
    def database(self) -> str | None:
        return self.env["CHS_PG_DBNAME"] if self.name == "postgres" else None

    def land(self, paths: list[Path]) -> Run:
        return run_timed([sys.executable, "-m", "loader", "-q", "land", *map(str, paths)], self.env, self.database)

    def build(self) -> Run:
        return run_timed([str(BIN_DIR / "dbt"), "build", "-q"], self.env, self.database)

    def report(self) -> Run:
        out_dir = str(self.workdir / "reports")
        return run_timed(
            [sys.executable, "-m", "loader", "-q", "report", "--out-dir", out_dir], self.env, self.database
        )

    def release(self, data_dir: Path, extract: Path) -> Run:
        options = ["--no-fetch", "--data-dir", str(data_dir), "--extract", str(extract)]
        return run_timed([sys.executable, "-m", "loader", "-q", "release", *options], self.env, self.database)


def added(*runs: Run) -> Run:
    """Steps run one after another: their seconds add up, their peaks do not."""
    return Run(
        sum(run.seconds for run in runs),
        max(run.peak_rss_mb for run in runs),
        max(run.peak_tree_mb for run in runs),
        max(run.peak_server_mb for run in runs),
    )


def pandas_baseline(python: Path, workbooks: list[Path]) -> Run:
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

    def backfill() -> Run:
        return added(target.land(everything), target.build())

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


HISTORY_MONTHS = (12, 60, 120)


def bench_history(target: Target, decade: list[Path], extract: Path, times: int) -> list[Measure]:
    """Backfills of the last 12, 60 and 120 months of the synthetic decade (one run each:
    they are long), then the 12th and the 120th month's increments, taking turns."""
    measures: list[Measure] = []
    run_timed([str(BIN_DIR / "dbt"), "parse", "-q"], target.env)  # a full parse is not a backfill's cost
    for months in HISTORY_MONTHS:
        workbooks = decade[-months:]
        land = Measure(f"{target.name}: {months} months: land")
        build = Measure(f"{target.name}: {months} months: dbt build")
        backfill = Measure(f"{target.name}: {months} months: backfill (land + build)")
        target.reset()
        for measure, run in ((land, target.land([*workbooks, extract])), (build, target.build())):
            print(f"  {measure.name}: {run.seconds:.2f} s", file=sys.stderr)
            measure.seconds.append(run.seconds)
            measure.peak_rss_mb, measure.peak_tree_mb, measure.peak_server_mb = (
                run.peak_rss_mb,
                run.peak_tree_mb,
                run.peak_server_mb,
            )
        total = added(
            Run(land.seconds[0], land.peak_rss_mb, land.peak_tree_mb, land.peak_server_mb),
            Run(build.seconds[0], build.peak_rss_mb, build.peak_tree_mb, build.peak_server_mb),
        )
        backfill.seconds.append(total.seconds)
        backfill.peak_rss_mb, backfill.peak_tree_mb, backfill.peak_server_mb = (
            total.peak_rss_mb,
            total.peak_tree_mb,
            total.peak_server_mb,
        )
        measures.extend([land, build, backfill])
    increments: list[Case] = []
    for months in (HISTORY_MONTHS[0], HISTORY_MONTHS[-1]):
        workbooks = decade[-months:]
        data_dir = months_dir(target.workdir / f"history_{months}", workbooks[:-1])
        target.reset()
        target.release(data_dir, extract)  # lands N-1 months, full build
        label = f"history_before_{months}"
        target.snapshot(label)
        (data_dir / workbooks[-1].name).symlink_to(workbooks[-1])
        increments.append(
            (
                f"{target.name}: {months} months: increment (release)",
                lambda label=label: target.restore(label),  # type: ignore[misc]
                lambda data_dir=data_dir: target.release(data_dir, extract),  # type: ignore[misc]
            )
        )
    measures.extend(repeat_interleaved(increments, times))
    target.drop_all([f"history_before_{months}" for months in (HISTORY_MONTHS[0], HISTORY_MONTHS[-1])])
    return measures


# DuckDB settings measured on the 120-month backfill: (label, CHS_DUCKDB_MEMORY_LIMIT, CHS_DUCKDB_THREADS);
# the first is profiles.yml's default. "20GB" is about DuckDB's own default (80% of 24 GiB).
DUCKDB_SETTINGS = (
    ("memory_limit 512MB, threads 2", "512MB", "2"),
    ("memory_limit 20GB, threads 2", "20GB", "2"),
    ("memory_limit 512MB, threads 1", "512MB", "1"),
)


def bench_duckdb_settings(workdir: Path, decade: list[Path], extract: Path) -> list[Measure]:
    """What DuckDB's memory_limit and dbt's threads cost: the 120-month backfill (land +
    build on an empty warehouse) under each of DUCKDB_SETTINGS, one run each."""
    measures: list[Measure] = []
    workbooks = decade[-HISTORY_MONTHS[-1] :]
    for label, memory_limit, threads in DUCKDB_SETTINGS:
        target = Target("duckdb", workdir)
        target.env.update(CHS_DUCKDB_MEMORY_LIMIT=memory_limit, CHS_DUCKDB_THREADS=threads)
        target.reset()
        run = added(target.land([*workbooks, extract]), target.build())
        print(f"  duckdb: {HISTORY_MONTHS[-1]} months: backfill, {label}: {run.seconds:.2f} s", file=sys.stderr)
        measure = Measure(f"duckdb: {HISTORY_MONTHS[-1]} months: backfill, {label}")
        measure.seconds.append(run.seconds)
        measure.peak_rss_mb, measure.peak_tree_mb, measure.peak_server_mb = (
            run.peak_rss_mb,
            run.peak_tree_mb,
            run.peak_server_mb,
        )
        measures.append(measure)
    return measures


def history_ratios(results: dict[str, dict[str, Any]], targets: list[str]) -> dict[str, float]:
    ratios: dict[str, float] = {}
    first, last = HISTORY_MONTHS[0], HISTORY_MONTHS[-1]
    for name in targets:
        for what in ("backfill (land + build)", "increment (release)"):
            ratios[f"{name}: {what} {last} / {first} months"] = round(
                results[f"{name}: {last} months: {what}"]["median_s"]
                / results[f"{name}: {first} months: {what}"]["median_s"],
                2,
            )
    return ratios


def bench_real(
    data_dir: Path, extract: Path, baseline_python: Path, targets: list[str], times: int, tmp: Path
) -> list[Measure]:
    workbooks = months_in_order(data_dir)
    if len(workbooks) < 12:
        raise SystemExit(f"bench: need the 12 workbooks in {data_dir}, found {len(workbooks)}")
    workbooks = workbooks[:12]
    measures = [
        repeat(
            "baseline: pandas.read_excel Table 4-4h",
            times,
            lambda: None,
            lambda: pandas_baseline(baseline_python, workbooks),
        )
    ]
    for name in targets:
        measures.extend(bench_target(Target(name, tmp), workbooks, extract, times))
    return measures


def real_ratios(results: dict[str, dict[str, Any]], targets: list[str]) -> dict[str, float]:
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
    return ratios


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
    parser.add_argument(
        "--decade",
        type=Path,
        help="also measure 12, 60 and 120 months of this synthetic history (../shared/tools/make_decade.py)",
    )
    parser.add_argument("--skip-real", action="store_true", help="with --decade: only the history")
    parser.add_argument(
        "--duckdb-settings",
        action="store_true",
        help="with --decade: also the 120-month DuckDB backfill under other memory_limit / threads settings",
    )
    parser.add_argument(
        "--targets",
        default="duckdb,postgres" if os.environ.get("CHS_PG_HOST") else "duckdb",
        help="comma-separated: duckdb, postgres (default: both when CHS_PG_HOST is set)",
    )
    args = parser.parse_args()
    if (args.skip_real or args.duckdb_settings) and not args.decade:
        raise SystemExit("bench: --skip-real and --duckdb-settings need --decade")
    if not args.baseline_python.exists() and not args.skip_real:
        raise SystemExit(f"bench: {args.baseline_python}: no baseline interpreter; run `make bench` to create it")
    data_dir = (PROJECT_DIR / args.data_dir).resolve()
    extract = (PROJECT_DIR / args.extract).resolve()
    targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    measures: list[Measure] = []
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="chs_bench_") as tmp:
        if not args.skip_real:
            measures.extend(bench_real(data_dir, extract, args.baseline_python, targets, args.repeat, Path(tmp)))
        if args.decade:
            # make_decade.py names its files chswl-YYYY-MM.xlsx: name order is month order
            decade = sorted(args.decade.resolve().glob("*.xlsx"))
            if len(decade) < HISTORY_MONTHS[-1]:
                raise SystemExit(f"bench: need {HISTORY_MONTHS[-1]} workbooks in {args.decade}, found {len(decade)}")
            for name in targets:
                measures.extend(bench_history(Target(name, Path(tmp)), decade, extract, args.repeat))
            if args.duckdb_settings:
                measures.extend(bench_duckdb_settings(Path(tmp), decade, extract))
    results = {m.name: m.as_dict() for m in measures}
    if not args.skip_real:
        ratios.update(real_ratios(results, targets))
    if args.decade:
        ratios.update(history_ratios(results, targets))

    document = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": [round(load, 2) for load in os.getloadavg()],
        },
        "repeat": args.repeat,
        "measures": list(results.values()),
        "ratios": ratios,
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    out = io.StringIO()
    out.write(
        f"{'measure':<48} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}"
        f" {'tree MB':>8} {'server MB':>9}\n"
    )
    for m in results.values():
        out.write(
            f"{m['name']:<48} {m['median_s']:>9.2f} {m['min_s']:>7.2f} {m['max_s']:>7.2f} {m['peak_rss_mb']:>12.0f}"
            f" {m['peak_tree_mb']:>8.0f} {m['peak_server_mb']:>9.0f}\n"
        )
    for name, value in ratios.items():
        out.write(f"{name:<48} {value:>9}\n")
    print(out.getvalue(), end="")
    print(f"(JSON: {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
