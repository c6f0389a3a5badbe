"""Land files into the warehouse: one transaction per file, idempotent by content hash.

Which release of a month wins: a file whose bytes differ from the month's current
release replaces it, unless its cover page says it was released *earlier* (its
``Revised:`` date, else its ``Published:`` date, is before the current release's). Such
a stale file is still recorded, as superseded, so the load log has every file ever seen.
Releases without cover dates rank by landing order (the later landing wins).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loader import __version__
from loader.errors import BadInputError
from loader.extract import read_extract
from loader.limits import DEFAULT_LIMITS, MIB, Limits
from loader.reader import WorkbookReader
from loader.warehouse import CELLS_TABLE, LOAD_LOG_COLUMNS, SUPERSEDED_CELLS_TABLE, Warehouse, utc_now
from loader.workbook import Workbook

logger = logging.getLogger(__name__)

WORKBOOK_KIND = "chs_workbook"
EXTRACT_KIND = "trust_metrics_extract"
LANDABLE_SUFFIXES = (".xlsx", ".csv")


@dataclass
class FileResult:
    path: Path
    status: str  # landed | superseded | skipped
    detail: str = ""
    rows: int = 0
    seconds: float = 0.0
    sha256: str | None = None
    period: dt.date | None = None
    replaced_sha256: str | None = None  # the month's previous current release, if this one replaced it


@dataclass
class LandSummary:
    results: list[FileResult] = field(default_factory=list)
    errors: list[BadInputError] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)


def expand_paths(paths: Iterable[Path]) -> Iterator[Path | BadInputError]:
    """Files as given; directories expand to their .xlsx workbooks, sorted by name."""
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".xlsx" and p.is_file())
            if not found:
                yield BadInputError(path, "directory holds no .xlsx workbooks")
            yield from found
        elif not path.exists():
            yield BadInputError(path, "no such file or directory")
        elif path.suffix.lower() not in LANDABLE_SUFFIXES:
            yield BadInputError(path, f"unsupported file type '{path.suffix}' (expected .xlsx or .csv)")
        else:
            yield path


@dataclass
class _Task:
    """One input file on its way through the pipeline: hashed, then read, maybe parsed.

    Its bytes are read only when its turn to be parsed comes (``load``) and dropped once it
    is written, so landing ten years of workbooks holds a few files in memory, not all.
    """

    path: Path
    sha256: str
    data: bytes = b""
    parsed: Future[Workbook] | None = None

    def load(self) -> bytes:
        """The file's bytes, as hashed before (a file changed meanwhile is refused)."""
        if not self.data:
            try:
                data = self.path.read_bytes()
            except OSError as exc:
                raise BadInputError(self.path, f"cannot read file ({exc.strerror})") from exc
            if hashlib.sha256(data).hexdigest() != self.sha256:
                raise BadInputError(self.path, "file changed while it was being landed; run again")
            self.data = data
        return self.data


def _hash(path: Path, limits: Limits) -> _Task:
    """The file's SHA-256, read in chunks: whether it is new is known before it is read whole."""
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes and path.suffix.lower() == ".xlsx":
            raise BadInputError(
                path, f"file is {size / MIB:.0f} MiB, over the {limits.max_file_mb:g} MiB cap (--max-file-mb)"
            )
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256")
    except OSError as exc:
        raise BadInputError(path, f"cannot read file ({exc.strerror})") from exc
    return _Task(path, digest.hexdigest())


def _land_task(warehouse: Warehouse, task: _Task, reader: WorkbookReader) -> FileResult:
    """Land one file; its seconds are the time it held up the run (parsing ahead overlaps)."""
    started = time.perf_counter()
    data = task.load()
    if task.path.suffix.lower() == ".csv":
        return _land_extract(warehouse, task.path, data, task.sha256, started)
    if task.parsed is None:
        task.parsed = reader.submit(task.path, data)
    workbook = reader.result(task.parsed, task.path, data)
    return _land_workbook(warehouse, workbook, len(data), task.sha256, started)


def _log_record(
    sha256: str, kind: str, path: Path, size: int, rows: int, started: float, **fields: Any
) -> dict[str, Any]:
    """A raw_chs.load_log row: the common provenance, plus ``fields`` for what the kind has."""
    record: dict[str, Any] = dict.fromkeys(LOAD_LOG_COLUMNS)
    record.update(
        file_sha256=sha256,
        source_kind=kind,
        file_name=path.name,
        file_size_bytes=size,
        row_count=rows,
        release_status="current",
        loaded_at=utc_now(),
        load_seconds=round(time.perf_counter() - started, 3),
        loader_version=__version__,
    )
    record.update(fields)
    return record


