"""Run dbt inside this process (dbt's programmatic API, ``dbtRunner``) for ``build`` and ``release``.

Quiet by default: dbt's per-node lines go to its log (logs/dbt.log) and the console gets
a progress line every few seconds ('dbt: 40/97 nodes'); ``-v`` or CHS_VERBOSE=1 shows
dbt's own lines. No colour codes unless the output is a terminal.

A monthly release builds a couple of dozen nodes, so dbt's fixed costs dominate it.
Running dbt here rather than as a ``dbt`` subprocess lets the release trim three of them
(measured on the 12-month increment, bench/; dbt 1.11, DuckDB):

- Importing dbt takes about a second. It starts in a background thread when the release
  starts, so it overlaps the landing (python-calamine and the database writes release
  the GIL while they work).
- CPython's cyclic garbage collector. dbt allocates a large, long-lived object graph (the
  manifest, Jinja templates, the graph) and the collector keeps re-scanning it. Freezing
  what exists once dbt is imported, and collecting less often meanwhile, saves about
  0.4 s; the process exits soon after, so nothing is unfrozen.
- ``manifest.json``: dbt rewrites it (about 0.15 s) on every invocation. The release does
  not need it; ``run_results.json`` is written here from the returned results, for
  dbt's own tools (the summaries read the warehouse's build log: loader/dq_summary.py).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.errors import LoaderError

logger = logging.getLogger(__name__)

# Collect the youngest generation every 50,000 net allocations instead of 700
# (gc.get_threshold()'s default); dbt's garbage is mostly acyclic and freed by refcount.
GC_THRESHOLD = (50_000, 20, 100)


# A progress line at most this often (seconds) while dbt builds, when it is quiet.
PROGRESS_EVERY = 5.0


def verbose_default() -> bool:
    """dbt's own per-node lines on the console: env CHS_VERBOSE=1 (or ``-v``)."""
    return os.environ.get("CHS_VERBOSE", "").strip().lower() in ("1", "true", "yes")


def console_args(verbose: bool, colour: bool | None = None) -> list[str]:
    """dbt's console: quiet (its per-node lines go to logs/dbt.log only) unless ``verbose``;
    colour only on a terminal; never colour codes in the log file."""
    colour = sys.stdout.isatty() if colour is None else colour
    args = ["--use-colors" if colour else "--no-use-colors", "--no-use-colors-file"]
    if not verbose:
        args += ["--log-level", "none", "--log-level-file", "debug"]
    return args


class Progress:
    """dbt's events -> 'dbt: 40/97 nodes, 11 s' at most every PROGRESS_EVERY seconds, then
    'dbt: 97 nodes in 22 s' when dbt has finished."""

    def __init__(self, every: float = PROGRESS_EVERY) -> None:
        self.every = every
        self.done = 0
        self.total = 0
        self.started = self.last = time.monotonic()

    def __call__(self, event: Any) -> None:
        name = event.info.name
        if name == "LogStartLine" and not self.total:
            self.total = int(event.data.total)
        elif name == "NodeFinished":
            self.done += 1
            now = time.monotonic()
            if now - self.last >= self.every:
                self.last = now
                logger.info("dbt: %d/%d nodes, %.0f s", self.done, max(self.total, self.done), now - self.started)

    def finish(self) -> None:
        if self.done:
            logger.info("dbt: %d nodes in %.0f s", self.done, time.monotonic() - self.started)


@dataclass(frozen=True)
class DbtRun:
    succeeded: bool
    error: str | None  # dbt could not run at all (bad project, no connection)
    invocation_id: str | None = None  # dbt's id of this invocation (the build log's key)
    results: int = 0  # nodes dbt ran (0: it stopped before running any)


class InProcessDbt:
    """Starts importing dbt when created; ``run`` waits for the import and runs dbt."""

    def __init__(self) -> None:
        self._threshold = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLD)
        # not a daemon: if the release ends without running dbt, exit waits for the import
        self._import = threading.Thread(target=importlib.import_module, args=("dbt.cli.main",))
        self._import.start()

    def run(self, args: list[str], run_results: Path, verbose: bool = False) -> DbtRun:
        """``dbt <args>``; writes dbt's run_results.json to ``run_results``. Quiet with
        progress lines unless ``verbose`` (dbt's per-node lines)."""
        self._import.join()
        # a run that fails before it writes results (a compilation error) must not leave
        # the last build's results to be summarised as this one's
        run_results.unlink(missing_ok=True)
        try:
            from dbt.cli.main import dbtRunner  # raises here if the background import failed

            gc.freeze()
            progress = Progress()
            callbacks: list[Callable[[Any], None]] = [] if verbose else [progress]
            outcome = dbtRunner(callbacks=callbacks).invoke([*args, *console_args(verbose), "--no-write-json"])
            if not verbose:
                progress.finish()
        finally:
            gc.set_threshold(*self._threshold)
        if outcome.result is not None and hasattr(outcome.result, "write"):
            run_results.parent.mkdir(parents=True, exist_ok=True)
            outcome.result.write(str(run_results))
        error = None if outcome.exception is None else f"{type(outcome.exception).__name__}: {outcome.exception}"
        from dbt_common.invocation import get_invocation_id

        results = len(getattr(outcome.result, "results", None) or [])
        return DbtRun(succeeded=outcome.success, error=error, invocation_id=get_invocation_id(), results=results)

    def compile(self, names: list[str], target: str) -> dict[str, str]:
        """The compiled SQL of the named analyses: {name: sql}. Writes no artefacts, so the
        last build's run_results.json stays what it was."""
        self._import.join()
        from dbt.cli.main import dbtRunner

        outcome = dbtRunner().invoke(
            ["compile", "--select", *names, "--target", target, "--log-level", "none", "--no-write-json"]
        )
        results = getattr(outcome.result, "results", None)
        if not outcome.success or not results:
            reason = outcome.exception or "see the dbt log (logs/dbt.log)"
            raise LoaderError(f"dbt compile of {', '.join(names)} failed: {reason}")
        return {result.node.name: result.node.compiled_code for result in results}

    def close(self) -> None:
        """Wait for the import when dbt was not run (a release with nothing new).

        An import still running at interpreter exit fails (a module registering an
        exit hook after shutdown has begun) and prints a traceback from the thread.
        """
        self._import.join()
        gc.set_threshold(*self._threshold)
