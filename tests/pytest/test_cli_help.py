"""The command line speaks to users: a description for each command, help with its default
for every option and argument, and errors that name a path as the user typed it."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loader.cli import _parser, main
from tests.pytest.conftest import PROJECT_DIR, Target

NO_DEFAULT = (None, False, [], argparse.SUPPRESS)


def commands() -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """Each subcommand: its name, its line in `python -m loader --help`, its own parser."""
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            lines = {choice.dest: choice.help for choice in action._choices_actions}
            for name, parser in action.choices.items():
                yield name, str(lines.get(name) or ""), parser


def options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction):
            yield action


def test_every_command_and_option_says_what_it_does_and_its_default() -> None:
    found = list(commands())
    assert {"land", "release", "publish", "fetch", "report", "review", "review-server"} <= {n for n, _, _ in found}
    lacking = []
    for name, line, parser in [("python -m loader", "the program", _parser()), *found]:
        if not line or "\n" in line or len(line) > 80:
            lacking.append(f"{name}: one line in the list of commands (has {line!r})")
        if not parser.description:
            lacking.append(f"{name}: a description of its own")
        for action in options(parser):
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            if not action.help:
                lacking.append(f"{label}: help text")
            elif action.default not in NO_DEFAULT and "default" not in action.help:
                lacking.append(f"{label}: its default ({action.default!r}) in its help")
    assert lacking == []


def test_the_top_level_help_is_for_a_user() -> None:
    text = _parser().format_help()
    assert "Logic lives in modules" not in text
    assert "python -m loader land DATA_DIR EXTRACT.csv" in " ".join(text.split())
    for name, line, _ in commands():
        assert " ".join(line.split()) in " ".join(text.split()), name


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's shell: in tmp_path/work, with a DuckDB warehouse of its own."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CHS_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(PROJECT_DIR))
    return work


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def test_an_error_names_the_path_as_given(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["land", "--target", "duckdb", "../shared/data/chswl"]) == 1
    assert error_lines(capsys) == ["error: ../shared/data/chswl: no such file or directory"]  # not "chswl: ..."
    # a file found in a directory: the directory as given, then the file's name
    (workdir.parent / "data").mkdir()
    (workdir.parent / "data" / "notes.xlsx").write_text("not a workbook")
    assert main(["land", "--target", "duckdb", "../data"]) == 1
    assert error_lines(capsys) == ["error: ../data/notes.xlsx: not an .xlsx workbook (no zip signature)"]


def test_a_reader_that_stops_reading_is_no_traceback(fresh_duckdb: Target) -> None:
    """`python -m loader dq-summary | head -0`: the pipe is closed before the summary is
    written; the command ends quietly with a pipe's usual status (141), not a traceback."""
    run = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m loader dq-summary | head -0; echo ${{PIPESTATUS[0]}}"],
        cwd=PROJECT_DIR,
        env=fresh_duckdb.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr, run.stderr
    assert run.stdout.strip() in ("141", "1")  # 1: written before head had closed the pipe
