"""Documentation that runs (docs/development.md, "Documentation tests"): every ```sql block of
README.md and docs/*.md runs against the session's built warehouse (DuckDB; PostgreSQL too
when the block says so) and must return rows; a markdown table directly after a block is its
expected result, so a figure quoted in the docs is the query's output. Shell blocks name only
make targets, loader subcommands and options that exist, and use only shell variables they
set. README.md stays one short page, and every relative link points at a file that exists."""

from __future__ import annotations

import datetime
import decimal
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.pytest.conftest import PROJECT_DIR, Target

README = PROJECT_DIR / "README.md"
DOCS = PROJECT_DIR / "docs"
README_MAX_LINES = 250


def doc_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


@dataclass
class Block:
    """A fenced code block of a markdown file."""

    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    info: list[str]  # words of the info string after the language
    text: str
    comment: str = ""  # an HTML comment on the line(s) just before the fence
    expected: list[list[str]] | None = None  # a markdown table just after it: header, then rows

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(PROJECT_DIR)}:{self.line}"

    @property
    def on_postgres(self) -> bool:
        return "postgres" in self.info or "postgres" in self.comment.split()


FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)\s*(.*)$")
COMMENT = re.compile(r"^\s*<!--(.*)-->\s*$")


def table_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, language, info = match.groups()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index])
            index += 1
        index += 1  # the closing fence
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        comment = COMMENT.match(previous)
        block = Block(
            path, start + 1, language.lower(), info.split(), "\n".join(body), comment.group(1) if comment else ""
        )
        # a markdown table after the block (blank lines between allowed) is its expected result
        after = index
        while after < len(lines) and not lines[after].strip():
            after += 1
        if (
            after + 1 < len(lines)
            and lines[after].lstrip().startswith("|")
            and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[after + 1])
        ):
            rows = [table_row(lines[after])]
            after += 2
            while after < len(lines) and lines[after].lstrip().startswith("|"):
                rows.append(table_row(lines[after]))
                after += 1
            block.expected = rows
        blocks.append(block)
    return blocks


@cache
def all_blocks() -> tuple[Block, ...]:
    return tuple(block for path in doc_files() for block in parse_blocks(path))


def sql_blocks(postgres: bool = False) -> list[Block]:
    return [block for block in all_blocks() if block.language == "sql" and (block.on_postgres or not postgres)]


def shell_blocks() -> list[Block]:
    return [block for block in all_blocks() if block.language in {"bash", "sh", "shell", "console"}]


# ---------------------------------------------------------------- sql blocks


