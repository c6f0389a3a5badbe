"""Publishing community_health_data into the team's live trust_metrics table (PostgreSQL).

One warehouse for the module, built by a least-privileged role as production would run
it: the role owns the project's schemas and may only read the live table and update its
two columns. The live table (tests/pytest/live_table.py) is the team's, made by the admin
from the extract in the dashboard's nested shape, with the extract's real defects (RVR
twice in April-July 2025). The tests run in file order: the failed build comes last.
"""

from __future__ import annotations

import os
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
from tests.pytest.live_table import create_live_table
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
