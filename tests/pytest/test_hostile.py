"""The unattended release against a hostile site (tests/pytest/hostile.py, on 127.0.0.1).

Every case runs the loader's own command line in a subprocess, as cron would, and checks
what a security review would: the exit status; one line per failure naming the URL and
the reason, never a traceback; that no file was written outside the data directory;
and that the good local files (and, where a warehouse is involved, its current
releases) are exactly as they were.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from loader.fetch import STATE_FILE, absolute_url, safe_name
from tests.pytest import hostile
from tests.pytest.conftest import PROJECT_DIR, Target, drop_postgres, pg_connect_args, postgres_target, real_workbooks
from tests.pytest.workbooks import write_chs_workbook

JULY = "Community-health-services-waiting-lists-2025-26-July.xlsx"
JUNE = "Community-health-services-waiting-lists-2025-26-June.xlsx"
MAY = "Community-health-services-waiting-lists-2025-26-May.xlsx"
APRIL = "Community-health-services-waiting-lists-2025-26-April.xlsx"
MARCH = "Community-health-services-waiting-lists-2024-25-March.xlsx"


def real(name: str) -> bytes:
    return next(path for path in real_workbooks() if path.name == name).read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Sandbox:
    """A working directory, a data directory and a DuckDB warehouse, all under tmp_path."""

    root: Path
    data: Path
    env: dict[str, str]
    made_by_test: set[str] = field(default_factory=set)

    def write(self, path: Path, data: bytes) -> Path:
        """A file the test itself makes (not counted as written by the loader)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.made_by_test.add(str(path.relative_to(self.root)))
        return path

    def loader(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "loader", *args],
            cwd=self.root / "work",
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "loader", *args],
            cwd=self.root / "work",
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def fetch(self, page_url: str, *args: str, extra_env: dict[str, str] | None = None) -> Run:
        return self.loader("fetch", "--page-url", page_url, "--dest", str(self.data), *args, extra_env=extra_env)

    def files_outside_data(self) -> set[str]:
        """Every file under the sandbox except the data directory's and the warehouse's own."""
        return {
            str(path.relative_to(self.root))
            for path in self.root.rglob("*")
            if path.is_file() and self.data not in path.parents and not path.name.startswith("wh.duckdb")
        }

    def local(self) -> dict[str, str]:
        """The data directory's workbooks: name -> SHA-256."""
        return {path.name: sha(path.read_bytes()) for path in self.data.glob("*.xlsx")}


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    (tmp_path / "work").mkdir()
    (tmp_path / "data").mkdir()
    env = dict(os.environ)
    env.update(
        DBT_PROFILES_DIR=str(PROJECT_DIR),
        PYTHONPATH=str(PROJECT_DIR),
        CHS_DUCKDB_PATH=str(tmp_path / "wh.duckdb"),
        DBT_TARGET_PATH=str(tmp_path / "work" / "target"),
        DBT_LOG_PATH=str(tmp_path / "work" / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        HOME=str(tmp_path / "work"),
        TMPDIR=str(tmp_path / "work"),
    )
    env.pop("CHS_ALLOWED_HOSTS", None)
    # .ci/run exports the extract's path, which `release` would land as new (and build)
    env.pop("CHS_TRUST_METRICS_CSV", None)
    sandbox = Sandbox(tmp_path, tmp_path / "data", env)
    before = sandbox.files_outside_data()
    yield sandbox
    # nothing the loader did wrote outside the data directory (dbt's target/ and logs/ excepted)
    written = {
        path
        for path in sandbox.files_outside_data() - before - sandbox.made_by_test
        if not path.startswith(("work/target", "work/logs"))
    }
    assert written == set()


def error_lines(run: Run) -> list[str]:
    """stderr's error lines; asserts there is no traceback and every line is one message."""
    assert "Traceback" not in run.stderr, run.stderr
    return [line for line in run.stderr.splitlines() if line.startswith("error: ")]


def test_only_the_pages_origin_is_fetched(box: Sandbox) -> None:
    secret = box.root / "secret"
    box.write(secret / JUNE, real(JUNE))
    with hostile.hostile_server() as other, hostile.hostile_server() as site:
        other.routes["/files/" + JUNE] = hostile.respond(real(JUNE))
        other.routes["/files/" + MAY] = hostile.respond(real(MAY))
        site.routes.update(
            {
                "/stats/": hostile.page(
                    [
                        ("/files/" + JULY, "July"),
                        (other.url("/files/" + JUNE), "June, on another host"),
                        ("/go/" + MAY, "May, redirected to another host"),
                        ((secret / JUNE).as_uri(), "a local file"),
                        ("ftp://127.0.0.1/" + JUNE, "ftp"),
                    ]
                ),
                "/files/" + JULY: hostile.respond(real(JULY)),
                "/go/" + MAY: hostile.redirect(other.url("/files/" + MAY)),
            }
        )
        run = box.fetch(site.url("/stats/"))
        assert run.returncode == 1
        assert "fetch: 1 new, 0 changed, 0 unchanged, 4 failed" in run.stdout
        errors = error_lines(run)
        assert len(errors) == 4
        assert any(other.url("/files/" + JUNE) in line and "is not the page's origin" in line for line in errors)
        assert any(
            "/go/" + MAY in line and "redirect to" in line and "is not the page's origin" in line for line in errors
        )
        assert any("file://" in line and "scheme 'file:'" in line for line in errors)
        assert any("ftp://" in line and "scheme 'ftp:'" in line for line in errors)
        assert other.requests == []  # never contacted
        assert box.local() == {JULY: sha(real(JULY))}

        # hosts the user allows, by option or environment; file: and ftp: never
        allowed = f"127.0.0.1:{other.port}"
        for how in (("--allow-host", allowed), ()):
            for name in (JUNE, MAY):
                (box.data / name).unlink(missing_ok=True)
            run = box.fetch(site.url("/stats/"), *how, extra_env={} if how else {"CHS_ALLOWED_HOSTS": allowed})
            assert run.returncode == 1
            assert "fetch: 2 new, 0 changed, 1 unchanged, 2 failed" in run.stdout
            assert box.local() == {name: sha(real(name)) for name in (JULY, JUNE, MAY)}


def test_archive_pages_are_html_pages_of_the_same_origin(box: Sandbox) -> None:
    with hostile.hostile_server() as site:
        press_notice = "/wp-content/uploads/2025/09/Community-health-services-waiting-lists-press-notice.pdf"
        site.routes.update(
            {
                "/stats/": hostile.page(
                    [
                        ("/files/" + JULY, "July"),
                        (press_notice, "Community health services waiting lists 2025-26 press notice"),
                        ("/stats/chswl-2024-25/", "Community health services waiting lists 2024-25"),
                        ("/stats/chswl-2023-24", "Community health services waiting lists 2023-24"),
                    ]
                ),
                "/files/" + JULY: hostile.respond(real(JULY)),
                press_notice: hostile.respond(b"%PDF-1.7", "application/pdf"),
                "/stats/chswl-2024-25/": hostile.page([("/files/" + JUNE, "June")]),
                # looks like an archive page, but is a PDF: skipped with a warning
                "/stats/chswl-2023-24": hostile.respond(b"%PDF-1.7", "application/pdf"),
                "/files/" + JUNE: hostile.respond(real(JUNE)),
            }
        )
        run = box.fetch(site.url("/stats/"))
        assert run.returncode == 0, run.stderr
        assert "fetch: 2 new, 0 changed, 0 unchanged, 0 failed" in run.stdout
        assert site.asked(press_notice) == []
        assert "archive page skipped" in run.stderr and "not an HTML page (application/pdf)" in run.stderr
        assert box.local() == {JULY: sha(real(JULY)), JUNE: sha(real(JUNE))}


def test_conditional_requests_skip_what_the_server_says_is_unchanged(box: Sandbox) -> None:
    with hostile.hostile_server() as site:
        site.routes.update(
            {
                "/stats/": hostile.page([("/files/" + name, name) for name in (JULY, JUNE, MAY)]),
                "/files/" + JULY: hostile.respond(real(JULY), etag='"july-1"'),
                "/files/" + JUNE: hostile.respond(real(JUNE), last_modified=1_757_000_000),
                "/files/" + MAY: hostile.respond(real(MAY)),  # no validators: compared by hash
            }
        )
        first = box.fetch(site.url("/stats/"))
        assert "fetch: 3 new, 0 changed, 0 unchanged, 0 failed" in first.stdout
        second = box.fetch(site.url("/stats/"))
        assert "fetch: 0 new, 0 changed, 3 unchanged, 0 failed" in second.stdout
        assert site.asked("/files/" + JULY)[-1].headers.get("if-none-match") == '"july-1"'
        assert site.asked("/files/" + JUNE)[-1].headers.get("if-modified-since") == "Thu, 04 Sep 2025 15:33:20 GMT"
        assert "if-none-match" not in site.asked("/files/" + MAY)[-1].headers
        assert re.search(r"unchanged +" + re.escape(JULY), second.stderr)

        # a new release of July: a new ETag, the new bytes
        site.routes["/files/" + JULY] = hostile.respond(real(JUNE), etag='"july-2"')
        third = box.fetch(site.url("/stats/"))
        assert "fetch: 0 new, 1 changed, 2 unchanged, 0 failed" in third.stdout
        assert box.local()[JULY] == sha(real(JUNE))


def test_distinct_urls_with_one_file_name_get_distinct_files(box: Sandbox) -> None:
    name = "Community-health-services-waiting-lists.xlsx"
    with hostile.hostile_server() as site:
        site.routes.update(
            {
                "/stats/": hostile.page([("/2024/07/" + name, "July 2024"), ("/2025/07/" + name, "July 2025")]),
                "/2024/07/" + name: hostile.respond(real(JUNE)),
                "/2025/07/" + name: hostile.respond(real(JULY)),
            }
        )
        first = box.fetch(site.url("/stats/"))
        assert "fetch: 2 new, 0 changed, 0 unchanged, 0 failed" in first.stdout
        assert sorted(box.local().values()) == sorted([sha(real(JUNE)), sha(real(JULY))])
        second = box.fetch(site.url("/stats/"))
        assert "fetch: 0 new, 0 changed, 2 unchanged, 0 failed" in second.stdout
        assert (box.data / STATE_FILE).exists()


def not_a_chs_workbook(box: Sandbox) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Some other statistics"])  # type: ignore[union-attr]
    path = box.write(box.root / "work" / "other.xlsx", b"")
    book.save(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("html error page", "not an .xlsx workbook (no zip signature)"),
        ("empty body", "not an .xlsx workbook (no zip signature)"),
        ("truncated workbook", "corrupt or unreadable workbook"),
        ("body cut short, no Content-Length", "corrupt or unreadable workbook"),
        ("another workbook", "not the CHS waiting-list publication"),
    ],
)
def test_a_bad_download_never_replaces_a_good_file(box: Sandbox, case: str, reason: str) -> None:
    good = real(JULY)
    (box.data / JULY).write_bytes(good)
    bodies = {
        "html error page": hostile.respond(b"<html>Service unavailable</html>", "text/html"),
        "empty body": hostile.respond(b""),
        "truncated workbook": hostile.respond(good[: len(good) // 2]),
        "body cut short, no Content-Length": hostile.respond(good[: len(good) // 3], length=False),
        "another workbook": hostile.respond(not_a_chs_workbook(box)),
    }
    with hostile.hostile_server() as site:
        site.routes.update({"/stats/": hostile.page([("/files/" + JULY, "July")]), "/files/" + JULY: bodies[case]})
        run = box.fetch(site.url("/stats/"))
    assert run.returncode == 1
    assert "fetch: 0 new, 0 changed, 0 unchanged, 1 failed" in run.stdout
    [error] = error_lines(run)
    assert error.startswith(f"error: {site.url('/files/' + JULY)}: not kept, ") and reason in error
    assert box.local() == {JULY: sha(good)}
    assert not list(box.data.glob("*.part"))


def declares_128_mib(connection: socket.socket, request: hostile.Request) -> None:
    """Declares a 128 MiB body: refused before a byte of it is read."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 134217728\r\nConnection: close\r\n\r\nPK")


def test_size_caps_on_downloads_and_pages(box: Sandbox) -> None:
    with hostile.hostile_server() as site:
        site.routes.update(
            {
                "/stats/": hostile.page([("/files/" + JULY, "July"), ("/files/" + JUNE, "June")]),
                "/files/" + JULY: declares_128_mib,
                # no declared size: counted as it arrives, refused past the cap
                "/files/" + JUNE: hostile.endless_chunks(b"\0" * 65536, limit=3 << 20),
            }
        )
        default_caps = box.fetch(site.url("/stats/"))
        assert default_caps.returncode == 1
        assert [line for line in error_lines(default_caps) if JULY in line] == [
            f"error: {site.url('/files/' + JULY)}: refused: 128.0 MiB declared, over the 50 MiB cap (--max-file-mb)"
        ]
        smaller = box.fetch(site.url("/stats/"), "--max-file-mb", "2")
        assert smaller.returncode == 1
        assert sorted(error_lines(smaller)) == [
            f"error: {site.url('/files/' + JULY)}: refused: 128.0 MiB declared, over the 2 MiB cap (--max-file-mb)",
            f"error: {site.url('/files/' + JUNE)}: refused: body exceeds the 2 MiB cap (--max-file-mb)",
        ]
        assert box.local() == {}
        assert not list(box.data.glob("*.part"))

        site.routes["/big/"] = hostile.respond(b"<html>" + b" " * 20_000 + b"</html>", "text/html")
        page = box.fetch(site.url("/big/"), "--max-page-mb", "0.01")
        assert page.returncode == 2
        assert error_lines(page) == [
            f"error: cannot read {site.url('/big/')}: refused: 19.5 KiB declared, over the 0.01 MiB cap (--max-page-mb)"
        ]


def zip_bomb(path: Path, inflated_mib: int, declare: int | None = None) -> Path:
    """A small CHS workbook plus one sheet of ``inflated_mib`` MiB of XML that deflates to
    almost nothing; ``declare`` makes its declared size a lie (smaller than it inflates to)."""
    base = write_chs_workbook(path.with_suffix(".base.xlsx"))
    filler = b"<row><c><v>0</v></c></row>" * ((inflated_mib << 20) // 26)
    xml = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    xml += filler + b"</sheetData></worksheet>"
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            out.writestr(item.filename, xml if item.filename == "xl/worksheets/sheet2.xml" else data)
    if declare is not None:  # patch the declared size in the local header and the central directory
        raw = bytearray(path.read_bytes())
        name = b"xl/worksheets/sheet2.xml"
        for signature, name_length_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
            position = raw.find(signature)
            while position >= 0:
                length = int.from_bytes(raw[position + name_length_at : position + name_length_at + 2], "little")
                if raw[position + name_at : position + name_at + length] == name:
                    raw[position + size_at : position + size_at + 4] = declare.to_bytes(4, "little")
                position = raw.find(signature, position + 4)
        path.write_bytes(bytes(raw))
    return path


def sparse_sheet(path: Path) -> Path:
    """Two cells, A1 and XFD1048576: a few hundred bytes whose parse would span 17 billion cells."""
    base = write_chs_workbook(path.with_suffix(".base.xlsx"))
    xml = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(
                item.filename, xml if item.filename == "xl/worksheets/sheet2.xml" else source.read(item.filename)
            )
    return path


def peak_rss_mb(box: Sandbox, *args: str) -> tuple[Run, float]:
    """Run the loader; its peak resident memory, from the kernel's accounting of the child."""
    started = time.monotonic()
    process = box.popen(*args)
    _, status, usage = os.wait4(process.pid, 0)
    stdout, stderr = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    returncode = os.waitstatus_to_exitcode(status)
    return Run(returncode, stdout, stderr, time.monotonic() - started), usage.ru_maxrss / 1024


@pytest.mark.parametrize(
    ("bomb", "reason"),
    [
        ("deflate bomb", "part xl/worksheets/sheet2.xml inflates to 64 MiB, over the 32 MiB cap per sheet"),
        ("declared size a lie", "corrupt or unreadable workbook (I/O error: File is larger than its declared"),
        ("sparse sheet", "reading it needs more than the 384 MiB memory cap"),
    ],
)
def test_zip_bombs_are_refused_in_bounded_memory(box: Sandbox, bomb: str, reason: str) -> None:
    path = box.root / "work" / "bomb.xlsx"
    if bomb == "deflate bomb":
        zip_bomb(path, 64)
        assert path.stat().st_size < 1 << 20  # 64 MiB of XML in under a megabyte
    elif bomb == "declared size a lie":
        zip_bomb(path, 64, declare=100_000)
    else:
        sparse_sheet(path)
    run, peak = peak_rss_mb(box, "land", "--target", "duckdb", str(path))
    assert run.returncode == 1
    [error] = error_lines(run)
    assert error.startswith(f"error: {path}: ") and reason in error, error
    assert peak < 500, f"loader peaked at {peak:.0f} MB"
    path.unlink()
    for extra in path.parent.glob("bomb.base.xlsx"):
        extra.unlink()


def test_a_zip_bomb_on_the_site_leaves_the_warehouse_and_the_local_july_alone(box: Sandbox) -> None:
    (box.data / JULY).write_bytes(real(JULY))
    landed = box.loader("land", "--target", "duckdb", str(box.data / JULY))
    assert landed.returncode == 0, landed.stderr
    bomb = zip_bomb(box.root / "work" / "bomb.xlsx", 64)
    with hostile.hostile_server() as site:
        site.routes.update(
            {
                "/stats/": hostile.page([("/files/" + JULY, "July")]),
                "/files/" + JULY: hostile.respond(bomb.read_bytes()),
            }
        )
        run = box.loader(
            "release", "--page-url", site.url("/stats/"), "--data-dir", str(box.data), "--target", "duckdb"
        )
    for leftover in bomb.parent.glob("bomb*.xlsx"):
        leftover.unlink()
    assert run.returncode == 1
    assert "fetch: 0 new, 0 changed, 0 unchanged, 1 failed" in run.stdout
    assert "nothing new: 1 months landed" in run.stdout
    [error] = error_lines(run)
    assert "not kept, part xl/worksheets/sheet2.xml inflates to 64 MiB" in error
    assert box.local() == {JULY: sha(real(JULY))}
    import duckdb

    with duckdb.connect(box.env["CHS_DUCKDB_PATH"], read_only=True) as con:
        current = con.execute("select file_sha256 from raw_chs.load_log where release_status = 'current'").fetchall()
    assert current == [(sha(real(JULY)),)]


def test_names_from_the_page_cannot_escape_hide_or_forge_a_line(box: Sandbox) -> None:
    hrefs = {
        "/files/Community-health-services-waiting-lists-2025-26-July%00.xlsx": real(JULY),
        "/files/Community-health-services-waiting-lists%0aerror: forged line%0a-June.xlsx": real(JUNE),
        "/files/Community health services waiting lists 2025-26 May.xlsx": real(MAY),
        "/files/..%2F..%2Fwork%2FCommunity-health-services-waiting-lists-escape.xlsx": real(JULY),
        "/files/Community-health-services-waiting-lists-" + "x" * 300 + ".xlsx": real(JUNE),
    }
    with hostile.hostile_server() as site:
        page_url = site.url("/stats/")
        site.routes["/stats/"] = hostile.page([(href, "workbook") for href in hrefs])
        for href, body in hrefs.items():
            site.routes[absolute_url(page_url, href).removeprefix(site.origin)] = hostile.respond(body)
        run = box.fetch(page_url)
    assert run.returncode == 0, run.stderr
    assert "fetch: 5 new, 0 changed, 0 unchanged, 0 failed" in run.stdout
    assert not any(line.startswith("error: forged") for line in run.stderr.splitlines())
    names = set(box.local())
    assert all(re.fullmatch(r"[A-Za-z0-9._()+-]+\.xlsx", name) and len(name) < 180 for name in names), names
    assert safe_name(page_url + "a/..%2F..%2Fx.xlsx") == "x.xlsx"


def test_network_failures_are_one_line_each_and_the_other_links_still_go_through(box: Sandbox) -> None:
    with hostile.hostile_server() as site:
        broken = {
            "/files/not-http/" + JUNE: (hostile.raw(b"SSH-2.0-OpenSSH_9.2\r\n"), "not an HTTP reply"),
            "/files/chunked/" + MAY: (hostile.chunked_cut_short(real(MAY)), "connection closed mid-body"),
            "/files/503/" + APRIL: (hostile.respond(b"", status="503 Service Unavailable"), "HTTP 503"),
            "/files/404/" + MARCH: (hostile.respond(b"", status="404 Not Found"), "HTTP 404"),
        }
        site.routes["/stats/"] = hostile.page(
            [(path, "workbook") for path in broken] + [("/files/" + JULY, "July")], charset="x-no-such-charset"
        )
        site.routes["/files/" + JULY] = hostile.respond(real(JULY))
        site.routes.update({path: handler for path, (handler, _) in broken.items()})
        run = box.fetch(site.url("/stats/"), "--retries", "1")
    assert run.returncode == 1
    assert "fetch: 1 new, 0 changed, 0 unchanged, 4 failed" in run.stdout
    errors = error_lines(run)
    assert len(errors) == 4
    for path, (_, reason) in broken.items():
        assert [line for line in errors if path in line and reason in line], (path, errors)
    assert len(site.asked("/files/404/" + MARCH)) == 1  # a 4xx is not retried
    assert len(site.asked("/files/503/" + APRIL)) == 2  # a 5xx is, --retries times
    assert box.local() == {JULY: sha(real(JULY))}


def test_a_local_write_error_is_not_retried(box: Sandbox) -> None:
    (box.data / f".{JULY}.part").mkdir()  # the download's .part path cannot be opened as a file
    with hostile.hostile_server() as site:
        site.routes.update(
            {"/stats/": hostile.page([("/files/" + JULY, "July")]), "/files/" + JULY: hostile.respond(real(JULY))}
        )
        run = box.fetch(site.url("/stats/"))
    assert run.returncode == 1
    [error] = error_lines(run)
    assert f"cannot write .{JULY}.part (Is a directory)" in error
    assert len(site.asked("/files/" + JULY)) == 1


def test_a_server_that_drips_meets_the_deadline(box: Sandbox) -> None:
    with hostile.hostile_server() as site:
        site.routes.update(
            {"/stats/": hostile.page([("/files/" + JULY, "July")]), "/files/" + JULY: hostile.drip(site.stopping)}
        )
        run = box.fetch(site.url("/stats/"), "--download-deadline-s", "2", "--timeout", "5")
    assert run.returncode == 1
    [error] = error_lines(run)
    assert "refused: not complete within the 2 s deadline" in error
    assert run.seconds < 30
    assert not list(box.data.glob("*.part"))


def wait_for(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_download_leaves_no_part_file(box: Sandbox, signum: int) -> None:
    (box.data / JUNE).write_bytes(real(JUNE))
    with hostile.hostile_server() as site:
        site.routes.update(
            {
                "/stats/": hostile.page([("/files/" + JUNE, "June"), ("/files/" + JULY, "July")]),
                "/files/" + JUNE: hostile.respond(real(JUNE)),
                "/files/" + JULY: hostile.drip(site.stopping),
            }
        )
        process = box.popen("fetch", "--page-url", site.url("/stats/"), "--dest", str(box.data))
        wait_for(lambda: (box.data / f".{JULY}.part").exists())
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signum  # ended by the signal, as an uncaught one would
    assert "Traceback" not in stderr
    assert f"error: interrupted ({signal.Signals(signum).name})" in stderr
    assert not list(box.data.glob("*.part"))
    assert box.local() == {JUNE: sha(real(JUNE))}


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def release_target(request: pytest.FixtureRequest, box: Sandbox) -> Iterator[str]:
    if request.param == "duckdb":
        yield "duckdb"
        return
    target: Target = postgres_target(box.root / "pg")
    box.env.update({key: value for key, value in target.env.items() if key.startswith("CHS_PG_")})
    try:
        yield "postgres"
    finally:
        drop_postgres(target)


def test_two_releases_at_once_the_second_is_refused(box: Sandbox, release_target: str) -> None:
    with hostile.hostile_server() as site:
        site.routes.update(
            {"/stats/": hostile.page([("/files/" + JULY, "July")]), "/files/" + JULY: hostile.drip(site.stopping)}
        )
        first = box.popen(
            "release", "--page-url", site.url("/stats/"), "--data-dir", str(box.data), "--target", release_target
        )
        wait_for(lambda: (box.data / f".{JULY}.part").exists())
        second = box.loader("release", "--no-fetch", "--data-dir", str(box.data), "--target", release_target)
        landing = box.loader("land", "--target", release_target, str(box.data))
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGTERM
    for refused in (second, landing):
        assert refused.returncode == 2
        [error] = error_lines(refused)
        assert "another build, release, publish or landing is running (" in error, error
        assert re.search(r"\((pid \d+, since|server pid \d+, connected)", error), error
    # the lock went with the process that held it
    after = box.loader("release", "--no-fetch", "--data-dir", str(box.data), "--target", release_target)
    assert "already running" not in after.stderr and "is running" not in after.stderr
    if release_target == "postgres":
        import psycopg

        with psycopg.connect(**pg_connect_args(box.env)) as con:  # type: ignore[arg-type]
            held = con.execute(
                "select count(*) from pg_locks where locktype = 'advisory' "
                "and database = (select oid from pg_database where datname = current_database())"
            ).fetchone()
            assert held == (0,)


def test_a_release_with_nothing_new_prints_no_traceback(box: Sandbox) -> None:
    (box.data / JULY).write_bytes(real(JULY))
    assert box.loader("land", "--target", "duckdb", str(box.data)).returncode == 0
    run = box.loader("release", "--no-fetch", "--data-dir", str(box.data), "--target", "duckdb")
    assert run.returncode == 0
    assert "nothing new: 1 months landed" in run.stdout
    assert "Traceback" not in run.stderr and "Error" not in run.stderr, run.stderr
