"""The data-quality summary of the last build (loader/dq_summary.py): from the warehouse's
build log, whatever dbt command ran since; a run_results.json for the data review."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from loader.dq_summary import run_results_summary
from tests.pytest.conftest import PROJECT_DIR, Target
from tests.pytest.workbooks import write_chs_workbook


def test_summary_counts_and_lists_problems(tmp_path: Path) -> None:
    results = {
        "results": [
            {"unique_id": "test.p.ok", "status": "pass", "failures": 0},
            {"unique_id": "test.p.some_warning", "status": "warn", "failures": 8, "relation_name": '"db"."audit"."w"'},
            {"unique_id": "test.p.broken", "status": "fail", "failures": 3},
            {
                "unique_id": "unit_test.p.fct_capacity.zero_list",
                "status": "fail",
                "failures": 1,
                "message": "actual differs from expected:\n\n@@ ,period,queue_load",
            },
            {"unique_id": "model.p.fine", "status": "success"},
        ]
    }
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(results))
    text, failed = run_results_summary(path)
    assert failed
    lines = text.splitlines()
    assert lines[0] == "data quality: 4 tests: 1 passed, 1 warned, 2 failed, 0 errored, 0 skipped"
    assert lines[1] == "  FAIL  broken: 3 offending rows"
    assert lines[2] == '  WARN  some_warning: 8 offending rows  (stored in "db"."audit"."w")'
    assert lines[3] == "  FAIL  fct_capacity::zero_list: actual differs from expected:"


def test_summary_of_a_clean_run(tmp_path: Path) -> None:
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({"results": [{"unique_id": "test.p.ok", "status": "pass"}]}))
    assert run_results_summary(path) == (
        "data quality: 1 tests: 1 passed, 0 warned, 0 failed, 0 errored, 0 skipped",
        False,
    )


def test_provider_totals_from_table_4_cells() -> None:
    from loader.release import provider_totals

    title = (1, 1, 1, "s", "Total waiting list by service, July 2025")
    header = [
        (1, 3, c, "s", t)
        for c, t in enumerate(["Organisation Type", "Organisation Code", "Organisation Name", "(A) X", "(A) Y"], 1)
    ]
    body = [
        (1, 4, 1, "s", "National"), (1, 4, 3, "s", "England"), (1, 4, 4, "n", "9"),
        (1, 5, 1, "s", "Provider"), (1, 5, 2, "s", "RJ7"), (1, 5, 3, "s", "ST GEORGE'S"),
        (1, 5, 4, "n", "4"), (1, 5, 5, "n", "5"),
        (2, 1, 1, "s", "Cover page"),
    ]  # fmt: skip
    assert provider_totals([title, *header, *body]) == {"RJ7": 9}  # National row not counted
    assert provider_totals([title]) == {}  # no header row: nothing to report, no crash


def test_anomaly_line_names_the_month_the_figures_and_the_cause() -> None:
    import datetime as dt

    from loader.anomalies import describe_flagged_month

    row = {
        "org_level": "provider",
        "org_code": "RAL",
        "org_name": "ROYAL FREE LONDON NHS FOUNDATION TRUST",
        "period": dt.date(2025, 1, 1),
        "previous_total_waiting": 1364,
        "total_waiting": 7979,
        "change_ratio": 7979 / 1364,
        "is_rolled_forward": False,
        "is_zero_glitch": False,
        "is_large_change": True,
        "likely_cause": "merger: RAP to RAL from 2025-01-01",
    }
    assert describe_flagged_month(row) == (
        "  Jan 2025 provider RAL ROYAL FREE LONDON NHS FOUNDATION TRUST: large change; 1364 -> 7979 (x5.85); "
        "likely cause: merger: RAP to RAL from 2025-01-01"
    )
    zeros = {**row, "total_waiting": 0, "change_ratio": 0.0, "is_zero_glitch": True, "likely_cause": None}
    assert describe_flagged_month(zeros).endswith(": all zeros, large change; 1364 -> 0 (x0.00)")


def test_service_step_line_names_the_service_the_figures_and_the_cause() -> None:
    import datetime as dt

    from loader.anomalies import describe_service_step

    row = {
        "org_level": "provider",
        "org_code": "RYW",
        "org_name": "BIRMINGHAM COMMUNITY HEALTHCARE NHS FOUNDATION TRUST",
        "service_category": "cyp",
        "service_key": "community_paediatrics",
        "period": dt.date(2025, 1, 1),
        "previous_total_waiting": 1310,
        "total_waiting": 17091,
        "change_ratio": 17091 / 1310,
        "likely_cause": "step in one service: reporting change likely",
    }
    assert describe_service_step(row) == (
        "  Jan 2025 provider RYW BIRMINGHAM COMMUNITY HEALTHCARE NHS FOUNDATION TRUST, cyp.community_paediatrics: "
        "1310 -> 17091 (x13.05); likely cause: step in one service: reporting change likely"
    )
    first = {**row, "previous_total_waiting": 0, "change_ratio": None, "likely_cause": None}
    assert describe_service_step(first).endswith("cyp.community_paediatrics: 0 -> 17091")


FIRST_BUILD = "months checked: every month landed (12 months: 2024-08 to 2025-07)"
# the anomaly flags of the 12 real months (the first build's three anomaly tests warn on
# exactly these: 39, 3 and 27 rows)
STANDING_FLAGS = (
    "anomaly flags standing in intermediate.int_organisation_months_flagged (12 months): "
    "rolled forward 39, all zeros 3, large change 27 organisation-months, "
    "and 40 service steps (intermediate.int_service_months_flagged)"
)


def summary(target: Target, check: bool = False) -> list[str]:
    return target.run("loader", "dq-summary", check=check).stdout.splitlines()


def test_summary_after_docs_generate_still_describes_the_last_build(copy_of_built_duckdb: Target) -> None:
    """dbt docs generate rewrites run_results.json (its tests 'compiled', none passed): the
    summary still describes the build, read from the warehouse's build log."""
    target = copy_of_built_duckdb
    before = summary(target, check=True)
    assert before[0].startswith("last build: dbt build on duckdb, ")
    assert before[0].endswith(f", succeeded; {FIRST_BUILD}")
    # the six warnings of the real data: the three organisation flags, the service steps, the
    # extract's repeated trust-months, the trust-months without community data
    counts = re.fullmatch(
        r"data quality: (\d+) tests: (\d+) passed, 6 warned, 0 failed, 0 errored, 0 skipped",
        before[1],
    )
    assert counts and int(counts[1]) == int(counts[2]) + 6, before[1]
    assert "  WARN  organisation_months__rolled_forward: 39 offending rows" in "\n".join(before)
    assert before[-1] == f"{STANDING_FLAGS}; this build's anomaly tests checked every month"

    target.run("dbt", "docs", "generate")
    results = json.loads((Path(target.env["DBT_TARGET_PATH"]) / "run_results.json").read_text(encoding="utf-8"))
    assert results["args"]["which"] == "generate"  # what the summary used to read
    assert summary(target, check=True) == before


