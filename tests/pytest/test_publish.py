"""Publishing community_health_data into the team's live trust_metrics table (PostgreSQL).

One warehouse for the module, built by a least-privileged role as production would run
it: the role owns the project's schemas and may only read the live table and update its
two columns. The live table (tests/pytest/live_table.py) is the team's, made by the admin
from the extract in the dashboard's nested shape, with the extract's real defects (RVR
twice in April-July 2025). The tests run in file order: the failed build comes last.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pytest.conftest import (
    Target,
    drop_postgres,
    extract_path,
    pg_connect_args,
    postgres_target,
    real_workbooks,
)
from tests.pytest.live_table import DDL, create_live_table
from tests.pytest.test_fetch import revise_july

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

LIVE = "public.trust_metrics"
BEFORE_ANY_PUBLISH: dict[object, tuple[object, object]] = {}  # the live table as the team made it
OTHER_COLUMNS = (
    "trust_code, trust_name, period, icb_code, icb_name, data_type, rtt_data, ae_data, diagnostics_data, "
    "capacity_data, created_at"
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """Land and build as role chs_loader_<id>; the admin's live table beside it, granted as the README says."""
    target = postgres_target(tmp_path_factory.mktemp("publish"))
    role = f"chs_loader_{uuid.uuid4().hex[:8]}"
    admin = pg_connect_args(target.env)
    with psycopg.connect(**admin, autocommit=True) as con:
        con.execute(f"create role {role} login")
        con.execute(f"grant connect, create, temporary on database {target.env['CHS_PG_DBNAME']} to {role}")
    create_live_table(admin, extract_path(), LIVE)
    with psycopg.connect(**admin, autocommit=True) as con:
        con.execute(f"grant usage on schema public to {role}")
        con.execute(f"grant select, update (community_health_data, updated_at) on {LIVE} to {role}")
    target.env["CHS_PG_USER"] = role
    try:
        target.run("loader", "land", str(real_workbooks()[0].parent), str(extract_path()))
        target.run("dbt", "build")
        BEFORE_ANY_PUBLISH.update(published(target))
        yield target
    finally:
        target.env["CHS_PG_USER"] = admin["user"]  # type: ignore[assignment]
        drop_postgres(target)
        server = {**admin, "dbname": os.environ.get("CHS_PG_DBNAME", "postgres")}
        with psycopg.connect(**server, autocommit=True) as con:
            con.execute(f"drop role if exists {role}")


def as_admin(target: Target, sql: str) -> list[tuple[object, ...]]:
    args = pg_connect_args(target.env)
    args["user"] = "postgres"
    with psycopg.connect(**args, autocommit=True) as con, con.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


def other_columns(target: Target) -> dict[object, object]:
    """Each live row (by id) hashed over every column but the two publish may write."""
    return dict(as_admin(target, f"select id, md5(row({OTHER_COLUMNS})::text) from {LIVE}"))


def published(target: Target) -> dict[object, tuple[object, object]]:
    """Each live row's community_health_data (as text) and updated_at."""
    return {
        row[0]: (row[1], row[2])
        for row in as_admin(target, f"select id, community_health_data::text, updated_at from {LIVE}")
    }


def live_coverage(target: Target) -> dict[object, object]:
    """The status report's query 1 on the live table: trusts with community data per month."""
    return dict(
        as_admin(
            target,
            f"select period, count(distinct trust_code) filter (where community_health_data is not null) "
            f"from {LIVE} where data_type = 'monthly' group by period",
        )
    )


def mart_coverage(target: Target) -> dict[object, object]:
    return dict(target.query("select period, trusts_with_community_data from marts.community_period_coverage"))


def test_publish_on_duckdb_is_refused_in_one_line(fresh_duckdb: Target) -> None:
    run = fresh_duckdb.run("loader", "publish", check=False)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "error: publish: the live trust_metrics table is on PostgreSQL; target 'duckdb' is duckdb"
    )


def test_dry_run_shows_the_plan_and_changes_nothing(live: Target) -> None:
    before = published(live)
    run = live.run("loader", "publish", "--dry-run")
    assert "publish to public.trust_metrics (dry run: nothing changed)" in run.stdout
    assert "  Jul 2025        98        0         54        0" in run.stdout  # RVR twice: 97 trusts, 98 rows
    assert published(live) == before
    assert live.query("select count(*) from raw_chs.publish_log") == [(0,)]


