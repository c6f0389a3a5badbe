"""Expected, user-facing errors: reported as one line, never as a traceback."""

from __future__ import annotations

from pathlib import Path


class LoaderError(Exception):
    """An expected failure that the CLI reports as a single line."""


class BadInputError(LoaderError):
    """A file that cannot be landed: the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")