def shown(value: object) -> str:
    """A result value as the docs write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


NUMBER = re.compile(r"^-?[\d,]*\.?\d+$")


def matches(expected: str, actual: object) -> bool:
    """A cell of the expected table against a value: numbers written with thousands
    separators and as many decimals as they show (the value rounded to those), text as is."""
    expected = expected.strip("`* ")
    if NUMBER.match(expected) and isinstance(actual, (int, float, decimal.Decimal)) and not isinstance(actual, bool):
        plain = expected.replace(",", "")
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        exact = decimal.Decimal(str(actual)).quantize(decimal.Decimal(1).scaleb(-decimals), decimal.ROUND_HALF_UP)
        return exact == decimal.Decimal(plain)
    return expected == shown(actual)


def check_result(block: Block, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    assert rows, f"{block.id}: the query returned no row\n{block.text}"
    if block.expected is None:
        return
    header, *expected_rows = block.expected
    assert [name.strip("` ") for name in header] == columns, f"{block.id}: columns {columns}, the docs show {header}"
    assert len(rows) == len(expected_rows), (
        f"{block.id}: {len(rows)} rows, the docs show {len(expected_rows)}\n" + "\n".join(map(str, rows))
    )
    for number, (want, got) in enumerate(zip(expected_rows, rows, strict=True), start=1):
        assert len(want) == len(got) and all(matches(w, g) for w, g in zip(want, got, strict=True)), (
            f"{block.id}: row {number} is {[shown(value) for value in got]}, the docs show {want}"
        )


@pytest.fixture(scope="module")
def duckdb_connection(built_duckdb: Target) -> Iterator[object]:
    import duckdb

    with duckdb.connect(built_duckdb.env["CHS_DUCKDB_PATH"], read_only=True) as con:
        con.execute(f"set file_search_path = '{PROJECT_DIR}'")  # read_json('bench/results.json')
        yield con


@pytest.mark.e2e
@pytest.mark.parametrize("block", sql_blocks(), ids=lambda block: block.id)
def test_sql_block_runs_on_duckdb(block: Block, duckdb_connection: object) -> None:
    cursor = duckdb_connection.execute(block.text)  # type: ignore[attr-defined]
    columns = [column[0] for column in cursor.description]
    check_result(block, columns, cursor.fetchall())


@pytest.fixture(scope="module")
def postgres_connection(built_postgres: Target) -> Iterator[object]:
    import psycopg

    from tests.pytest.conftest import pg_connect_args

    with psycopg.connect(**pg_connect_args(built_postgres.env), autocommit=True) as con:
        yield con


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.parametrize("block", sql_blocks(postgres=True), ids=lambda block: block.id)
def test_sql_block_runs_on_postgres(block: Block, postgres_connection: object) -> None:
    with postgres_connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(block.text)
        columns = [column.name for column in cursor.description]
        check_result(block, columns, cursor.fetchall())


def test_expected_tables_are_well_formed() -> None:
    """Every expected-result table has as many cells in a row as in its header (caught
    here, without a warehouse)."""
    for block in sql_blocks():
        if block.expected:
            widths = {len(row) for row in block.expected}
            assert widths == {len(block.expected[0])}, f"{block.id}: rows of different widths {widths}"


def test_docs_hold_sql_blocks() -> None:
    """The harness finds the blocks (a changed fence syntax would silently run nothing)."""
    blocks = sql_blocks()
    assert len(blocks) >= 10, [block.id for block in blocks]
    assert any(block.path == README for block in blocks)
    assert sql_blocks(postgres=True), "no block runs on PostgreSQL"
    assert sum(block.expected is not None for block in blocks) >= 5


# ---------------------------------------------------------------- shell blocks


@cache
def make_targets() -> set[str]:
    text = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))


@cache
def make_variables() -> set[str]:
    text = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"\$\(([A-Z_]+)\)", text)) | set(re.findall(r"^([A-Z_]+)\s*[?:]?=", text, flags=re.MULTILINE))


@cache
def loader_help(*subcommand: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "loader", *subcommand, "--help"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@cache
def loader_subcommands() -> set[str]:
    """The names listed under `positional arguments` (`    land    land workbooks ...`)."""
    names = set(re.findall(r"^    ([a-z][a-z-]*)(?=\s|$)", loader_help(), flags=re.MULTILINE))
    assert names, loader_help()
    return names


def commands(block: Block) -> Iterator[str]:
    """The block's commands: comments and here-documents dropped, continued lines joined."""
    text = re.sub(r"\\\n\s*", " ", block.text)
    heredoc_end = None
    for line in text.splitlines():
        if heredoc_end is not None:
            heredoc_end = None if line.strip() == heredoc_end else heredoc_end
            continue
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if heredoc:
            heredoc_end = heredoc.group(1)
            line = line[: heredoc.start()]
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield from (part.strip() for part in re.split(r"&&|;|\|\|", line) if part.strip())


