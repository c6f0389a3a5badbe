"""fetch and release against a local HTTP server that serves a copy of the real page
structure: a statistics page linking this year's workbooks and a yearly archive page
linking last year's."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from python_calamine import CalamineWorkbook

from loader.fetch import fetch, find_links
from tests.pytest.conftest import Target, extract_path, real_workbooks
from tests.pytest.test_capacity import capacity_rows

PAGE = """<html><body><h1>Community health services waiting lists</h1>
<ul>{links}</ul>
<p><a href="/statistics/chswl-archive-2024-25/">Community health services waiting lists 2024-25</a></p>
<p><a href="/about/">About us</a> <a href="https://example.org/other.xlsx">Unrelated workbook</a></p>
</body></html>"""


class QuietHandler(SimpleHTTPRequestHandler):
    failures: ClassVar[dict[str, int]] = {}  # path -> remaining 503 answers
    truncated: ClassVar[set[str]] = set()  # paths answered with a short body

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.failures.get(self.path, 0) > 0:
            self.failures[self.path] -= 1
            self.send_error(503)
            return
        if self.path in self.truncated:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"PK\x03\x04 not all of it")
            return
        super().do_GET()


def link(path: Path, prefix: str) -> str:
    return f'<li><a href="{prefix}{path.name}">{path.stem} (XLSX)</a></li>'


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(page URL, site root): 2025-26 workbooks on the page, 2024-25 on the archive page."""
    root = tmp_path / "site"
    files = root / "files"
    archive = root / "statistics" / "chswl-archive-2024-25"
    files.mkdir(parents=True)
    archive.mkdir(parents=True)
    current, previous = [], []
    for path in real_workbooks():
        shutil.copy(path, files / path.name)
        (current if "2025-26" in path.name else previous).append(path)
    page = root / "statistics" / "chswl"
    page.mkdir(parents=True)
    (page / "index.html").write_text(PAGE.format(links="".join(link(p, "/files/") for p in current)))
    (archive / "index.html").write_text(PAGE.format(links="".join(link(p, "/files/") for p in previous)))
    QuietHandler.failures = {}
    QuietHandler.truncated = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/statistics/chswl/", root
    finally:
        server.shutdown()
        server.server_close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def republished(path: Path) -> None:
    """Date a file the test server serves a minute later: its Last-Modified moves on, as a
    republication's does (the header has one-second resolution)."""
    stat = path.stat()
    os.utime(path, (stat.st_atime + 60, stat.st_mtime + 60))


def test_find_links_keeps_publication_workbooks_and_archive_pages() -> None:
    html = PAGE.format(
        links='<li><a href="/files/Community-health-services-waiting-lists-2025-26-July.xlsx">x</a></li>'
    )
    workbooks, archives = find_links("http://host/statistics/chswl/", html)
    assert workbooks == ["http://host/files/Community-health-services-waiting-lists-2025-26-July.xlsx"]
    assert archives == ["http://host/statistics/chswl-archive-2024-25/"]


def test_fetch_all_then_nothing_then_a_changed_file(site: tuple[str, Path], tmp_path: Path) -> None:
    url, root = site
    dest = tmp_path / "data"
    first = fetch(url, dest, backoff=0.01)
    assert (len(first.downloaded), len(first.updated), len(first.unchanged), first.errors) == (12, 0, 0, [])
    for path in real_workbooks():
        assert sha(dest / path.name) == sha(path)  # the same bytes arrive
    again = fetch(url, dest, backoff=0.01)
    assert (len(again.downloaded), len(again.updated), len(again.unchanged)) == (0, 0, 12)
    changed = root / "files" / real_workbooks()[0].name
    changed.write_bytes(changed.read_bytes() + b"\0")
    republished(changed)
    third = fetch(url, dest, backoff=0.01)
    assert [p.name for p in third.updated] == [changed.name]
    assert sorted(p.name for p in dest.glob("*.xlsx")) == sorted(p.name for p in real_workbooks())


