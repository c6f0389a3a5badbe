"""Read a CHS waiting-list workbook into verbatim cells.

The only things read for meaning are what the loader itself needs to file a workbook:
the reporting month (to know which release a file replaces) and the cover page's
publication dates (to decide which release of a month wins). Both come from the
workbook's content, never from its file name. Everything else is landed as text and
interpreted in dbt.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from python_calamine import CalamineError, CalamineWorkbook

from loader.errors import BadInputError
from loader.limits import DEFAULT_LIMITS, MIB, Limits

MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}

# Titles of the waiting-list tables end "... by service, July 2025".
_PERIOD_TITLE = re.compile(r"\bby service,\s+([A-Za-z]+)\s+(\d{4})\s*$")
_DATE_TEXT = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
# How far down a sheet a title or cover-page label may sit.
_TITLE_SCAN_ROWS = 10


@dataclass
class Cells:
    """Non-empty cells of a workbook in columnar form, ready for a bulk insert."""

    sheet_index: list[int] = field(default_factory=list)
    sheet_name: list[str] = field(default_factory=list)
    row_number: list[int] = field(default_factory=list)
    column_number: list[int] = field(default_factory=list)
    cell_type: list[str] = field(default_factory=list)
    cell_text: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cell_text)


@dataclass
class Workbook:
    """A parsed workbook: its cells plus the few facts the loader files it by."""

    path: Path
    sheet_names: list[str]
    row_count: int
    cells: Cells
    reporting_period: dt.date
    published_on: dt.date | None
    revised_on: dt.date | None

    @property
    def release_date(self) -> dt.date | None:
        """The date that ranks releases of one month: revised, else published."""
        return self.revised_on or self.published_on


def number_text(value: float) -> str:
    """A number as Excel's general format shows it: 15.0 -> "15", 2.5 -> "2.5"."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def cell_to_text(value: Any) -> tuple[str, str] | None:
    """Return (cell_type, text) for a calamine value, or None for an empty cell.

    Numbers are written as Excel shows a general number: 15.0 -> "15", 0.0 -> "0", so a
    zero is text "0" while a blank cell is not landed at all.
    """
    if isinstance(value, str):
        return None if value == "" else ("s", value)
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "b", "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return "n", number_text(value)
    if isinstance(value, int):
        return "n", str(value)
    if isinstance(value, dt.datetime):
        return "d", value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return "d", value.isoformat()
    if isinstance(value, dt.time | dt.timedelta):
        return "t", str(value)
    if value is None:
        return None
    return "s", str(value)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and (match := _DATE_TEXT.match(value)):
        day, month, year = (int(part) for part in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    return None


def _first_text(rows: list[list[Any]]) -> Iterable[str]:
    for row in rows[:_TITLE_SCAN_ROWS]:
        for value in row:
            if isinstance(value, str) and value.strip():
                yield value.strip()
                break


def _cover_dates(rows: list[list[Any]]) -> dict[str, dt.date | None]:
    """Published/Revised dates from a cover page's 'Label:' | value pairs."""
    found: dict[str, dt.date | None] = {}
    for row in rows:
        for position, value in enumerate(row[:-1]):
            if isinstance(value, str) and value.strip().lower() in ("published:", "revised:"):
                found.setdefault(value.strip().lower().rstrip(":"), _as_date(row[position + 1]))
    return found


def check_archive(path: Path, content: BinaryIO, limits: Limits) -> None:
    """Refuse an xlsx archive whose parts would inflate beyond the caps, before reading it.

    The sizes are the archive's declared ones, which are also what the reader holds the
    data to: its zip layer stops with an error at a part's declared size, so a part
    cannot inflate to more than it declares (a zip bomb must declare its size).
    """
    try:
        with zipfile.ZipFile(content) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadInputError(path, f"corrupt or unreadable workbook ({exc})") from exc
    if len(parts) > limits.max_parts:
        raise BadInputError(path, f"archive holds {len(parts)} parts, over the cap of {limits.max_parts}")
    names = [part.filename for part in parts]
    if len(set(names)) != len(names):
        raise BadInputError(path, "archive holds two parts with the same name")
    largest = max(parts, key=lambda part: part.file_size, default=None)
    if largest is not None and largest.file_size > limits.max_sheet_bytes:
        raise BadInputError(
            path,
            f"part {largest.filename} inflates to {largest.file_size / MIB:.0f} MiB, over the "
            f"{limits.max_sheet_mb:g} MiB cap per sheet (--max-sheet-mb)",
        )
    total = sum(part.file_size for part in parts)
    if total > limits.max_workbook_bytes:
        raise BadInputError(
            path,
            f"workbook inflates to {total / MIB:.0f} MiB, over the {limits.max_workbook_mb:g} MiB cap "
            "(--max-workbook-mb)",
        )


def read_workbook(path: Path, content: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> Workbook:
    """Read every sheet of ``content`` (the bytes of ``path``, which names it in errors).

    Raise BadInputError when it is not a readable CHS waiting-list workbook, or when it
    exceeds ``limits``. Sheets are read one at a time, so only one sheet's rows are held
    besides the cells kept. Call it through loader.reader, which runs it in a process
    whose memory is capped: a sheet whose few cells span a huge area makes the parser
    allocate the whole area before any check here could see it.
    """
    if content.read(4) != b"PK\x03\x04":
        raise BadInputError(path, "not an .xlsx workbook (no zip signature)")
    content.seek(0)
    check_archive(path, content, limits)
    content.seek(0)

    cells = Cells()
    periods: set[dt.date] = set()
    has_org_header = False
    cover: dict[str, dt.date | None] = {}
    row_count = 0
    try:
        book = CalamineWorkbook.from_filelike(content)
        sheet_names = list(book.sheet_names)
        for sheet_index, sheet_name in enumerate(sheet_names, start=1):
            rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            row_count += len(rows)
            for title in _first_text(rows):
                if match := _PERIOD_TITLE.search(title):
                    month = MONTHS.get(match.group(1).lower())
                    if month is not None:
                        periods.add(dt.date(int(match.group(2)), month, 1))
            if not cover:
                cover = _cover_dates(rows[: _TITLE_SCAN_ROWS * 2])
            _append_sheet(cells, sheet_index, sheet_name, rows, limits.max_cell_chars, path)
            has_org_header = has_org_header or any(
                isinstance(value, str) and value.strip().lower() == "organisation type"
                for row in rows[: _TITLE_SCAN_ROWS * 2]
                for value in row
            )
            del rows
    except (CalamineError, OSError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInputError(path, f"corrupt or unreadable workbook ({detail})") from exc

    if not periods or not has_org_header:
        raise BadInputError(
            path,
            "not the CHS waiting-list publication (no 'Organisation Type' table titled '... by service, <Month YYYY>')",
        )
    if len(periods) > 1:
        listed = ", ".join(sorted(period.strftime("%B %Y") for period in periods))
        raise BadInputError(path, f"sheet titles disagree on the reporting month ({listed})")
    return Workbook(
        path=path,
        sheet_names=sheet_names,
        row_count=row_count,
        cells=cells,
        reporting_period=periods.pop(),
        published_on=cover.get("published"),
        revised_on=cover.get("revised"),
    )


def _append_sheet(
    cells: Cells, sheet_index: int, sheet_name: str, rows: list[list[Any]], max_cell_chars: int, path: Path
) -> None:
    """Append the non-empty cells of one sheet; row and column numbers are 1-based, as in Excel.

    Most cells are blank or numbers, so those take a fast path; cell_to_text does the rest,
    and a text longer than ``max_cell_chars`` refuses the workbook.
    """
    start = len(cells)
    row_numbers = cells.row_number
    column_numbers = cells.column_number
    types = cells.cell_type
    texts = cells.cell_text
    for row_number, row in enumerate(rows, start=1):
        for column_number, value in enumerate(row, start=1):
            if value.__class__ is float:
                kind, text = "n", number_text(value)
            elif value == "":
                continue
            else:
                converted = cell_to_text(value)
                if converted is None:
                    continue
                kind, text = converted
                if len(text) > max_cell_chars:
                    raise BadInputError(
                        path,
                        f"sheet '{sheet_name}' row {row_number} column {column_number} holds {len(text)} characters, "
                        f"over the cap of {max_cell_chars} per cell (--max-cell-chars)",
                    )
            row_numbers.append(row_number)
            column_numbers.append(column_number)
            types.append(kind)
            texts.append(text)
    added = len(cells) - start
    cells.sheet_index.extend([sheet_index] * added)
    cells.sheet_name.extend([sheet_name] * added)


def parse_file(path: Path, data: bytes, limits: Limits = DEFAULT_LIMITS) -> Workbook:
    """read_workbook on bytes: the unit of work of a parse worker (loader.reader)."""
    return read_workbook(path, io.BytesIO(data), limits)
