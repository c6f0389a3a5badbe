"""Read the trust_metrics extract CSV verbatim: its header and its rows, all as text."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from loader.errors import BadInputError

REQUIRED_COLUMNS = ("trust_code", "period")


@dataclass
class Extract:
    path: Path
    columns: list[str]
    rows: list[list[str | None]]


def read_extract(path: Path, data: bytes) -> Extract:
    """Parse ``data`` (the bytes of ``path``). Empty fields become NULL: CSV cannot tell them apart."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(path, f"not UTF-8 text (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        rows: list[list[str | None]] = []
        for line_number, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                raise BadInputError(path, f"line {line_number} has {len(record)} fields, the header has {len(header)}")
            rows.append([value if value != "" else None for value in record])
    except StopIteration:
        raise BadInputError(path, "empty file") from None
    except csv.Error as exc:
        raise BadInputError(path, f"malformed CSV ({exc})") from exc
    columns = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise BadInputError(path, f"not a trust_metrics extract (no column {', '.join(missing)})")
    if len(set(columns)) != len(columns) or "" in columns:
        raise BadInputError(path, "header has empty or repeated column names")
    return Extract(path=path, columns=columns, rows=rows)