def test_fetch_retries_and_never_leaves_a_partial_file(site: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = site
    names = [p.name for p in real_workbooks()]
    QuietHandler.failures = {f"/files/{names[1]}": 2}  # two 503s, then the file
    QuietHandler.truncated = {f"/files/{names[2]}"}  # always cut short
    dest = tmp_path / "data"
    summary = fetch(url, dest, retries=2, backoff=0.01)
    assert len(summary.downloaded) == 11
    assert [error.url.rsplit("/", 1)[-1] for error in summary.errors] == [names[2]]
    assert "short read" in summary.errors[0].reason
    assert not (dest / names[2]).exists()
    assert not any(p.name.endswith(".part") for p in dest.iterdir())
    assert sha(dest / names[1]) == sha(real_workbooks()[1])


def revise_july(source: Path, target: Path, delta: int, consistent: bool = True) -> tuple[str, str]:
    """Copy July 2025 with its Table 4 MSK figures changed by ``delta`` for one provider and
    for England (``consistent``: the publication still adds up), and provider NNV renamed NZZ."""
    rows = CalamineWorkbook.from_path(str(source)).get_sheet_by_name("Table 4").to_python(skip_empty_area=False)
    header = next(i for i, row in enumerate(rows) if row[0] == "Organisation Type")
    column = rows[header].index("(A) Musculoskeletal service")
    national = next(i for i, row in enumerate(rows) if row[0] == "National")
    provider = next(i for i, row in enumerate(rows) if row[0] == "Provider" and row[column] not in ("", 0.0))
    letter = chr(ord("A") + column)
    refs = {f"{letter}{provider + 1}"} | ({f"{letter}{national + 1}"} if consistent else set())
    with zipfile.ZipFile(source) as book:
        workbook_xml = book.read("xl/workbook.xml").decode()
        rels = book.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(r'<sheet [^>]*name="Table 4"[^>]*r:id="(rId\d+)"', workbook_xml)
        assert rid, "Table 4 not in workbook.xml"
        sheet_target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="/?(?:xl/)?([^"]+)"', rels) or re.search(
            rf'Target="/?(?:xl/)?([^"]+)"[^>]*Id="{rid.group(1)}"', rels
        )
        assert sheet_target
        sheet_path = "xl/" + sheet_target.group(1)

        def bump(match: re.Match[str]) -> str:
            return f"{match.group(1)}<v>{int(float(match.group(3))) + delta}</v>"

        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for item in book.infolist():
                data = book.read(item.filename)
                if item.filename == sheet_path:
                    text = data.decode()
                    for ref in refs:
                        text, count = re.subn(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)?<v>([^<]+)</v>', bump, text)
                        assert count == 1, ref
                    data = text.encode()
                elif item.filename == "xl/sharedStrings.xml":
                    text, count = re.subn(r"(<t[^>]*>)NNV</t>", r"\1NZZ</t>", data.decode())
                    assert count == 1
                    data = text.encode()
                out.writestr(item, data)
    return str(rows[provider][1]), letter