def test_publish_fills_every_month_and_touches_no_other_column(live: Target) -> None:
    rows_before, other_before = published(live), other_columns(live)
    assert all(value is None for value, _ in rows_before.values())
    run = live.run("loader", "publish")
    assert "publish 1 to public.trust_metrics: 1156 rows changed" in run.stdout
    assert "community coverage equals the marts in 12 of 12 months (Jul 2025: 97 trusts)" in run.stdout
    coverage = live_coverage(live)
    assert coverage == mart_coverage(live)
    assert max(coverage.items())[1] == 97  # type: ignore[type-var]
    assert other_columns(live) == other_before  # every other column, byte for byte
    after = published(live)
    assert after.keys() == rows_before.keys()  # no row added or removed
    changed = {key for key in after if after[key] != rows_before[key]}
    assert len(changed) == 1156
    assert all(after[key][0] is not None and after[key][1] != rows_before[key][1] for key in changed)
    # the JSON published is the mart's, exactly
    assert as_admin(
        live,
        f"select count(*) from {LIVE} as live join marts.trust_metrics as mart "
        "on mart.trust_code = live.trust_code and mart.period = live.period "
        "where live.data_type = 'monthly' and live.community_health_data is distinct from mart.community_health_data",
    ) == [(0,)]
    # the quarterly row is not the publish's to touch
    assert as_admin(live, f"select community_health_data from {LIVE} where data_type = 'quarterly'") == [(None,)]


def test_publishing_again_changes_nothing(live: Target) -> None:
    before = published(live)
    run = live.run("loader", "publish")
    assert "publish 2 to public.trust_metrics: 0 rows changed" in run.stdout
    assert published(live) == before


def test_rollback_restores_the_previous_values_exactly(live: Target) -> None:
    filled = published(live)
    run = live.run("loader", "publish", "--rollback", "1")
    assert "publish 3: rolled back publish 1 on public.trust_metrics: 1156 rows restored" in run.stdout
    assert published(live) == BEFORE_ANY_PUBLISH  # the JSON and updated_at, as they were
    # publish 1 is undone: undoing it again is refused, in one line, and changes nothing
    twice = live.run("loader", "publish", "--rollback", "1", check=False)
    assert twice.returncode == 2
    assert "1156 of its 1156 rows have changed since" in twice.stderr
    # a rollback is a publish of its own: rolling it back publishes again
    again = live.run("loader", "publish", "--rollback", "3")
    assert "publish 4: rolled back publish 3 on public.trust_metrics: 1156 rows restored" in again.stdout
    assert published(live) == filled


