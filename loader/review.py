"""What a model change does to the data: ``python -m loader review --base REF``.

Builds two environments over the same landed raw data, each in schemas of its own, and
compares them with recce (https://github.com/DataRecce/recce), run from its own
environment (``.venv-review``: recce is never imported here):

- the **base**: the dbt project at git ref REF, checked out with ``git worktree`` (the
  user's working tree is not touched), built into ``base_*`` schemas (base_staging,
  base_marts, ...), artifacts in ``target-base/``; reused by a later review of the same
  commit over the same landed files;
- the **current** tree: this working tree, built into ``pr_*`` schemas, artifacts in
  ``target/``: what changed against the base, what is downstream of it, and the marts
  the checks read; the rest is read from the base's schemas (dbt's defer).

The user's own schemas (staging, intermediate, marts, seeds: on PostgreSQL what the
dashboard reads) are never written, and nothing is landed. The prefixes come from the var
``review_schema_prefix`` read by ``macros/generate_schema_name.sql``; this tree's copy of
that macro is put into the base worktree, so a base that predates the var still builds
into ``base_*``.

Then ``recce run`` runs the checks in ``recce.yml`` and stores them in
``target/recce_state.json``; ``loader/review_summary.py`` words the results at the top of
``target/review.md``, followed by recce's own summary.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from loader.dq_summary import run_results_summary
from loader.errors import LoaderError
from loader.profiles import Connection
from loader.review_summary import load_state, render_review
from loader.warehouse import open_warehouse

BASE_PREFIX = "base_"
CURRENT_PREFIX = "pr_"
SCHEMA_MACRO = Path("macros") / "generate_schema_name.sql"
RECCE_CONFIG = "recce.yml"

# recce's switches (it reports usage by default): its profile in a HOME of its own (the
# review environment's), and the environment variable. What they do not cover, its
# version check against PyPI at import and its Sentry reports (recce server sends one per
# request), goes through a proxy that is a closed local port: it fails at once instead of
# going out or waiting.
RECCE_PROFILE = "user_id: chs-review-anonymous\nanonymous_tracking: false\n"
CLOSED_PROXY = "http://127.0.0.1:9"


@dataclass(frozen=True)
class ReviewOptions:
    base_ref: str
    recce_venv: Path
    project_dir: Path
    target: str | None = None  # profiles.yml target; None: the profile's default
    profiles_dir: Path | None = None
    full: bool = False  # build every node of the current tree, not only what changed
    rebuild_base: bool = False  # even when an earlier review built the same base
    schema_prefix: str = ""  # before base_ and pr_ (concurrent reviews in one warehouse)


@dataclass(frozen=True)
class Environment:
    """One side of the review: a dbt project directory built into prefixed schemas."""

    name: str
    project_dir: Path
    schema_prefix: str
    target_path: Path


class BuildFailed(LoaderError):
    """dbt could not build one side; the message says which nodes and why."""


def target_path(project_dir: Path) -> Path:
    """The current environment's artifacts: DBT_TARGET_PATH, else target/."""
    path = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return path if path.is_absolute() else project_dir / path


def base_target_path(project_dir: Path) -> Path:
    return target_path(project_dir).parent / "target-base"


