"""Download the CHS waiting-list workbooks listed on NHS England's statistics page.

The page (and the yearly archive pages it links to, one level deep) is scanned for links
to ``.xlsx`` files named like the publication. The job runs unattended against a page
nobody here controls, so what it fetches, and what it lets replace a good local file,
is narrow:

- **Where from.** Only http(s), only the page's own origin (scheme, host, port) plus
  hosts the user allows (``--allow-host`` / ``CHS_ALLOWED_HOSTS``, never a downgrade from
  https), redirects followed only within those. Archive pages are same-origin HTML pages.
- **How much.** Pages and workbooks have size caps and an overall deadline per download
  (a server that drips a byte a second still ends); see loader.limits.
- **Only what changed.** Each download's ETag / Last-Modified is kept in the data
  directory (``.chs-fetch-state.json``) and sent back next time; a server that answers
  304 costs no download. Where it gives no validators, the bytes are compared by SHA-256.
- **Nothing half-written, nothing bad kept.** A workbook downloads to a ``.part`` file
  beside its final name and is read with the loader's own reader (loader.reader) before
  it is moved over anything: an HTML error page, an empty or truncated body, a zip bomb
  are refused with one line naming the URL and the reason, and the local copy stays.
- **Distinct URLs, distinct files.** Two URLs with the same file name (one name in two
  years' upload folders) get two local files; the name a URL got is kept in the state.

Every failure on one link is one line naming the link; the other links still go
through, and the run reports them at the end (exit status 1).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, TypeVar

from loader.errors import BadInputError, LoaderError, shown
from loader.limits import DEFAULT_LIMITS, MIB, Limits
from loader.lock import file_lock
from loader.reader import WorkbookReader

logger = logging.getLogger(__name__)

DEFAULT_PAGE_URL = (
    "https://www.england.nhs.uk/statistics/statistical-work-areas/community-health-services-waiting-lists/"
)
PUBLICATION = re.compile(r"community[-_ ]+health[-_ ]+services[-_ ]+waiting[-_ ]+lists?", re.IGNORECASE)
ARCHIVE_YEAR = re.compile(r"20\d\d[-_/ ]+\d\d")
# An archive page's path ends in a directory or an HTML-ish page, never a document.
HTML_PATH = re.compile(r"(/|/[^/.]*|\.html?|\.php|\.aspx?)$", re.IGNORECASE)
HTML_TYPES = ("text/html", "application/xhtml+xml")
STATE_FILE = ".chs-fetch-state.json"
LOCK_FILE = ".chs-fetch.lock"
# Characters kept in a local file name; anything else becomes "_".
UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._()+-]")
MAX_NAME_BYTES = 150
CHUNK = 1 << 16
USER_AGENT = "chs-waiting-lists-loader"
T = TypeVar("T")


class LinkError(LoaderError):
    """A link that could not be fetched or was refused: the message names the URL and why."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{shown(url)}: {reason}")


class _Transient(Exception):
    """A network failure worth retrying (a dropped connection, a 5xx, a short body)."""


class _NotModified(Exception):
    """The server's 304: the copy downloaded last time is still current."""


# ---- links ----------------------------------------------------------------------------


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


def absolute_url(base: str, href: str) -> str:
    """``href`` resolved against ``base`` and made safe to request.

    As browsers do, tabs and newlines are dropped and surrounding spaces trimmed; any
    other character a URL may not hold (a space, a control character, non-ASCII) is
    percent-encoded, and existing escapes are kept as they are.
    """
    cleaned = re.sub(r"[\t\n\r]", "", href).strip(" \x00-\x1f")
    url = urllib.parse.urljoin(base, cleaned)
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    query = urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def _url_path(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path)


def find_links(page_url: str, html: str) -> tuple[list[str], list[str]]:
    """(workbook URLs, archive page URLs) linked from a page, absolute, in page order.

    Workbooks are every link to an ``.xlsx`` named like the publication, wherever it
    points (the fetch refuses those outside the allowed origins, and says so). Archive
    pages are same-origin links to HTML pages named like the publication and a year.
    """
    parser = _Links()
    parser.feed(html)
    page_origin = origin(page_url)
    workbooks: list[str] = []
    archives: list[str] = []
    for href, text in parser.links:
        try:
            url = absolute_url(page_url, href)
            path = _url_path(url)
            same_origin = origin(url) == page_origin
        except ValueError:  # an unparseable href (a bad port, a broken IPv6 literal)
            logger.warning("link skipped, not a URL: %s", shown(href))
            continue
        named = PUBLICATION.search(text) or PUBLICATION.search(path)
        if path.lower().endswith(".xlsx"):
            if named:
                workbooks.append(url)
        elif (
            same_origin
            and named
            and (ARCHIVE_YEAR.search(text) or ARCHIVE_YEAR.search(path))
            and HTML_PATH.search(urllib.parse.urlsplit(url).path)
        ):
            archives.append(url)
    return list(dict.fromkeys(workbooks)), list(dict.fromkeys(archives))