def publish_while_another_writer_holds(live: Target, row_id: object, *args: str) -> subprocess.CompletedProcess[str]:
    """Run publish while another connection (the team's RTT loader) has updated row_id, not
    yet committed: publish reads its snapshot, then blocks updating that row; the loader
    commits only once publish is seen waiting on it, so publish's transaction always meets a
    concurrent update (SQLSTATE 40001). Deterministic: the order is forced by the row lock."""
    admin = {**pg_connect_args(live.env), "user": "postgres"}
    command = [sys.executable, "-m", "loader", "publish", *args, "--target", live.name]
    with psycopg.connect(**admin) as loader, psycopg.connect(**admin, autocommit=True) as watcher:
        loader.execute(
            f"update {LIVE} set rtt_data = jsonb_set(rtt_data, '{{trust_total,total_52_plus_weeks}}', '12345'), "
            "updated_at = now() where id = %s",
            (row_id,),
        )
        process = subprocess.Popen(
            command, cwd=live.project_dir, env=live.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 180
            waiting = "select count(*) from pg_stat_activity where %s = any(pg_blocking_pids(pid))"
            while not watcher.execute(waiting, (loader.info.backend_pid,)).fetchone()[0]:  # type: ignore[index]
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "publish never waited on the other writer's row"
                time.sleep(0.1)
            loader.commit()  # the RTT loader's update lands under publish's feet
            stdout, stderr = process.communicate(timeout=180)
        finally:
            if process.poll() is None:
                process.kill()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_another_writer_on_the_same_rows_is_retried_then_given_up_on(live: Target) -> None:
    """Two live rows lose their community data (so publish has rows to write); the RTT loader
    updates one of them while publish runs. Without retries publish gives up in one line,
    changing nothing; with them it retries once and publishes both, keeping the loader's update."""
    rows = as_admin(
        live,
        f"select id from {LIVE} where data_type = 'monthly' and period = '2025-07-01' "
        "and community_health_data is not null order by trust_code limit 2",
    )
    ids = [row[0] for row in rows]
    rtt_before = as_admin(live, f"select id, rtt_data::text from {LIVE} where id in ('{ids[0]}', '{ids[1]}')")
    as_admin(live, f"update {LIVE} set community_health_data = null where id in ('{ids[0]}', '{ids[1]}')")
    before, publishes = published(live), live.query("select count(*) from raw_chs.publish_log")

    gave_up = publish_while_another_writer_holds(live, ids[0], "--retries", "0")
    assert gave_up.returncode == 2, gave_up.stdout + gave_up.stderr
    assert "Traceback" not in gave_up.stderr
    assert [line for line in gave_up.stderr.splitlines() if line.startswith("error:")] == [
        "error: publish: gave up after 1 attempt: could not serialize access due to concurrent update on "
        "public.trust_metrics each time (another writer keeps changing the same rows); nothing changed; "
        "publish again when it has finished (--retries, --retry-wait)"
    ]
    after = published(live)
    assert after[ids[0]][0] is None and after[ids[1]] == before[ids[1]]  # the loader's commit only
    assert live.query("select count(*) from raw_chs.publish_log") == publishes

    run = publish_while_another_writer_holds(live, ids[1], "--retry-wait", "0.1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "publish: could not serialize access due to concurrent update on public.trust_metrics (another writer "
        "committed to the same rows); nothing changed; retry 1 of 3 in 0.1 s"
    ) in run.stdout.splitlines()
    assert "retry 2" not in run.stdout
    assert "to public.trust_metrics: 2 rows changed" in run.stdout
    assert live_coverage(live) == mart_coverage(live)
    # the loader's updates are kept: publish wrote only community_health_data and updated_at
    assert as_admin(
        live,
        f"select count(*) from {LIVE} where id in ('{ids[0]}', '{ids[1]}') "
        "and rtt_data #>> '{trust_total,total_52_plus_weeks}' = '12345' and community_health_data is not null",
    ) == [(2,)]
    for row_id, rtt in rtt_before:  # the RTT figures as the extract has them, for the tests that follow
        as_admin(live, f"update {LIVE} set rtt_data = '{rtt}' where id = '{row_id}'")


def test_a_live_table_the_role_cannot_see_fails_and_changes_nothing(live: Target) -> None:
    """Row-level security on the live table and no policy for the publishing role: every
    trust-month would be merely "missing" and the coverage check pass; publish must stop.
    A policy letting the role see July 2025 only (97 of the 1,152 trust-months) stops it too."""
    role = live.env["CHS_PG_USER"]
    before, publishes = published(live), live.query("select count(*) from raw_chs.publish_log")
    causes = (
        f"likely row-level security (on for public.trust_metrics) with no policy for role {role}, the wrong "
        "table or schema (CHS_LIVE_SCHEMA / CHS_LIVE_TABLE), an empty table or a role without SELECT on "
        "public.trust_metrics; nothing changed"
    )
    as_admin(live, f"alter table {LIVE} enable row level security")
    try:
        hidden = live.run("loader", "publish", check=False)
        as_admin(live, f"create policy july_only on {LIVE} to {role} using (period = '2025-07-01')")
        july = live.run("loader", "publish", check=False)
    finally:
        as_admin(live, f"drop policy if exists july_only on {LIVE}")
        as_admin(live, f"alter table {LIVE} disable row level security")
    assert hidden.returncode == 2 and "community coverage equals" not in hidden.stdout
    assert [line for line in hidden.stderr.splitlines() if line.startswith("error:")] == [
        "error: publish: public.trust_metrics shows 0 of the 1,152 trust-months the marts cover (0%, under "
        f"--min-found 50%); {causes}"
    ]
    assert july.returncode == 2
    assert [line for line in july.stderr.splitlines() if line.startswith("error:")] == [
        "error: publish: public.trust_metrics shows 97 of the 1,152 trust-months the marts cover (8%, under "
        f"--min-found 50%); {causes}"
    ]
    assert published(live) == before
    assert live.query("select count(*) from raw_chs.publish_log") == publishes


def test_an_empty_live_table_fails_and_changes_nothing(live: Target) -> None:
    role = live.env["CHS_PG_USER"]
    empty = "public.trust_metrics_empty"
    as_admin(live, DDL.format(table=empty))
    as_admin(live, f"grant select, update (community_health_data, updated_at) on {empty} to {role}")
    publishes = live.query("select count(*) from raw_chs.publish_log")
    live.env["CHS_LIVE_TABLE"] = "trust_metrics_empty"
    try:
        run = live.run("loader", "publish", check=False)
    finally:
        del live.env["CHS_LIVE_TABLE"]
        as_admin(live, f"drop table {empty}")
    assert run.returncode == 2
    assert [line for line in run.stderr.splitlines() if line.startswith("error:")] == [
        "error: publish: public.trust_metrics_empty shows 0 of the 1,152 trust-months the marts cover (0%, under "
        f"--min-found 50%); likely row-level security with no policy for role {role}, the wrong table or schema "
        "(CHS_LIVE_SCHEMA / CHS_LIVE_TABLE), an empty table or a role without SELECT on public.trust_metrics_empty; "
        "nothing changed"
    ]
    assert live.query("select count(*) from raw_chs.publish_log") == publishes


def test_a_role_without_the_grant_fails_cleanly(live: Target) -> None:
    role = live.env["CHS_PG_USER"]
    before = published(live)
    as_admin(live, f"revoke update (community_health_data) on {LIVE} from {role}")
    try:
        run = live.run("loader", "publish", check=False)
    finally:
        as_admin(live, f"grant update (community_health_data) on {LIVE} to {role}")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert [line for line in run.stderr.splitlines() if line.startswith("error:")] == [
        f"error: publish: role {role} lacks UPDATE (community_health_data) on public.trust_metrics; nothing changed "
        f"(grant select, update (community_health_data, updated_at) on public.trust_metrics to {role})"
    ]
    assert published(live) == before


def test_the_marts_are_the_same_with_the_live_table_as_their_source(live: Target) -> None:
    marts = (
        "select trust_code, period, trust_name, icb_code, icb_name, rtt_data::text, ae_data::text, "
        "diagnostics_data::text, capacity_data::text, community_health_data::text from marts.trust_metrics "
        "order by trust_code, period"
    )
    from_extract = live.query(marts)
    coverage = live.query("select * from marts.community_period_coverage order by period")
    live.env["CHS_TRUST_METRICS_SOURCE"] = "live"
    try:
        build = live.run("dbt", "build")  # every model and test passes
        assert "stg_trust_metrics__live" in build.stdout
        assert live.query(marts) == from_extract
        assert live.query("select * from marts.community_period_coverage order by period") == coverage
        # and the analyses that read RTT from the JSON give the same answer
        analysis = live.run("dbt", "compile", "--select", "community_vs_rtt_correlation", "--quiet")
        assert "rtt_trauma_orthopaedics_total_incomplete_pathways" in analysis.stdout
    finally:
        del live.env["CHS_TRUST_METRICS_SOURCE"]


def test_a_revision_of_july_updates_only_the_trust_months_it_changed(live: Target, tmp_path: Path) -> None:
    live.run("loader", "publish")  # up to date first
    marts = "select trust_code, period, community_health_data::text from marts.trust_metrics"
    mart_before = {(code, period): value for code, period, value in live.query(marts)}
    july = next(p for p in real_workbooks() if p.name.endswith("2025-26-July.xlsx"))
    revised = tmp_path / "data" / july.name
    revised.parent.mkdir()
    revise_july(july, revised, delta=10)
    run = live.run("loader", "release", "--no-fetch", "--data-dir", str(revised.parent), "--publish")
    mart_after = {(code, period): value for code, period, value in live.query(marts)}
    changed = {key for key in mart_after if mart_after[key] != mart_before.get(key)}
    assert changed and all(period.month == 7 for _, period in changed)  # type: ignore[attr-defined]
    assert f"to public.trust_metrics: {len(changed)} rows changed" in run.stdout, run.stdout
    assert live_coverage(live) == mart_coverage(live)


def test_a_failed_build_publishes_nothing(live: Target, tmp_path: Path) -> None:
    before = published(live)
    july = next(p for p in real_workbooks() if p.name.endswith("2025-26-July.xlsx"))
    revised = tmp_path / "data" / july.name
    revised.parent.mkdir()
    revise_july(july, revised, delta=7, consistent=False)  # England no longer adds up: an error test fails
    run = live.run("loader", "release", "--no-fetch", "--data-dir", str(revised.parent), "--publish", check=False)
    assert run.returncode == 1
    assert "FAIL  assert_community_waits__national_equals_sum_of_providers" in run.stdout
    assert "publish: skipped, the build failed; the live table is unchanged" in run.stdout
    assert published(live) == before
    # and on its own, publish refuses after the failed build
    alone = live.run("loader", "publish", check=False)
    assert alone.returncode == 2
    assert "publish: the last dbt build (" in alone.stderr and ") failed (" in alone.stderr
    assert published(live) == before
