"""Small CHS-like workbooks written by the tests themselves, for edge cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

SERVICES = ("(A) Audiology", "(A) Musculoskeletal service", "(CYP) Audiology")
BANDS = (
    "0-1 weeks (0-7 days)",
    ">1-2 weeks (8-14 days)",
    ">2-4 weeks (15-28 days)",
    ">4-12 weeks (29-84 days)",
    ">12-18 weeks (85-126 days)",
    ">18-52 weeks (127-364 days)",
    ">52-104 weeks (365-728 days)",
    "over 104 weeks (over 2 years)",
)
# org_type, code, name
ORGS = (
    ("National", None, "England"),
    ("Provider", "RJ7", "ST GEORGE'S UNIVERSITY HOSPITALS NHS FOUNDATION TRUST"),
    ("Provider", "NNV", "YOUR HEALTHCARE"),
)


def write_chs_workbook(
    path: Path,
    month: str = "July 2025",
    published: Any = "11/09/2025",
    revised: Any = "-",
    values: dict[tuple[str, str, str], Any] | None = None,
    services: Sequence[str] = SERVICES,
    extra_sheets: Sequence[str] = (),
    header_offset: int = 0,
) -> Path:
    """Write a workbook shaped like the publication: cover, contents, Table 4 and 4a-4h.

    ``values`` maps (table title measure, org code or name, service) to a cell value;
    unlisted cells are blank. ``header_offset`` adds note rows above the header row.
    """
    values = values or {}
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Cover page"
    for row in (
        ("Title:", "Community Health Services Waiting Times"),
        ("Published:", published),
        ("Revised:", revised),
    ):
        cover.append(list(row))
    contents = book.create_sheet("Contents")
    contents.append(["Contents"])
    for name in extra_sheets:
        book.create_sheet(name).append([f"{name} notes, with 'quotes' and \"double quotes\""])
    measures = ["Total waiting list", *(f"Number waiting {band}" for band in BANDS)]
    for index, measure in enumerate(measures):
        sheet = book.create_sheet("Table 4" + ("" if index == 0 else "abcdefgh"[index - 1]))
        sheet.append([f"{measure} by service, {month}"])
        for note in range(header_offset + 2):
            sheet.append([f"Note {note}: blanks indicate no organisation submitted."])
        sheet.append(["Organisation Type", "Organisation Code", "Organisation Name", *services])
        for org_type, code, name in ORGS:
            key = code or name
            sheet.append([org_type, code, name, *(values.get((measure, key, s)) for s in services)])
    book.save(path)
    return path


def cover_date(day: int, month: int, year: int) -> dt.datetime:
    return dt.datetime(year, month, day)
