"""Caps on what the loader accepts from outside: one place for their defaults.

The release runs unattended against a web page nobody here controls, so every input it
reads has a size, and every wait has an end. The defaults sit far above the real files
(the largest real workbook is 1.4 MB; its largest sheet inflates to 0.9 MB; no cell
holds more than a few hundred characters) and far below what would hurt the machine.
The CLI exposes each as an option (``python -m loader fetch --help``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIB = 1 << 20

# Excel's own limit: a cell holds at most 32,767 characters.
EXCEL_MAX_CELL_CHARS = 32_767


def _cap(default: Any, help: str, *, fetch_only: bool = False) -> Any:
    """A field whose metadata the CLI turns into an option (loader/cli.py)."""
    return field(default=default, metadata={"help": help, "fetch_only": fetch_only})


@dataclass(frozen=True)
class Limits:
    """Each field is a CLI option of the same name (``--max-file-mb``); help says what it caps."""

    # ---- downloads (fetch, release)
    max_page_mb: float = _cap(5.0, "largest statistics or archive page read, MiB", fetch_only=True)
    download_deadline_s: float = _cap(
        300.0, "seconds one page or download may take in all, retries included (--timeout is per read)", fetch_only=True
    )
    # ---- a workbook file, downloaded or landed, and what reading it may inflate to
    max_file_mb: float = _cap(50.0, "largest workbook file downloaded or landed, MiB")
    max_sheet_mb: float = _cap(32.0, "largest part of a workbook (a sheet's XML) once inflated, MiB")
    max_workbook_mb: float = _cap(256.0, "all parts of a workbook once inflated, MiB")
    max_parts: int = _cap(2_000, "most files inside a workbook's zip")
    max_cell_chars: int = _cap(EXCEL_MAX_CELL_CHARS, "longest text in one cell (Excel's own limit)")
    reader_memory_mb: float = _cap(384.0, "memory (address space) of the process that parses a workbook, MiB")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MIB)

    @property
    def max_page_bytes(self) -> int:
        return int(self.max_page_mb * MIB)

    @property
    def max_sheet_bytes(self) -> int:
        return int(self.max_sheet_mb * MIB)

    @property
    def max_workbook_bytes(self) -> int:
        return int(self.max_workbook_mb * MIB)

    @property
    def reader_memory_bytes(self) -> int:
        return int(self.reader_memory_mb * MIB)


DEFAULT_LIMITS = Limits()
