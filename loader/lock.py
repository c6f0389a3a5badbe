"""Locks that keep two writers apart: one build (or release, publish, landing) at a time.

Two cron entries, or a manual run during the scheduled one, must not interleave: the
second is refused with one line saying who holds the lock. On DuckDB the lock is a
file beside the warehouse (``warehouse.duckdb.lock``, held with ``flock``); on
PostgreSQL a session-level advisory lock, so it covers every machine that writes to the
same database. Both are released by the operating system or the server if the holder
dies, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loader.errors import LoaderError
from loader.profiles import Connection

# pg_try_advisory_lock takes a bigint: a fixed one derived from the project's name.
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"chs_waiting_lists.release").digest()[:8], "big", signed=True)


WRITERS = "another build, release, publish or landing"


@contextmanager
def file_lock(path: Path, where: str, who: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed); refuse if another holds it.

    The refusal reads "<where>: <who> is running (pid N, since T); ...".
    """
    try:
        handle = path.open("a+")
    except OSError as exc:
        raise LoaderError(f"{path}: cannot create the lock file ({exc.strerror})") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LoaderError(f"{where}: {who} is running ({holder}); try again when it has finished") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def warehouse_lock(connection: Connection) -> Iterator[None]:
    """Hold the warehouse's writer lock for the block: one build, release, publish or landing at a time."""
    if connection.type == "duckdb":
        path = Path(str(connection.settings["path"]))
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(path.with_name(f"{path.name}.lock"), str(path), WRITERS):
            yield
        return
    with _advisory_lock(connection.settings):
        yield


@contextmanager
def _advisory_lock(settings: dict[str, Any]) -> Iterator[None]:
    import psycopg

    try:
        con = psycopg.connect(
            host=settings.get("host"),
            port=settings.get("port"),
            user=settings.get("user"),
            password=settings.get("password") or None,
            dbname=settings.get("dbname"),
            sslmode=settings.get("sslmode", "prefer"),
            connect_timeout=10,
            autocommit=True,
            application_name="chs-waiting-lists release lock",
        )
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoaderError(f"cannot connect to PostgreSQL: {first_line}") from exc
    with con:
        acquired = con.execute("select pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()
        if not acquired or not acquired[0]:
            holder = con.execute(
                "select a.pid, a.client_addr, a.backend_start from pg_locks l "
                "join pg_stat_activity a on a.pid = l.pid "
                "where l.locktype = 'advisory' and l.granted and l.objsubid = 1 "
                "and ((l.classid::bigint << 32) | l.objid::bigint) = %s",
                (ADVISORY_LOCK_KEY,),
            ).fetchone()
            detail = f"server pid {holder[0]}, connected {holder[2]:%Y-%m-%d %H:%M:%S %Z}" if holder else "its holder"
            raise LoaderError(
                f"PostgreSQL database {settings.get('dbname')}: {WRITERS} is running ({detail}); "
                "try again when it has finished"
            )
        try:
            yield
        finally:
            con.execute("select pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