def _git(project_dir: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise LoaderError(f"git {' '.join(args)}: {detail[-1] if detail else 'failed'}")
    return result.stdout.strip()


def resolve_base(project_dir: Path, ref: str) -> str:
    """The commit `ref` names, or a one-line error."""
    try:
        return _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except LoaderError:
        message = f"review: no commit '{ref}' in this repository (fetch it first, e.g. git fetch origin main)"
        raise LoaderError(message) from None


def current_label(project_dir: Path) -> str:
    branch = os.environ.get("GITHUB_HEAD_REF") or _git(project_dir, "rev-parse", "--abbrev-ref", "HEAD")
    head = _git(project_dir, "rev-parse", "--short", "HEAD")
    dirty = _git(project_dir, "status", "--porcelain", "--untracked-files=no")
    return f"{branch} ({head}{', with uncommitted changes' if dirty else ''})"


@contextlib.contextmanager
def base_worktree(project_dir: Path, commit: str, tree: Path) -> Iterator[Path]:
    """The project at `commit` in a git worktree at `tree` (removed afterwards), with this
    tree's schema macro. The path stays the same from one review to the next: dbt's
    partial parsing keeps absolute paths (a seed's file), and can then be reused."""
    _remove_worktree(project_dir, tree)
    parsed_at = tree.parent / "partial_parse.root"  # where dbt's partial_parse.msgpack was made
    if not parsed_at.is_file() or parsed_at.read_text(encoding="utf-8") != str(tree):
        (tree.parent / "partial_parse.msgpack").unlink(missing_ok=True)
        tree.parent.mkdir(parents=True, exist_ok=True)
        parsed_at.write_text(str(tree), encoding="utf-8")
    _git(project_dir, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    try:
        others = [
            path.relative_to(tree).as_posix()
            for path in sorted((tree / "macros").rglob("*.sql"))
            if path != tree / SCHEMA_MACRO and "macro generate_schema_name" in path.read_text(encoding="utf-8")
        ]
        if others:
            raise LoaderError(
                f"review: the base defines generate_schema_name in {', '.join(others)}; "
                "its build could not be kept out of your schemas"
            )
        (tree / SCHEMA_MACRO).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project_dir / SCHEMA_MACRO, tree / SCHEMA_MACRO)
        yield tree
    finally:
        _remove_worktree(project_dir, tree)


def _remove_worktree(project_dir: Path, tree: Path) -> None:
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(tree)], cwd=project_dir, capture_output=True, check=False
    )
    shutil.rmtree(tree, ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=project_dir, capture_output=True, check=False)


def process_env(connection: Connection, options: ReviewOptions) -> dict[str, str]:
    """dbt's and recce's environment: this project's profiles, the warehouse by absolute path."""
    env = dict(os.environ)
    env["DBT_PROFILES_DIR"] = str((options.profiles_dir or Path(env.get("DBT_PROFILES_DIR", "."))).resolve())
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    if connection.type == "duckdb":
        # the base builds from another directory: a relative path would open another file
        env["CHS_DUCKDB_PATH"] = str(Path(str(connection.settings["path"])).resolve())
    return env


def _target_args(options: ReviewOptions) -> list[str]:
    return ["--target", options.target] if options.target else []


# What the review builds: models and seeds. Tests are CI's (make test); a failing test
# must not keep a reviewer from seeing what the change does to the data. Contracts are
# enforced as the models build.
NO_TESTS = ["--exclude-resource-type", "test", "unit_test"]
# The checks in recce.yml read the marts.
CHECKED = "path:models/marts"


def dbt_commands(state: Path | None) -> list[list[str]]:
    """The dbt commands that build one side into its schemas, then document it (recce
    reads the manifest and the catalog).

    The base builds everything. The current tree, given the base's artifacts (`state`),
    builds what dbt's state:modified selects (SQL, config, contract, the macros and seeds
    a node reads), everything downstream of it, and the marts the checks read; what it
    does not build it reads from the base's schemas (--defer --favor-state): the same
    SQL over the same sources gives the same rows, so only what changed is recomputed.
    --full-refresh: the incremental models reprocess every release, and relations an
    earlier review left are replaced. The catalog covers what was built.
    """
    if state is None:
        return [["build", "--full-refresh", *NO_TESTS], ["docs", "generate", "--no-compile"]]
    selected = ["--select", "state:modified+", CHECKED, "--state", str(state)]
    return [
        ["build", "--full-refresh", *selected, "--defer", "--favor-state", *NO_TESTS],
        ["docs", "generate", "--no-compile", *selected],
    ]


