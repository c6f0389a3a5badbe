"""Read the dbt ``profiles.yml`` so the loader and dbt share one set of credentials."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from loader.errors import LoaderError

PROFILE_NAME = "chs"


@dataclass(frozen=True)
class Connection:
    """Connection settings of one dbt target."""

    target: str
    type: str
    settings: dict[str, Any]


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise LoaderError(f"profiles.yml: environment variable {name} is required but not set")
    return value


def _as_number(value: str) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


_JINJA = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
_JINJA.globals["env_var"] = _env_var
_JINJA.filters["as_number"] = _as_number
_JINJA.filters["as_text"] = str


def _render(value: Any) -> Any:
    if isinstance(value, str) and "{{" in value:
        rendered = _JINJA.from_string(value).render()
        # dbt's as_number yields a number; rendering goes through text, so convert back
        # only where the template asked for it (a numeric password stays a string)
        return _as_number(rendered) if "as_number" in value else rendered
    if isinstance(value, dict):
        return {key: _render(item) for key, item in value.items()}
    return value


def profiles_dir() -> Path:
    """Where profiles.yml lives: ``DBT_PROFILES_DIR``, else the current directory."""
    return Path(os.environ.get("DBT_PROFILES_DIR", "."))


def load_connection(target: str | None = None, directory: Path | None = None) -> Connection:
    """Return the settings of ``target`` (default: the profile's default target)."""
    path = (directory or profiles_dir()) / "profiles.yml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read profiles ({exc.strerror})") from exc
    profile = document.get(PROFILE_NAME) if isinstance(document, dict) else None
    if not isinstance(profile, dict) or "outputs" not in profile:
        raise LoaderError(f"{path}: no '{PROFILE_NAME}' profile with outputs")
    name = target or str(_render(profile.get("target", "duckdb")))
    outputs = profile["outputs"]
    if name not in outputs:
        raise LoaderError(f"{path}: target '{name}' not found (have: {', '.join(outputs)})")
    settings = _render(outputs[name])
    return Connection(target=name, type=str(settings["type"]), settings=settings)