def test_no_build_recorded(fresh_duckdb: Target, tmp_path: Path) -> None:
    target = fresh_duckdb
    result = target.run("loader", "dq-summary", check=False)
    assert result.returncode == 1
    assert result.stdout == (
        f"data quality: no build recorded: no warehouse at {target.env['CHS_DUCKDB_PATH']}; run make build\n"
    )
    write_chs_workbook(tmp_path / "july.xlsx")
    target.run("loader", "land", str(tmp_path / "july.xlsx"))
    result = target.run("loader", "dq-summary", check=False)
    assert result.returncode == 1
    assert result.stdout == (
        "data quality: no build recorded in this warehouse; run make build (or python -m loader build)\n"
    )


def test_a_failed_build_is_described_as_failed(copy_of_built_duckdb: Target) -> None:
    """A build whose test fails, then one dbt could not start (bad --vars): each is what the
    summary describes, never the successful build before it."""
    target = copy_of_built_duckdb
    target.execute("insert into seeds.trust_mapping select * from seeds.trust_mapping where org_code = 'RJ7'")
    result = target.run("loader", "build", "--select", "unique_trust_mapping_org_code", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("last build: dbt build --select unique_trust_mapping_org_code on duckdb, ")
    assert lines[0].endswith(", failed; months checked: no month (no release new to this build)")
    assert lines[1] == "data quality: 1 tests: 0 passed, 0 warned, 1 failed, 0 errored, 0 skipped"
    # a test that does not store its failing rows: the query that finds them
    query = (
        f"{target.env['DBT_TARGET_PATH']}/compiled/chs_waiting_lists/seeds/_seeds.yml/unique_trust_mapping_org_code.sql"
    )
    assert lines[2] == f"  FAIL  unique_trust_mapping_org_code: 1 offending rows  (rows: the query in {query})"
    assert summary(target) == lines  # dq-summary says the same

    result = target.run("loader", "build", "--vars", "{not yaml", check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --vars '{not yaml': not YAML (")

    # dbt cannot parse the project (a yml broken, in a copy of it): recorded as not run
    project = target.workdir / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "analyses"):
        source = PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    (project / "models" / "marts" / "_broken.yml").write_text("models: [\n", encoding="utf-8")
    target.project_dir = project
    target.env["PYTHONPATH"] = str(PROJECT_DIR)  # the loader, run from the copy
    result = target.run("loader", "build", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: dbt build did not run: "), result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("last build: dbt build on duckdb, ")
    assert ": did not run (" in line
    assert summary(target) == [line]


@pytest.mark.parametrize(
    "copy_of_built", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_same_data_twice_gives_the_same_flags_and_says_what_it_checked(copy_of_built: Target) -> None:
    """The anomaly tests check the rows their build flagged: the first build warns on all
    69 flags, a build of the same data on none. The summary says what each checked and
    adds the flags standing in the warehouse, the same after both."""
    target = copy_of_built
    first = summary(target, check=True)
    assert first[-1] == f"{STANDING_FLAGS}; this build's anomaly tests checked every month"

    again = target.run("loader", "build", "--select", "int_organisation_months_flagged").stdout.splitlines()
    assert again[0].endswith(", succeeded; months checked: no month (no release new to this build)")
    assert again[1].startswith("data quality: ") and " 0 warned, 0 failed" in again[1]
    assert again[-1] == f"{STANDING_FLAGS}; this build's anomaly tests checked no month (it flagged none anew)"
    assert summary(target, check=True) == again

    # as if May had just landed: the model flags May and June (whose comparison changed)
    # anew, 6 and 4 flagged organisation-months; the standing flags are the same again
    target.execute("delete from intermediate.int_organisation_months_flagged where period = date '2025-05-01'")
    monthly = target.run("loader", "build", "--select", "int_organisation_months_flagged").stdout.splitlines()
    assert monthly[-1] == (
        f"{STANDING_FLAGS}; this build's anomaly tests checked only the months it flagged anew: "
        "2025-05, 2025-06 (10 flagged)"
    )
    assert "  WARN  organisation_months__large_change: 8 offending rows" in "\n".join(monthly)


def test_a_build_log_from_before_gains_the_columns(copy_of_built_duckdb: Target) -> None:
    """A warehouse built by the project before the build log described its builds: the
    summary says so in one line, and the next build adds the columns and records itself."""
    target = copy_of_built_duckdb
    target.execute("drop table main.dbt_build_log_problems")
    target.execute("drop table main.dbt_build_log")
    target.execute(
        "create table main.dbt_build_log (invocation_id varchar not null, target_name varchar not null, "
        "finished_at timestamp not null, nodes integer not null, failed integer not null, warned integer not null)"
    )
    target.execute("insert into main.dbt_build_log values ('old', 'duckdb', now(), 97, 0, 2)")
    result = target.run("loader", "dq-summary", check=False)
    assert result.returncode == 2
    assert result.stderr == ("error: main.dbt_build_log: recorded by an older version of the project; run make build\n")
    built = target.run("loader", "build", "--select", "stg_chs__load_log").stdout.splitlines()
    assert built[0].startswith("last build: dbt build --select stg_chs__load_log on duckdb, ")
    assert built[1] == "data quality: 3 tests: 2 passed, 1 warned, 0 failed, 0 errored, 0 skipped"
    assert target.query("select invocation_id, status from main.dbt_build_log order by finished_at")[0] == (
        "old",
        None,
    )