def _land_workbook(warehouse: Warehouse, workbook: Workbook, size: int, sha256: str, started: float) -> FileResult:
    period = workbook.reporting_period
    with warehouse.transaction():
        current = warehouse.current_release(WORKBOOK_KIND, period)
        stale = (
            current is not None
            and current.release_date is not None
            and workbook.release_date is not None
            and workbook.release_date < current.release_date
        )
        replaced = current.file_sha256 if current is not None and not stale else None
        if replaced:
            warehouse.supersede(replaced, sha256, move_cells=True)
        warehouse.insert_cells(SUPERSEDED_CELLS_TABLE if stale else CELLS_TABLE, sha256, workbook.cells)
        warehouse.log_load(
            _log_record(
                sha256,
                WORKBOOK_KIND,
                workbook.path,
                size,
                workbook.row_count,
                started,
                sheet_count=len(workbook.sheet_names),
                cell_count=len(workbook.cells),
                reporting_period=period,
                published_on=workbook.published_on,
                revised_on=workbook.revised_on,
                release_status="superseded" if stale else "current",
                superseded_by_sha256=current.file_sha256 if stale and current else None,
            )
        )
    month = period.strftime("%B %Y")
    if stale:
        detail = f"{month}: older than the current release, kept as superseded"
    elif replaced:
        detail = f"{month}: revised release, replaces {replaced[:12]}"
    else:
        detail = month
    return FileResult(
        workbook.path,
        "superseded" if stale else "landed",
        f"{detail}, {len(workbook.sheet_names)} sheets, {len(workbook.cells)} cells",
        rows=workbook.row_count,
        seconds=time.perf_counter() - started,
        sha256=sha256,
        period=period,
        replaced_sha256=replaced,
    )


def _land_extract(warehouse: Warehouse, path: Path, data: bytes, sha256: str, started: float) -> FileResult:
    extract = read_extract(path, data)
    with warehouse.transaction():
        current = warehouse.current_release(EXTRACT_KIND, None)
        if current is not None:
            warehouse.supersede(current.file_sha256, sha256, move_cells=False)
        warehouse.replace_extract(extract.columns, extract.rows, sha256)
        warehouse.log_load(_log_record(sha256, EXTRACT_KIND, path, len(data), len(extract.rows), started))
    return FileResult(
        path,
        "landed",
        f"trust_metrics extract, {len(extract.columns)} columns",
        rows=len(extract.rows),
        seconds=time.perf_counter() - started,
    )


def land_paths(
    warehouse: Warehouse, paths: Iterable[Path], workers: int | None = None, limits: Limits = DEFAULT_LIMITS
) -> LandSummary:
    """Land each file on its own; a bad file is reported and the rest still land.

    Workbooks are parsed in worker processes (loader.reader: ``workers``, default one per
    core, at most 2 files ahead each, memory capped by ``limits``) while the calling
    thread writes them, in the order given, one transaction per file.
    """
    summary = LandSummary()
    warehouse.ensure_tables()
    seen = warehouse.landed_hashes()
    tasks: list[_Task] = []
    for item in expand_paths(paths):
        try:
            if isinstance(item, BadInputError):
                raise item
            task = _hash(item, limits)
        except BadInputError as error:
            summary.errors.append(error)
            logger.error("%s", error)
            continue
        if task.sha256 in seen:
            _report(summary, FileResult(task.path, "skipped", "already landed (same bytes)"))
            continue
        seen.add(task.sha256)
        tasks.append(task)

    workbooks = [task for task in tasks if task.path.suffix.lower() == ".xlsx"]
    workers = workers if workers is not None else min(os.cpu_count() or 1, len(workbooks))
    window = 2 * max(workers, 1)  # parses submitted ahead of the file being written
    submitted = 0
    written_workbooks = 0
    with WorkbookReader(limits, workers) as reader:
        for task in tasks:
            if task.path.suffix.lower() == ".xlsx":
                while submitted < min(written_workbooks + window, len(workbooks)):
                    ahead = workbooks[submitted]
                    submitted += 1
                    with contextlib.suppress(BadInputError):  # reported when its turn to be written comes
                        ahead.parsed = reader.submit(ahead.path, ahead.load())
                written_workbooks += 1
            try:
                result = _land_task(warehouse, task, reader)
            except BadInputError as error:
                summary.errors.append(error)
                logger.error("%s", error)
                continue
            finally:
                task.data = b""  # release the bytes and the parsed cells once written
                task.parsed = None
            _report(summary, result)
    if summary.count("landed") or summary.count("superseded"):
        warehouse.analyze()
    return summary


def _report(summary: LandSummary, result: FileResult) -> None:
    summary.results.append(result)
    logger.info(
        "%-8s %s  %s  %d rows  %.2f s",
        result.status,
        result.path.name,
        result.detail,
        result.rows,
        result.seconds,
    )