@pytest.mark.e2e
def test_release_end_to_end(site: tuple[str, Path], tmp_path: Path, fresh_duckdb: Target) -> None:
    url, root = site
    data = tmp_path / "data"
    args = ("loader", "release", "--page-url", url, "--data-dir", str(data), "--extract", str(extract_path()))

    first = fresh_duckdb.run(*args)
    assert "fetch: 12 new, 0 changed, 0 unchanged, 0 failed" in first.stdout
    assert "\ndbt build --vars {validate_all_releases: true}\n" in first.stdout  # a new warehouse: all of it
    assert "months landed: Aug 2024, Sep 2024" in first.stdout and "Jul 2025" in first.stdout
    assert "revisions: 0" in first.stdout
    assert ", 0 failed, 0 errored" in first.stdout
    assert "anomalies: 66 organisation-months flagged by this build" in first.stdout
    assert "service steps: 40 service months flagged by this build" in first.stdout
    assert (
        "  Sep 2024 provider R1D SHROPSHIRE COMMUNITY HEALTH NHS TRUST, adult.msk_service: 12681 -> 1654 (x0.13); "
        "likely cause: list moved between services (adult.ltc_continence stepped the other way)"
    ) in first.stdout
    report = Path(fresh_duckdb.env["CHS_REPORT_DIR"]) / "community-waits-2025-07.html"
    assert f"\nreport: {report}\n" in first.stdout and report.is_file()

    second = fresh_duckdb.run(*args)
    assert "nothing new: 12 months landed" in second.stdout

    july = next(p for p in real_workbooks() if p.name.endswith("2025-26-July.xlsx"))
    provider, _ = revise_july(july, root / "files" / july.name, delta=10)
    republished(root / "files" / july.name)
    third = fresh_duckdb.run(*args)
    assert "fetch: 0 new, 1 changed, 11 unchanged" in third.stdout
    assert "revisions: 1" in third.stdout
    assert "July 2025 revised" in third.stdout
    assert re.search(rf"    {provider}: \d+ -> \d+ \(\+10\)", third.stdout), third.stdout
    assert "NZZ: - -> " in third.stdout and "NNV: " in third.stdout
    # RKB is really new in July 2025; NZZ is the renamed NNV
    assert "July 2025 vs June 2025: new providers NZZ, RKB; vanished NNV" in third.stdout, third.stdout
    assert "NZZ,YOUR HEALTHCARE,,not_an_nhs_trust," in third.stdout
    # NNV's list reappears under NZZ: proposed as a successor; July flagged again, nothing in it
    assert "NNV,NZZ,2025-07-01,service_transfer," in third.stdout
    assert "anomalies: 0 organisation-months flagged by this build" in third.stdout
    # the revised July's steps, flagged again (RXQ's first MSK report, provider and trust; RY5's continence)
    assert "service steps: 3 service months flagged by this build" in third.stdout
    assert ", 0 failed, 0 errored" in third.stdout
    # the project is unchanged since the first release built everything: only what the
    # new file feeds is rebuilt, and the marts are what a full rebuild makes of them
    assert "dbt build --select source:raw_chs+ --exclude config.materialized:view" in third.stdout
    # the views are not rebuilt, but the tests that read them run: the unmapped NZZ warns
    assert "WARN  assert_trust_mapping__covers_every_provider: 1 offending rows" in third.stdout
    # the release's report lists the revision and the provider changes it brought
    page = report.read_text(encoding="utf-8")
    assert page.count(f'<td data-value="{july.name}">') == 2  # the replaced file and the revision
    assert '<td data-value="NZZ">NZZ</td>' in page and '<td data-value="NNV">NNV</td>' in page
    marts = "select trust_code, period, cast(community_health_data as varchar) from marts.trust_metrics order by 1, 2"
    flags = (
        "select org_level, org_code, period, total_waiting, previous_total_waiting, is_flagged, likely_cause "
        "from intermediate.int_organisation_months_flagged order by 1, 2, 3"
    )
    after_release = fresh_duckdb.query(marts)
    flags_after_release = fresh_duckdb.query(flags)
    service_flags = (
        "select org_level, org_code, service_category, service_key, period, total_waiting, previous_total_waiting, "
        "is_service_step, likely_cause from intermediate.int_service_months_flagged order by 1, 2, 3, 4, 5"
    )
    service_flags_after_release = fresh_duckdb.query(service_flags)
    capacity_after_release = capacity_rows(fresh_duckdb)
    fresh_duckdb.run("dbt", "build", "--full-refresh")
    assert fresh_duckdb.query(marts) == after_release
    assert fresh_duckdb.query(flags) == flags_after_release
    assert fresh_duckdb.query(service_flags) == service_flags_after_release
    assert capacity_rows(fresh_duckdb) == capacity_after_release
    # the load log keeps both July releases
    assert fresh_duckdb.query(
        "select count(*), count(*) filter (where release_status = 'superseded') from raw_chs.load_log "
        "where reporting_period = date '2025-07-01'"
    ) == [(2, 1)]

    # a release whose England total no longer equals its providers' sum fails the run
    revise_july(july, root / "files" / july.name, delta=5, consistent=False)
    republished(root / "files" / july.name)
    fresh_duckdb.execute("delete from raw_chs.full_build_log")  # as if the dbt project had changed since
    fourth = fresh_duckdb.run(*args, check=False)
    assert fourth.returncode == 1
    assert "\ndbt build --vars {validate_all_releases: true}\n" in fourth.stdout  # no full build on record
    assert "FAIL  assert_community_waits__national_equals_sum_of_providers" in fourth.stdout
    assert "report: not written (the build failed)" in fourth.stdout and report.read_text(encoding="utf-8") == page
