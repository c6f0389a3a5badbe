"""Download the CHS waiting-list workbooks listed on NHS England's statistics page.

The page (and the yearly archive pages it links to, one level deep) is scanned for links
to ``.xlsx`` files named like the publication. Each workbook is downloaded to a temporary
``.part`` file beside its final name, hashed, and only then moved into place, so a
partial download never sits under the final name. A workbook whose bytes equal the
local copy is left alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar

from loader.errors import BadInputError, LoaderError

logger = logging.getLogger(__name__)

DEFAULT_PAGE_URL = (
    "https://www.england.nhs.uk/statistics/statistical-work-areas/community-health-services-waiting-lists/"
)
PUBLICATION = re.compile(r"community[-_ ]+health[-_ ]+services[-_ ]+waiting[-_ ]+lists?", re.IGNORECASE)
ARCHIVE_YEAR = re.compile(r"20\d\d[-_/ ]+\d\d")
CHUNK = 1 << 16
T = TypeVar("T")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def find_links(page_url: str, html: str) -> tuple[list[str], list[str]]:
    """(workbook URLs, archive page URLs) linked from a page, absolute, in page order."""
    parser = _Links()
    parser.feed(html)
    host = urllib.parse.urlparse(page_url).netloc
    workbooks: list[str] = []
    archives: list[str] = []
    for href, text in parser.links:
        url = urllib.parse.urljoin(page_url, href)
        path = urllib.parse.unquote(urllib.parse.urlparse(url).path)
        if path.lower().endswith(".xlsx"):
            if PUBLICATION.search(path) or PUBLICATION.search(text):
                workbooks.append(url)
        elif (
            urllib.parse.urlparse(url).netloc == host
            and (PUBLICATION.search(text) or PUBLICATION.search(path))
            and (ARCHIVE_YEAR.search(text) or ARCHIVE_YEAR.search(path))
        ):
            archives.append(url)
    return list(dict.fromkeys(workbooks)), list(dict.fromkeys(archives))


@dataclass
class FetchSummary:
    downloaded: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    errors: list[BadInputError] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"fetch: {len(self.downloaded)} new, {len(self.updated)} changed, "
            f"{len(self.unchanged)} unchanged, {len(self.errors)} failed"
        )


def _open(url: str, timeout: float) -> urllib.response.addinfourl:
    request = urllib.request.Request(url, headers={"User-Agent": "chs-waiting-lists-loader"})
    return urllib.request.urlopen(request, timeout=timeout)  # type: ignore[no-any-return]


def _with_retries(action: Callable[[], T], what: str, retries: int, backoff: float) -> T:
    """Run ``action``; retry network errors and HTTP 5xx with exponential backoff."""
    for attempt in range(retries + 1):
        try:
            return action()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == retries:
                raise
            reason = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            if attempt == retries:
                raise
            reason = str(getattr(exc, "reason", exc))
        delay = backoff * 2**attempt
        logger.warning("%s: %s, retrying in %.1f s", what, reason, delay)
        time.sleep(delay)
    raise AssertionError("unreachable")


def _get_page(url: str, timeout: float, retries: int, backoff: float) -> str:
    def read() -> str:
        with _open(url, timeout) as response:
            charset = response.headers.get_content_charset() or "utf-8"
            return response.read().decode(charset, errors="replace")

    return _with_retries(read, url, retries, backoff)


def _download(url: str, target: Path, timeout: float) -> str:
    """Download to a .part file beside ``target``; return its SHA-256. Raises on a short read."""
    part = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    try:
        with _open(url, timeout) as response, part.open("wb") as out:
            expected = response.headers.get("Content-Length")
            size = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        if expected is not None and size != int(expected):
            raise ConnectionError(f"short read: {size} of {expected} bytes")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def _sha256(path: Path) -> str | None:
    if not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(page_url: str, dest: Path, *, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5) -> FetchSummary:
    """Download the workbooks listed on ``page_url`` (and its archive pages) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if not os.access(dest, os.W_OK):
        raise LoaderError(f"{dest}: data directory is not writable")
    try:
        html = _get_page(page_url, timeout, retries, backoff)
    except (urllib.error.URLError, OSError) as exc:
        raise LoaderError(f"cannot read {page_url}: {getattr(exc, 'reason', exc)}") from exc
    workbooks, archives = find_links(page_url, html)
    for archive in archives:
        try:
            more, _ = find_links(archive, _get_page(archive, timeout, retries, backoff))
        except (urllib.error.URLError, OSError) as exc:
            logger.warning("archive page %s skipped: %s", archive, getattr(exc, "reason", exc))
            continue
        workbooks.extend(url for url in more if url not in workbooks)
    if not workbooks:
        raise LoaderError(f"{page_url}: no CHS waiting-list workbooks linked")

    summary = FetchSummary()
    for url in workbooks:
        name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
        target = dest / name
        started = time.perf_counter()
        try:
            sha = _with_retries(partial(_download, url, target, timeout), name, retries, backoff)
        except (urllib.error.URLError, OSError) as exc:
            error = BadInputError(target, f"download failed ({getattr(exc, 'reason', exc)})")
            summary.errors.append(error)
            logger.error("%s", error)
            continue
        part = target.with_name(f".{target.name}.part")
        previous = _sha256(target)
        if previous == sha:
            part.unlink()
            summary.unchanged.append(target)
            status = "unchanged"
        else:
            os.replace(part, target)
            (summary.updated if previous else summary.downloaded).append(target)
            status = "updated" if previous else "downloaded"
        logger.info("%-10s %s  %d bytes  %.2f s", status, name, target.stat().st_size, time.perf_counter() - started)
    return summary
