"""Run dbt inside this process (dbt's programmatic API, ``dbtRunner``) for ``release``.

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
  not need it; ``run_results.json`` is written here from the returned results, so
  ``python -m loader dq-summary`` and the release summary read the usual file.
"""

from __future__ import annotations

import gc
import importlib
import threading
from dataclasses import dataclass
from pathlib import Path

from loader.errors import LoaderError

# Collect the youngest generation every 50,000 net allocations instead of 700
# (gc.get_threshold()'s default); dbt's garbage is mostly acyclic and freed by refcount.
GC_THRESHOLD = (50_000, 20, 100)


@dataclass(frozen=True)
class DbtRun:
    succeeded: bool
    error: str | None  # dbt could not run at all (bad project, no connection)


class InProcessDbt:
    """Starts importing dbt when created; ``run`` waits for the import and runs dbt."""

    def __init__(self) -> None:
        self._threshold = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLD)
        # not a daemon: if the release ends without running dbt, exit waits for the import
        self._import = threading.Thread(target=importlib.import_module, args=("dbt.cli.main",))
        self._import.start()

    def run(self, args: list[str], run_results: Path) -> DbtRun:
        """``dbt <args>``; writes dbt's run_results.json to ``run_results``."""
        self._import.join()
        # a run that fails before it writes results (a compilation error) must not leave
        # the last build's results to be summarised as this one's
        run_results.unlink(missing_ok=True)
        try:
            from dbt.cli.main import dbtRunner  # raises here if the background import failed

            gc.freeze()
            outcome = dbtRunner().invoke([*args, "--no-write-json"])
        finally:
            gc.set_threshold(*self._threshold)
        if outcome.result is not None and hasattr(outcome.result, "write"):
            run_results.parent.mkdir(parents=True, exist_ok=True)
            outcome.result.write(str(run_results))
        error = None if outcome.exception is None else f"{type(outcome.exception).__name__}: {outcome.exception}"
        return DbtRun(succeeded=outcome.success, error=error)

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
