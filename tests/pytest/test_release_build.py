"""What a release builds: everything, or only what the new files feed when the dbt
project is unchanged since its last full build (loader/release.py)."""

from __future__ import annotations

from pathlib import Path

from loader.land import FileResult
from loader.release import dbt_build_args, project_fingerprint


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
    tests_as_selected = ["--indirect-selection", "empty"]  # a skipped view keeps its tests
    no_unit_tests = ["--exclude-resource-type", "unit_test"]  # the last full build ran them

    assert dbt_build_args([workbook], full=True) == ["build", "--vars", "{validate_all_releases: true}"]
    assert dbt_build_args([workbook, revision], full=False) == [
        "build",
        "--select",
        "source:raw_chs+",
        *no_views,
        *tests_as_selected,
        *no_unit_tests,
    ]
    # the extract's staging view is compiled from its columns: views are built too
    extract_only = ["build", "--select", "source:raw_trust_metrics+", *tests_as_selected, *no_unit_tests]
    assert dbt_build_args([extract], full=False) == extract_only
    assert dbt_build_args([extract, workbook], full=False) == [
        "build",
        "--select",
        "source:raw_chs+",
        "source:raw_trust_metrics+",
        *tests_as_selected,
        *no_unit_tests,
    ]