# ---- where it may fetch from ----------------------------------------------------------


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit for http(s)."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    default_port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), parts.port or default_port


@dataclass(frozen=True)
class UrlPolicy:
    """The page's origin, plus hosts the user allows explicitly."""

    page_url: str
    allowed_hosts: tuple[str, ...] = ()

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, or None when it may."""
        try:
            scheme, host, port = origin(url)
        except ValueError as exc:
            return f"refused: not a valid URL ({exc})"
        if scheme not in ("http", "https"):
            return f"refused: scheme '{shown(scheme)}:' (only http and https are fetched)"
        page_scheme, page_host, page_port = origin(self.page_url)
        if (scheme, host, port) == (page_scheme, page_host, page_port):
            return None
        allowed = {entry.lower() for entry in self.allowed_hosts}
        if host in allowed or f"{host}:{port}" in allowed:
            if page_scheme == "https" and scheme != "https":
                return "refused: http link from an https page (no downgrade)"
            return None
        return (
            f"refused: host {shown(host)}{'' if port in (80, 443) else f':{port}'} is not the page's origin "
            "(allow it with --allow-host or CHS_ALLOWED_HOSTS)"
        )


class _PolicyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL the policy allows."""

    def __init__(self, policy: UrlPolicy) -> None:
        super().__init__()
        self.policy = policy

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        target = absolute_url(req.full_url, newurl)
        refusal = self.policy.refusal(target)
        if refusal:
            raise LinkError(req.full_url, f"redirect to {shown(target)} {refusal}")
        return super().redirect_request(req, fp, code, msg, headers, target)