def words_of(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:  # an unbalanced quote in a fragment split at ';': words as written
        return command.split()


# environment variables a shell or CI runner sets
SHELL_SET = {"HOME", "PWD", "PATH", "USER", "TMPDIR", "RUNNER_TEMP", "XDG_CACHE_HOME"}


@pytest.mark.parametrize("block", shell_blocks(), ids=lambda block: block.id)
def test_shell_block_names_what_exists(block: Block) -> None:
    assigned = set(re.findall(r"(?:^|\s|export\s+)([A-Za-z_][A-Za-z0-9_]*)=", block.text))
    for variable in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", block.text):
        assert variable in assigned or variable in SHELL_SET, (
            f"{block.id}: ${variable} is not set in the block: pasted into a shell it is empty"
        )
    for command in commands(block):
        words = words_of(command)
        if words[0] == "make" or (len(words) > 1 and "make" in words[:3] and words[0].endswith("=")):
            after = words[words.index("make") + 1 :]
            for word in after:
                if "=" in word:
                    name = word.split("=", 1)[0]
                    assert name in make_variables() or name.startswith("CHS_"), f"{block.id}: make variable {name}?"
                elif not word.startswith("-"):
                    assert word in make_targets(), f"{block.id}: no make target {word!r} (Makefile)"
        if "loader" in words and "-m" in words:
            rest = words[words.index("loader") + 1 :]
            options = [word for word in rest if word.startswith("-")]
            subcommand = next((word for word in rest if not word.startswith("-")), None)
            assert subcommand is None or subcommand in loader_subcommands(), (
                f"{block.id}: no loader subcommand {subcommand!r}"
            )
            help_text = (loader_help(subcommand) if subcommand else "") + loader_help()
            for option in options:
                name = option.split("=", 1)[0]
                assert re.search(rf"(^|[\s\[,]){re.escape(name)}\b", help_text), (
                    f"{block.id}: python -m loader {subcommand} has no option {name}"
                )


# ---------------------------------------------------------------- the pages


def test_readme_is_one_short_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped (backticks, emphasis, links), an
    underscore inside a word kept (`trust_metrics` gives trust_metrics)."""
    text = re.sub(r"[`*]|(?<!\w)_+|_+(?!\w)|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {slug(heading) for heading in re.findall(r"^#{1,6}\s+(.*)$", text, flags=re.MULTILINE)}


LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", doc_files(), ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_relative_links_point_at_files(path: Path) -> None:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name}: link to {target}: no such file"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{path.name}: link to {target}: no such heading"


def test_the_checks_catch_what_fails() -> None:
    """The harness fails on what the issue found: a variable only make sets, a target or a
    subcommand that does not exist, a figure that is not the query's output."""
    for text in (
        '.venv/bin/python -m loader release --no-fetch --data-dir "$CHS_DATA_DIR"',
        "make buidl",
        ".venv/bin/python -m loader relase",
        ".venv/bin/python -m loader report --month 2025-07",
    ):
        with pytest.raises(AssertionError):
            test_shell_block_names_what_exists(Block(README, 1, "bash", [], text))
    assert slug("`fct_trust_community_waits`: every NHS trust") == "fct_trust_community_waits-every-nhs-trust"
    assert slug("Restated series: `metadata.restated_from`") == "restated-series-metadatarestated_from"
    assert slug("The _first_ **questions**") == "the-first-questions"
    assert matches("751,038", 751038) and matches("87.6", 87.56) and matches("**3,955**", 3954.96)
    assert not matches("87.5", 87.56) and not matches("751,039", 751038) and not matches("16", 24)
    with pytest.raises(AssertionError):
        check_result(Block(README, 1, "sql", [], "", expected=[["a"], ["1"]]), ["a"], [(2,)])
    with pytest.raises(AssertionError):
        check_result(Block(README, 1, "sql", [], ""), ["a"], [])


INLINE_COMMAND = re.compile(r"`((?:make|\.venv/bin/python -m loader|python -m loader) [^`]+)`")


@pytest.mark.parametrize("path", doc_files(), ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_commands_in_the_text_exist(path: Path) -> None:
    """Commands quoted in the text (`make report PERIOD=2024-12`, `python -m loader publish
    --dry-run`) name targets, subcommands and options that exist, as in a shell block."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    for number, command in enumerate(INLINE_COMMAND.findall(text.replace("\n", " "))):
        if "<" in command or "..." in command or "[" in command:
            continue  # a synopsis (`release --data-dir DIR [--no-fetch]`), not a command
        test_shell_block_names_what_exists(Block(path, number, "bash", [], command))
