"""What a release builds: everything, or only what the new files feed when the dbt
project is unchanged since its last full build (loader/release.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from loader.land import FileResult
from loader.release import dbt_build_args, project_fingerprint
from tests.pytest.conftest import PROJECT_DIR, Target
from tests.pytest.workbooks import write_chs_workbook


def test_fingerprint_follows_the_files_dbt_reads(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: chs\n")
    for folder in ("models/staging", "seeds", "tests/pytest"):
        (tmp_path / folder).mkdir(parents=True)
    model = tmp_path / "models" / "staging" / "stg.sql"
    model.write_text("select 1\n")
    seed = tmp_path / "seeds" / "mapping.csv"
    seed.write_text("org_code,trust_code\nRJ7,RJ7\n")
    python_test = tmp_path / "tests" / "pytest" / "test_x.py"
    python_test.write_text("")
    first = project_fingerprint(tmp_path)

    python_test.write_text("assert True\n")  # dbt does not read it
    (tmp_path / "README.md").write_text("notes\n")  # nor this (not in a dbt folder)
    assert project_fingerprint(tmp_path) == first

    seed.write_text("org_code,trust_code\nRJ7,RJ8\n")
    second = project_fingerprint(tmp_path)
    assert second != first
    model.rename(model.with_name("stg_renamed.sql"))
    assert project_fingerprint(tmp_path) not in (first, second)


def test_release_selects_what_the_new_files_feed() -> None:
    workbook = FileResult(Path("chs-2025-07.xlsx"), "landed")
    revision = FileResult(Path("chs-2025-06.xlsx"), "superseded")
    extract = FileResult(Path("trust_metrics_extract.csv"), "landed")
    no_views = ["--exclude", "config.materialized:view"]
    # a skipped view keeps its tests; unit tests (fixed inputs) run in full builds only
    tests_as_selected = ["--exclude-resource-type", "unit_test", "--indirect-selection", "empty"]

    assert dbt_build_args([workbook], full=True) == ["build", "--vars", "{validate_all_releases: true}"]
    assert dbt_build_args([workbook, revision], full=False) == [
        "build",
        "--select",
        "source:raw_chs+",
        *no_views,
        *tests_as_selected,
    ]
    # the extract's staging view is compiled from its columns: views are built too
    extract_only = ["build", "--select", "source:raw_trust_metrics+", *tests_as_selected]
    assert dbt_build_args([extract], full=False) == extract_only
    assert dbt_build_args([extract, workbook], full=False) == [
        "build",
        "--select",
        "source:raw_chs+",
        "source:raw_trust_metrics+",
        *tests_as_selected,
    ]


def test_a_build_that_never_ran_shows_no_old_results(fresh_duckdb: Target, tmp_path: Path) -> None:
    """dbt stops before running a node (here: a yml it cannot parse, in a copy of the
    project): the release says so, and does not summarise the last build's
    run_results.json, nor any other, as its own."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "analyses"):
        source = PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    (project / "models" / "marts" / "_broken.yml").write_text("models: [\n", encoding="utf-8")
    fresh_duckdb.project_dir = project
    fresh_duckdb.env["DBT_PROFILES_DIR"] = str(project)
    fresh_duckdb.env["PYTHONPATH"] = str(PROJECT_DIR)  # the loader, run from the copy
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_chs_workbook(data_dir / "july.xlsx")
    stale = Path(fresh_duckdb.env["DBT_TARGET_PATH"]) / "run_results.json"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"results": [{"unique_id": "test.old.passed", "status": "pass"}]}', encoding="utf-8")

    result = fresh_duckdb.run("loader", "release", "--no-fetch", "--data-dir", str(data_dir), check=False)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: dbt build did not run: " in result.stderr, result.stderr
    assert "data quality: no build recorded in this warehouse" in result.stdout, result.stdout
    assert "providers: not available (the build did not run)" in result.stdout
    assert "report: not written (the build failed)" in result.stdout
    assert not stale.exists()
