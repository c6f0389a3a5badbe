"""The loader reads dbt's profiles.yml, with env_var() defaults and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from loader.errors import LoaderError
from loader.profiles import load_connection
from tests.pytest.conftest import PROJECT_DIR


def test_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHS_TARGET", "CHS_DUCKDB_PATH", "CHS_PG_PORT", "CHS_PG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    duck = load_connection(directory=PROJECT_DIR)
    assert (duck.target, duck.type, duck.settings["path"]) == ("duckdb", "duckdb", "warehouse.duckdb")
    monkeypatch.setenv("CHS_PG_PORT", "6543")
    monkeypatch.setenv("CHS_PG_PASSWORD", "12345")
    pg = load_connection("postgres", PROJECT_DIR)
    assert pg.settings["port"] == 6543
    assert pg.settings["password"] == "12345"  # stays text


def test_unknown_target(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="target 'nope' not found"):
        load_connection("nope", PROJECT_DIR)
    with pytest.raises(LoaderError, match="cannot read profiles"):
        load_connection(None, tmp_path)
