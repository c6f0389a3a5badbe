"""Expected, user-facing errors: reported as one line, never as a traceback."""

from __future__ import annotations

from pathlib import Path


class LoaderError(Exception):
    """An expected failure that the CLI reports as a single line."""


class BadInputError(LoaderError):
    """A file that cannot be landed: the message names the file as the user gave it (a file
    found in a directory: the directory as given, then its name) and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[BadInputError], tuple[Path, str]]:
        # rebuilt from (path, reason), not from the message: it crosses from parse workers
        return (type(self), (self.path, self.reason))


def shown(text: str) -> str:
    """``text`` safe to print on one line: control and other unprintable characters escaped.

    File names and URLs come from a web page; a newline in one must not forge a log line.
    """
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