@dataclass
class Timer:
    """Wall-clock and CPU seconds (of this process's children) since it was made."""

    wall: float = 0.0
    cpu: float = 0.0

    def __post_init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), _children_cpu()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.wall:.1f} s (CPU {_children_cpu() - self.cpu:.1f} s)"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build(environment: Environment, env: dict[str, str], options: ReviewOptions, state: Path | None) -> Timer:
    """Run the side's dbt commands. Raises BuildFailed naming what failed."""
    dbt = str(Path(sys.executable).parent / "dbt")
    common = [
        "--vars",
        f"{{review_schema_prefix: {environment.schema_prefix}}}",
        "--project-dir",
        str(environment.project_dir),
        "--target-path",
        str(environment.target_path),
        "--log-path",
        str(environment.target_path / "logs"),
        *_target_args(options),
    ]
    timer = Timer()
    for command in dbt_commands(state):
        step_started = time.time()
        result = subprocess.run(
            [dbt, *command, *common], cwd=options.project_dir, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BuildFailed(_build_failure(environment, command, result, started_at=step_started))
    return timer


def _build_failure(
    environment: Environment, command: list[str], result: subprocess.CompletedProcess[str], started_at: float
) -> str:
    where = f"{environment.name} ({environment.schema_prefix}* schemas)"
    run_results = environment.target_path / "run_results.json"
    if command[0] == "build" and run_results.is_file() and run_results.stat().st_mtime >= started_at:
        text, _ = run_results_summary(run_results)
        return f"dbt build of the {where} failed:\n{text}"
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return f"dbt {' '.join(command)} of the {where} failed:\n" + "\n".join(output[-15:])


def recce_env(env: dict[str, str], recce_venv: Path) -> dict[str, str]:
    """recce's environment: telemetry off, a HOME of its own, no way out to the network."""
    home = recce_venv.resolve() / "home"
    profile = home / ".recce" / "profile.yml"
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(RECCE_PROFILE, encoding="utf-8")
    guarded = dict(env)
    guarded.update(HOME=str(home), RECCE_DISABLE_TELEMETRY="1", no_proxy="127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        guarded[name] = CLOSED_PROXY
    guarded.pop("NO_PROXY", None)
    return guarded


def recce_command(recce_venv: Path, *args: str) -> list[str]:
    recce = recce_venv / "bin" / "recce"
    if not recce.exists():
        raise LoaderError(f"review: recce not found at {recce} (make review creates it)")
    return [str(recce), *args]


def recce_paths(options: ReviewOptions) -> list[str]:
    project_dir = options.project_dir
    return [
        "--project-dir",
        str(project_dir),
        "--target-path",
        str(target_path(project_dir)),
        "--target-base-path",
        str(base_target_path(project_dir)),
        "--config",
        str(project_dir / RECCE_CONFIG),
        *_target_args(options),
    ]


def base_key(connection: Connection, options: ReviewOptions, commit: str) -> dict[str, str]:
    """What the base's schemas and artifacts were built from: a later review with the same
    key reuses them (the base is rebuilt when the ref, this tree's schema macro, the
    warehouse, its landed files or dbt change)."""
    settings = connection.settings
    if connection.type == "duckdb":
        where = str(Path(str(settings["path"])).resolve())
    else:
        where = f"{settings.get('host')}:{settings.get('port')}/{settings.get('dbname')}"
    warehouse = open_warehouse(connection)
    try:
        landed = sorted(warehouse.landed_hashes())
    finally:
        warehouse.close()
    return {
        "commit": commit,
        "schema_prefix": options.schema_prefix + BASE_PREFIX,
        "schema_macro": hashlib.sha256((options.project_dir / SCHEMA_MACRO).read_bytes()).hexdigest(),
        "warehouse": f"{connection.type} {where}",
        "landed": hashlib.sha256("\n".join(landed).encode()).hexdigest(),
        "dbt": importlib.metadata.version("dbt-core"),
    }


def _review_failed(path: Path, heading: str, failure: BuildFailed, out: Callable[[str], None]) -> int:
    text = f"{heading}\n\n**No review**: {failure}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    out(text)
    return 1


def run_review(connection: Connection, options: ReviewOptions, out: Callable[[str], None]) -> int:
    """Build both sides, run recce's checks, write target/review.md; 0 when every check ran."""
    started = Timer()
    project_dir = options.project_dir
    commit = resolve_base(project_dir, options.base_ref)
    base_label = f"{options.base_ref} ({commit[:7]})"
    label = current_label(project_dir)
    base_artifacts = base_target_path(project_dir)
    current = Environment("current tree", project_dir, options.schema_prefix + CURRENT_PREFIX, target_path(project_dir))
    review_path = current.target_path / "review.md"
    heading = f"### Data review: {label} against {base_label}"
    env = process_env(connection, options)
    recce = recce_command(options.recce_venv, "run")  # fails early when recce is missing
    out(
        f"review on {connection.target}: base {base_label} -> {options.schema_prefix + BASE_PREFIX}* schemas, "
        f"current {label} -> {current.schema_prefix}* schemas"
    )
    key, key_path = base_key(connection, options, commit), base_artifacts / "review_base.json"
    built_for = json.loads(key_path.read_text(encoding="utf-8")) if key_path.is_file() else None
    try:
        if built_for == key and not options.rebuild_base and (base_artifacts / "catalog.json").is_file():
            out("base: reused, built by an earlier review from the same commit and landed files")
        else:
            key_path.unlink(missing_ok=True)
            with base_worktree(project_dir, commit, base_artifacts / "worktree") as tree:
                base = Environment("base", tree, options.schema_prefix + BASE_PREFIX, base_artifacts)
                timer = build(base, env, options, state=None)
            key_path.write_text(json.dumps(key, indent=2), encoding="utf-8")
            out(f"base: dbt build (models and seeds), docs generate: {timer}")
        timer = build(current, env, options, state=None if options.full else base_artifacts)
        what = "every model" if options.full else "what changed, downstream and the marts"
        out(f"current: dbt build of {what}, docs generate: {timer}")
    except BuildFailed as failure:
        return _review_failed(review_path, heading, failure, out)

    state_path = current.target_path / "recce_state.json"
    recce_summary = current.target_path / "recce_summary.md"
    for stale in (state_path, recce_summary):
        stale.unlink(missing_ok=True)
    timer = Timer()
    git_labels = ["--git-base-branch", options.base_ref, "--git-current-branch", label.split(" ")[0]]
    result = subprocess.run(
        [*recce, *recce_paths(options), "-o", str(state_path), "--summary", str(recce_summary), *git_labels],
        cwd=project_dir,
        env=recce_env(env, options.recce_venv),
        capture_output=True,
        text=True,
        check=False,
    )
    log_path = current.target_path / "recce_run.log"
    log_path.write_text(result.stdout + result.stderr, encoding="utf-8")
    if not state_path.is_file():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
        raise LoaderError(f"review: recce run wrote no state file (log: {log_path})\n{tail}")
    out(f"recce run: {timer}")

    recce_markdown = recce_summary.read_text(encoding="utf-8") if recce_summary.is_file() else None
    text, complete = render_review(load_state(state_path), base_label, label, recce_markdown)
    review_path.write_text(text, encoding="utf-8")
    out(f"review written to {review_path}: {started} in all\n")
    out(text)
    return 0 if complete else 1


def serve(connection: Connection, options: ReviewOptions, port: int) -> int:
    """recce server on 127.0.0.1 over the last review's state (until interrupted)."""
    state_path = target_path(options.project_dir) / "recce_state.json"
    if not state_path.is_file():
        raise LoaderError(f"review-server: no {state_path} yet (run make review first)")
    command = recce_command(
        options.recce_venv, "server", str(state_path), *recce_paths(options), "--host", "127.0.0.1", "--port", str(port)
    )
    env = recce_env(process_env(connection, options), options.recce_venv)
    return subprocess.run(command, cwd=options.project_dir, env=env, check=False).returncode
