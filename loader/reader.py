"""Parse workbooks in child processes whose memory is capped.

A workbook is a zip of XML written by whoever made the file. Its parts' sizes are
checked before parsing (loader.workbook.check_archive), but some inputs make the
parser itself allocate without bound before anything else could look: a sheet with
one cell in A1 and one in XFD1048576 is a few hundred bytes, and the parser allocates
the whole 17-billion-cell area (in native code: the process aborts, no exception).
So parsing runs in worker processes started from a clean server process
(``forkserver``) with their address space capped (``Limits.reader_memory_mb``). A
worker that runs out of memory dies or raises; the file is refused with one line and
the loader carries on. Workers also parse truly in parallel with the main process,
which writes the previous file to the warehouse meanwhile.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import resource
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import TracebackType

from loader.errors import BadInputError
from loader.limits import Limits
from loader.workbook import Workbook, parse_file


def _cap_memory(limit_bytes: int) -> None:
    """Worker initializer: cap the address space, so an allocation beyond it fails.

    The worker's stderr goes nowhere: a parser that aborts prints its own report there,
    and the loader's one-line error says what happened. Python errors come back pickled.
    """
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _parse(path: Path, data: bytes, limits: Limits) -> Workbook:
    try:
        return parse_file(path, data, limits)
    except MemoryError:
        raise BadInputError(path, _too_big(limits)) from None


def _too_big(limits: Limits) -> str:
    return (
        f"reading it needs more than the {limits.reader_memory_mb:g} MiB memory cap (--reader-memory-mb): "
        "its cells span too large an area or inflate too far"
    )


# A Unix socket's path holds at most 107 bytes; the forkserver's lives in a pymp-* directory
# under TMPDIR, which deep work directories (CI runners, test temp dirs) make too long.
SOCKET_DIR_MAX = 60


def _short_socket_dir() -> None:
    """Make multiprocessing's temp directory (this process's, made once) a short one: the
    system's /tmp when TMPDIR's path is too long for the server's socket."""
    if len(tempfile.gettempdir()) <= SOCKET_DIR_MAX or not os.path.isdir("/tmp"):
        return
    saved = tempfile.tempdir
    tempfile.tempdir = "/tmp"
    try:
        multiprocessing.util.get_temp_dir()  # created now, reused (and removed at exit) after
    finally:
        tempfile.tempdir = saved


class WorkbookReader:
    """A pool of capped parse workers; created on first use, closed with the context."""

    def __init__(self, limits: Limits, workers: int = 1) -> None:
        self.limits = limits
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        _short_socket_dir()
        context = multiprocessing.get_context("forkserver")
        # the server imports only this module's own dependencies, not the caller's
        context.set_forkserver_preload(["loader.reader"])
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_cap_memory,
            initargs=(self.limits.reader_memory_bytes,),
        )

    def submit(self, path: Path, data: bytes) -> Future[Workbook]:
        """Start parsing ``data`` (the bytes of ``path``); ``result`` collects it."""
        if self._pool is None:
            self._pool = self._new_pool(self.workers)
        try:
            return self._pool.submit(_parse, path, data, self.limits)
        except BrokenProcessPool:  # an earlier file killed a worker: start afresh
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool(self.workers)
            return self._pool.submit(_parse, path, data, self.limits)

    def result(self, future: Future[Workbook], path: Path, data: bytes) -> Workbook:
        """The parsed workbook, or BadInputError naming ``path``.

        A worker that dies breaks every parse in flight in its pool, not only its own:
        each of those is parsed again alone, in a pool of its own, to tell which file
        it was.
        """
        try:
            return future.result()
        except BrokenProcessPool:
            pass
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        alone = self._new_pool(1)
        try:
            return alone.submit(_parse, path, data, self.limits).result()
        except BrokenProcessPool:
            raise BadInputError(path, _too_big(self.limits)) from None
        finally:
            alone.shutdown(wait=True)

    def read(self, path: Path, data: bytes) -> Workbook:
        return self.result(self.submit(path, data), path, data)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> WorkbookReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