def _opener(policy: UrlPolicy) -> urllib.request.OpenerDirector:
    """http(s) only: no file:, ftp: or data: handlers, redirects checked by ``policy``."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _PolicyRedirects(policy),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


# ---- requests ---------------------------------------------------------------------------


@dataclass
class FetchOptions:
    page_url: str = DEFAULT_PAGE_URL
    allowed_hosts: tuple[str, ...] = ()
    timeout: float = 30.0  # seconds per connect or read
    retries: int = 3
    backoff: float = 0.5
    limits: Limits = DEFAULT_LIMITS


class _Client:
    """Requests under one policy, each with a deadline, retried when the network fails."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self.policy = UrlPolicy(options.page_url, options.allowed_hosts)
        self.opener = _opener(self.policy)

    def with_retries(self, url: str, attempt: Callable[[float], T]) -> T:
        """``attempt(deadline)``, retried with exponential backoff on transient failures."""
        deadline = time.monotonic() + self.options.limits.download_deadline_s
        for number in range(self.options.retries + 1):
            try:
                return attempt(deadline)
            except _Transient as exc:
                delay = self.options.backoff * 2**number
                if number == self.options.retries or time.monotonic() + delay >= deadline:
                    raise LinkError(url, f"download failed ({exc})") from None
                logger.warning("%s: %s, retrying in %.1f s", shown(url), exc, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    @contextmanager
    def open(
        self, url: str, deadline: float, headers: dict[str, str] | None = None
    ) -> Iterator[http.client.HTTPResponse]:
        """GET ``url``; 5xx and network errors are transient, other HTTP errors final."""
        refusal = self.policy.refusal(url)
        if refusal:
            raise LinkError(url, refusal)
        timeout = max(0.1, min(self.options.timeout, deadline - time.monotonic()))
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            response = self.opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 304:
                raise _NotModified from None
            if exc.code >= 500:
                raise _Transient(f"HTTP {exc.code}") from None
            raise LinkError(url, f"HTTP {exc.code} {shown(str(exc.reason))}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, OSError | str):
                raise _Transient(shown(str(reason))) from None
            raise LinkError(url, shown(str(reason))) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Transient(_network_reason(exc)) from None
        except ValueError as exc:  # http.client.InvalidURL and friends
            raise LinkError(url, f"not a valid URL ({shown(str(exc))})") from None
        with response:
            yield response

    def read_chunks(
        self, url: str, response: http.client.HTTPResponse, deadline: float, cap_mb: float, option: str
    ) -> Iterator[bytes]:
        """The body in chunks, refused beyond ``cap_mb`` MiB (the value of ``option``) or past ``deadline``."""
        cap = int(cap_mb * MIB)
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise LinkError(url, f"refused: {_size(int(declared))} declared, over the {cap_mb:g} MiB cap ({option})")
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise LinkError(
                    url,
                    f"refused: not complete within the {self.options.limits.download_deadline_s:g} s deadline "
                    f"({size} bytes received; --download-deadline-s)",
                )
            try:
                chunk = response.read1(CHUNK)  # what has arrived: a slow server cannot stall the deadline check
            except (OSError, http.client.HTTPException) as exc:
                raise _Transient(_network_reason(exc)) from None
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise LinkError(url, f"refused: body exceeds the {cap_mb:g} MiB cap ({option})")
            yield chunk
        if declared is not None and declared.isdigit() and size != int(declared):
            raise _Transient(f"short read: {size} of {declared} bytes")

    def get_page(self, url: str, *, html_only: bool) -> str:
        """A page's text; ``html_only`` refuses any other content type."""

        def attempt(deadline: float) -> str:
            with self.open(url, deadline) as response:
                content_type = response.headers.get_content_type()
                if html_only and content_type not in HTML_TYPES:
                    raise LinkError(url, f"not an HTML page ({shown(content_type)})")
                cap = self.options.limits.max_page_mb
                body = b"".join(self.read_chunks(url, response, deadline, cap, "--max-page-mb"))
                return _decode(body, response.headers.get_content_charset())

        return self.with_retries(url, attempt)


def _size(count: int) -> str:
    return f"{count / MIB:.1f} MiB" if count >= MIB else f"{count / 1024:.1f} KiB"


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        return f"connection closed mid-body ({len(exc.partial)} bytes read)"
    if isinstance(exc, http.client.BadStatusLine):
        return "not an HTTP reply"
    return shown(str(exc) or type(exc).__name__)


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


# ---- local files --------------------------------------------------------------------------


def safe_name(url: str) -> str:
    """A local file name for ``url``: its last path segment, reduced to safe characters.

    NHS England's names ("Community-health-services-waiting-lists-2025-26-July.xlsx")
    are unchanged; anything that could escape the directory, hide the file, forge a log
    line or overflow the file system's name limit is replaced or shortened.
    """
    name = _url_path(url).rsplit("/", 1)[-1]
    stem = UNSAFE_NAME_CHARS.sub("_", name[: -len(".xlsx")] if name.lower().endswith(".xlsx") else name)
    stem = stem.lstrip(".") or "workbook"
    if len(stem) > MAX_NAME_BYTES:
        stem = f"{stem[:MAX_NAME_BYTES]}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"
    return f"{stem}.xlsx"


@dataclass
class _Entry:
    """What the state records of one URL: its local file and the server's validators."""

    file: str
    sha256: str
    etag: str | None = None
    last_modified: str | None = None


class FetchState:
    """``.chs-fetch-state.json`` in the data directory: URL -> local file, hash, validators."""

    def __init__(self, dest: Path) -> None:
        self.path = dest / STATE_FILE
        self.entries: dict[str, _Entry] = {}
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            for url, entry in document.get("files", {}).items():
                fields = ("file", "sha256", "etag", "last_modified")
                self.entries[url] = _Entry(**{key: entry.get(key) for key in fields})
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            logger.warning("%s unreadable (%s): every workbook is downloaded and compared by hash", self.path, exc)
            self.entries = {}

    def local_names(self, urls: list[str]) -> dict[str, str]:
        """A distinct local file name per URL; a URL keeps the name it was given before."""
        names = {url: self.entries[url].file for url in urls if url in self.entries}
        taken = {entry.file for entry in self.entries.values()} | set(names.values())
        for url in urls:
            if url in names:
                continue
            name = safe_name(url)
            if name in taken:
                name = f"{name[: -len('.xlsx')]}--{hashlib.sha256(url.encode()).hexdigest()[:10]}.xlsx"
            names[url] = name
            taken.add(name)
        return names

    def save(self) -> None:
        """Written to a temporary file and renamed: never half-written."""
        document = {"version": 1, "files": {url: vars(entry) for url, entry in sorted(self.entries.items())}}
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


# ---- the fetch -----------------------------------------------------------------------------


@dataclass
class FetchSummary:
    downloaded: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    errors: list[LoaderError] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"fetch: {len(self.downloaded)} new, {len(self.updated)} changed, "
            f"{len(self.unchanged)} unchanged, {len(self.errors)} failed"
        )

    def fail(self, error: LoaderError) -> None:
        self.errors.append(error)
        logger.error("%s", error)


@dataclass
class _Download:
    not_modified: bool
    sha256: str | None = None
    size: int = 0
    etag: str | None = None
    last_modified: str | None = None


def _download(client: _Client, url: str, part: Path, entry: _Entry | None) -> _Download:
    """Download ``url`` to ``part`` (conditionally, when ``entry`` holds validators)."""
    headers: dict[str, str] = {}
    if entry and entry.etag:
        headers["If-None-Match"] = entry.etag
    if entry and entry.last_modified:
        headers["If-Modified-Since"] = entry.last_modified
    cap = client.options.limits.max_file_mb

    def attempt(deadline: float) -> _Download:
        try:
            with client.open(url, deadline, headers) as response:
                digest = hashlib.sha256()
                size = 0
                with _local(url, part, "wb") as out:
                    for chunk in client.read_chunks(url, response, deadline, cap, "--max-file-mb"):
                        with _local_write(url, part):
                            out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                return _Download(
                    not_modified=False,
                    sha256=digest.hexdigest(),
                    size=size,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except _NotModified:
            return _Download(not_modified=True)

    try:
        return client.with_retries(url, attempt)
    except BaseException:
        if part.is_file():  # an error, Ctrl-C or SIGTERM: no .part file stays
            part.unlink()
        raise


@contextmanager
def _local(url: str, path: Path, mode: str) -> Iterator[IO[Any]]:
    """A local file; an OSError (disk full, name too long) is final, not retried."""
    try:
        handle = path.open(mode)
    except OSError as exc:
        raise LinkError(url, f"cannot write {shown(path.name)} ({exc.strerror})") from None
    with handle:
        yield handle


@contextmanager
def _local_write(url: str, path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise LinkError(url, f"cannot write {shown(path.name)} ({exc.strerror})") from None


def list_workbooks(client: _Client) -> list[str]:
    """Workbook URLs on the page and on the archive pages it links to."""
    page_url = client.options.page_url
    try:
        html = client.get_page(page_url, html_only=False)
    except LinkError as error:
        raise LoaderError(f"cannot read {error}") from None
    workbooks, archives = find_links(page_url, html)
    for archive in archives:
        try:
            more, _ = find_links(archive, client.get_page(archive, html_only=True))
        except LinkError as error:
            logger.warning("archive page skipped: %s", error)
            continue
        workbooks.extend(url for url in more if url not in workbooks)
    if not workbooks:
        raise LoaderError(f"{shown(page_url)}: no CHS waiting-list workbooks linked")
    return workbooks


def fetch(page_url: str, dest: Path, **settings: Any) -> FetchSummary:
    """Download new or changed workbooks listed on ``page_url`` into ``dest``.

    ``settings`` are FetchOptions fields (timeout, retries, backoff, allowed_hosts, limits).
    """
    options = FetchOptions(page_url=page_url, **settings)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoaderError(f"{dest}: cannot create the data directory ({exc.strerror})") from exc
    if not os.access(dest, os.W_OK):
        raise LoaderError(f"{dest}: data directory is not writable")
    with (
        file_lock(dest / LOCK_FILE, str(dest), "another fetch into this directory"),
        WorkbookReader(options.limits) as reader,
    ):
        return _fetch_into(_Client(options), dest, reader)


def _fetch_into(client: _Client, dest: Path, reader: WorkbookReader) -> FetchSummary:
    workbooks = list_workbooks(client)
    state = FetchState(dest)
    names = state.local_names(workbooks)
    summary = FetchSummary()
    for url in workbooks:
        refusal = client.policy.refusal(url)
        if refusal:
            summary.fail(LinkError(url, refusal))
            continue
        target = dest / names[url]
        part = target.with_name(f".{target.name}.part")
        started = time.perf_counter()
        local_sha = _sha256(target)
        entry = state.entries.get(url)
        known = entry if entry is not None and entry.sha256 == local_sha else None
        try:
            download = _download(client, url, part, known)
            status = _keep(reader, url, target, part, local_sha, download)
        except LoaderError as error:
            summary.fail(error)
            continue
        if download.not_modified:
            summary.unchanged.append(target)
        else:
            state.entries[url] = _Entry(target.name, str(download.sha256), download.etag, download.last_modified)
            state.save()
            {"new": summary.downloaded, "changed": summary.updated, "unchanged": summary.unchanged}[status].append(
                target
            )
        logger.info(
            "%-10s %s  %d bytes  %.2f s",
            "unchanged" if download.not_modified else status,
            shown(target.name),
            target.stat().st_size,
            time.perf_counter() - started,
        )
    return summary


def _keep(
    reader: WorkbookReader, url: str, target: Path, part: Path, local_sha: str | None, download: _Download
) -> str:
    """Move a downloaded ``part`` over ``target`` if it differs and reads as a CHS workbook."""
    if download.not_modified:
        return "unchanged"
    if download.sha256 == local_sha:
        part.unlink()
        return "unchanged"
    try:
        reader.read(Path(target.name), part.read_bytes())
    except BadInputError as error:
        part.unlink(missing_ok=True)
        raise LinkError(url, f"not kept, {error.reason}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
    return "changed" if local_sha else "new"
