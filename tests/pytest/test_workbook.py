"""Reading workbooks: verbatim cells, the reporting month, and bad input."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from loader.errors import BadInputError
from loader.workbook import cell_to_text, read_workbook
from tests.pytest.conftest import real_workbooks
from tests.pytest.workbooks import write_chs_workbook


def read(path: Path):  # type: ignore[no-untyped-def]
    return read_workbook(path, io.BytesIO(path.read_bytes()))


def cells_of(workbook, sheet: str) -> dict[tuple[int, int], tuple[str, str]]:  # type: ignore[no-untyped-def]
    cells = workbook.cells
    return {
        (cells.row_number[i], cells.column_number[i]): (cells.cell_type[i], cells.cell_text[i])
        for i in range(len(cells))
        if cells.sheet_name[i] == sheet
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        (None, None),
        (0.0, ("n", "0")),
        (15.0, ("n", "15")),
        (2.5, ("n", "2.5")),
        ('it\'s "quoted"', ("s", 'it\'s "quoted"')),
        (True, ("b", "TRUE")),
        (dt.date(2025, 5, 15), ("d", "2025-05-15")),
        (dt.datetime(2025, 5, 15, 9, 30), ("d", "2025-05-15 09:30:00")),
    ],
)
def test_cell_to_text(value: object, expected: tuple[str, str] | None) -> None:
    assert cell_to_text(value) == expected


def test_blank_and_zero_stay_distinct(tmp_path: Path) -> None:
    path = write_chs_workbook(
        tmp_path / "wb.xlsx",
        values={
            ("Total waiting list", "RJ7", "(A) Audiology"): 0,
            ("Total waiting list", "NNV", "(A) Audiology"): 7,
        },
    )
    table = cells_of(read(path), "Table 4")
    header_row = next(row for (row, col), (_, text) in table.items() if text == "Organisation Type")
    assert table[(header_row + 2, 4)] == ("n", "0")  # RJ7: zero lands as "0"
    assert table[(header_row + 3, 4)] == ("n", "7")
    assert (header_row + 2, 5) not in table  # blank: no cell at all


def test_every_sheet_lands_with_quotes_and_positions(tmp_path: Path) -> None:
    path = write_chs_workbook(tmp_path / "wb.xlsx", extra_sheets=["Notes"], header_offset=2)
    workbook = read(path)
    assert workbook.sheet_names == [
        "Cover page",
        "Contents",
        "Notes",
        "Table 4",
        *(f"Table 4{c}" for c in "abcdefgh"),
    ]
    assert set(workbook.cells.sheet_name) == set(workbook.sheet_names)
    notes = cells_of(workbook, "Notes")
    assert notes[(1, 1)] == ("s", "Notes notes, with 'quotes' and \"double quotes\"")
    assert workbook.reporting_period == dt.date(2025, 7, 1)
    assert workbook.published_on == dt.date(2025, 9, 11)
    assert workbook.revised_on is None


def test_cover_date_as_excel_date(tmp_path: Path) -> None:
    path = write_chs_workbook(tmp_path / "wb.xlsx", published=dt.datetime(2025, 5, 15), revised="20/05/2025")
    workbook = read(path)
    assert workbook.published_on == dt.date(2025, 5, 15)
    assert workbook.release_date == dt.date(2025, 5, 20)


def test_month_comes_from_content_not_file_name(tmp_path: Path) -> None:
    path = write_chs_workbook(
        tmp_path / "Community-health-services-waiting-lists-2025-26-July.xlsx", month="March 2025"
    )
    assert read(path).reporting_period == dt.date(2025, 3, 1)


def test_not_a_chs_workbook(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    book = Workbook()
    book.active.append(["Some other statistics", 1, 2])  # type: ignore[union-attr]
    book.save(path)
    with pytest.raises(BadInputError, match=r"other\.xlsx: not the CHS waiting-list publication"):
        read(path)


def test_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("just text")
    with pytest.raises(BadInputError, match=r"notes.xlsx: not an \.xlsx workbook"):
        read(path)


def test_truncated_real_workbook(tmp_path: Path) -> None:
    data = real_workbooks()[0].read_bytes()
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError, match=r"truncated\.xlsx: corrupt or unreadable workbook"):
        read(path)


def test_real_workbooks_month_and_sheets() -> None:
    months = {}
    for path in real_workbooks():
        workbook = read(path)
        months[workbook.reporting_period] = len(workbook.sheet_names)
    assert sorted(months) == [dt.date(2024 + (m < 8), m, 1) for m in (8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7)]
    # August-November 2024 end at Table 4g (over 52 weeks); later releases add Table 4h.
    assert months[dt.date(2024, 8, 1)] == 13
    assert months[dt.date(2025, 7, 1)] == 14
