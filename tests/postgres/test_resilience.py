"""The PostgreSQL store when the network or the server lets it down, and store URLs in
messages.

* A ``LISTEN`` connection that dies — ended by the server, or dropped silently on the
  way — is noticed and opened again, and the idle worker hears other workers again.
  Every store connection asks for TCP keepalives (a silently dropped connection would
  otherwise look alive for the system's 2 h 11 min), and gives up on data left
  unacknowledged for 60 s, unless the URL sets its own. A liveness beat that keeps
  failing warns once, and once when it succeeds again.
* A pool that cannot get its connections at ``open()`` is socialkit's ``StoreError``
  naming the host and port (never the password), not psycopg_pool's ``PoolTimeout``; and
  the pool is closed, its connections and tasks gone.
* ``mask_url`` shows no password, and does not take an ``@`` in a path or a query for
  the end of one.

The tests of a server skip, saying why, without ``SOCIALKIT_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialkit.errors import ConfigError, StoreError
from socialkit.schedule.stores import mask_url, store_from_url
from tests.postgres.support import (
    POSTGRES_URL,
    SKIP_REASON,
    needs_postgres,
)

# -- mask_url -----------------------------------------------------------------------------

MASKED = [
    # an '@' (or ':') in a path or a query is neither a password nor the end of one
    ("sqlite:///tmp/a.db?x=a@b", "sqlite:///tmp/a.db"),
    ("sqlite:///tmp/a.db?x=a:b@c", "sqlite:///tmp/a.db"),
    ("sqlite:///tmp/a@b.db", "sqlite:///tmp/a@b.db"),
    ("sqlite:///C:/data@home/a.db", "sqlite:///C:/data@home/a.db"),
    ("sqlite:///C:/data@home/a.db?x=1", "sqlite:///C:/data@home/a.db"),
    ("memory://?note=a@b", "memory://"),
    ("memory://", "memory://"),
    ("mysql://db.example/x?password=hunter2&note=a:b@c", "mysql://db.example/x"),
    ("mysql://ann@db.example/x", "mysql://ann@db.example/x"),
    # a password, however written
    ("mysql://ann:hunter2@db.example/x", "mysql://ann:***@db.example/x"),
    ("mysql://ann:hunter2@db.example:3306/x?ssl=1#top", "mysql://ann:***@db.example:3306/x"),
    ("mysql://ann:hun@ter2@db.example/x", "mysql://ann:***@db.example/x"),
    ("mysql://ann:hun/ter2@db.example/x", "mysql://ann:***@db.example/x"),
    ("mysql://ann:hun?ter2@db.example/x", "mysql://ann:***@..."),
    ("mysql://ann:hun#ter2@db.example/x", "mysql://ann:***@..."),
    # reads both ways (a port and a query, or a password holding '/' and '?'): masked
    ("mysql://db.example:3306/x?password=hun@ter2", "mysql://db.example:***@..."),
    ("mysql://ann:hunter2@db.example/x?note=a@b", "mysql://ann:***@..."),
    # no '://' (a typo): from the first ':' to the last '@'
    ("postgres:/ann:hunter2@db.example/x", "postgres:***@db.example/x"),
    ("ann:hunter2@db.example/x", "ann:***@db.example/x"),
    ("just-a-path.db?x=1", "just-a-path.db"),
]


@pytest.mark.parametrize(("url", "shown"), MASKED)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert "hunter2" not in mask_url(url)
    assert "ter2" not in mask_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgres:/ann:hunter2@db.example/x",  # one '/': no '://', an unknown scheme
        "mysql://db.example/x?password=hunter2&note=a:b@c",
        "mysql://db.example:3306/x?password=hun@ter2",
    ],
)
def test_an_unknown_store_url_is_named_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError, match="unknown store URL") as caught:
        store_from_url(url)
    assert "hunter2" not in str(caught.value)
    assert "ter2" not in str(caught.value)


_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_", min_size=1, max_size=8)
# The password is the only upper-case text: none may show.
_PASSWORD = st.text(alphabet="ABCXYZ019@:/?#%&=+ ", min_size=1, max_size=12).filter(
    lambda p: any(c.isupper() for c in p)
)
_PATH = st.text(alphabet="abcxyz/@:.-_~", max_size=12).map(lambda p: "/" + p)
_VALUE = st.text(alphabet="abcxyz@:/=?#", max_size=8)
_SECRET_VALUE = st.text(alphabet="ABCXYZ@:/=?#", max_size=8)
_QUERY = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["note", "sslmode", "x"]), _VALUE),
        st.tuples(st.sampled_from(["password", "sslpassword"]), _SECRET_VALUE),
    ),
    max_size=3,
).map(lambda items: "&".join(f"{k}={v}" for k, v in items))
_SCHEME = st.sampled_from(["postgresql", "postgres", "sqlite", "memory", "mysql", "redis"])


@given(
    scheme=_SCHEME,
    user=_NAME,
    password=_PASSWORD,
    host=_NAME,
    port=st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")),
    path=_PATH,
    query=_QUERY,
    sep=st.sampled_from(["://", ":/", ":"]),
)
@settings(max_examples=400, deadline=None)
def test_mask_url_never_shows_a_password(
    scheme: str, user: str, password: str, host: str, port: str, path: str, query: str, sep: str
) -> None:
    url = f"{scheme}{sep}{user}:{password}@{host}{port}{path}" + (f"?{query}" if query else "")
    shown = mask_url(url)
    assert not any(c.isupper() for c in shown), (url, shown)


@given(scheme=_SCHEME, host=_NAME, path=_PATH, query=_QUERY)
@settings(max_examples=200, deadline=None)
def test_mask_url_shows_a_url_without_password_as_written(
    scheme: str, host: str, path: str, query: str
) -> None:
    """No user name nor port: an '@' or ':' in the path or query changes nothing."""
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    assert mask_url(url) == f"{scheme}://{host}{path}"
    assert not any(c.isupper() for c in mask_url(url))


def test_a_postgres_store_shows_no_password() -> None:
    pytest.importorskip("psycopg")
    from socialkit.schedule.stores.postgres import PostgresStore

    url = "postgresql://ann:hunter2@127.0.0.1:1/social?sslpassword=hunter3&application_name=a@b"
    store = PostgresStore(url)
    for text in (store.url, repr(store), str(store.options)):
        assert "hunter" not in text, text


# -- the server ---------------------------------------------------------------------------


def _postgres(test: Any) -> Any:
    for mark in needs_postgres:
        test = mark(test)
    return test


def _keepalives(conn: Any) -> tuple[int, int, int, int]:
    """SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT of a connection's socket."""
    sock = socket.fromfd(conn.pgconn.socket, socket.AF_INET, socket.SOCK_STREAM)
    try:
        return (
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        )
    finally:
        sock.close()  # a duplicate: the connection's own socket stays open


def _over_tcp() -> bool:
    from psycopg.conninfo import conninfo_to_dict

    host = str(conninfo_to_dict(POSTGRES_URL).get("host") or "")
    return bool(host) and not host.startswith("/")


@_postgres
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, (1, 30, 10, 3)),  # socialkit's: a dead connection noticed within a minute
        ({"keepalives_idle": "7", "keepalives_count": "5"}, (1, 7, 10, 5)),  # the URL's win
    ],
)
async def test_store_connections_use_tcp_keepalives(
    open_store: Any, options: dict[str, str], expected: tuple[int, ...]
) -> None:
    """Without keepalive settings, a connection dropped silently stays 'established' for
    the system's tcp_keepalive_time (2 h by default), and the idle LISTEN connection,
    which sends nothing, hears nothing all that while."""
    if not hasattr(socket, "TCP_KEEPIDLE") or not _over_tcp():
        pytest.skip("needs Linux TCP keepalive options and a server reached over TCP")
    store = await open_store(**options)
    listen = await store.connection()  # how the listener connects
    try:
        assert _keepalives(listen) == expected
    finally:
        await listen.close()
    async with store._pool.connection() as pooled:
        assert _keepalives(pooled) == expected


@_postgres
async def test_keepalives_0_in_the_url_turns_them_off(open_store: Any) -> None:
    if not hasattr(socket, "TCP_KEEPIDLE") or not _over_tcp():
        pytest.skip("needs Linux TCP keepalive options and a server reached over TCP")
    store = await open_store(keepalives="0")
    conn = await store.connection()
    try:
        assert _keepalives(conn)[0] == 0
    finally:
        await conn.close()


def _unix_socket() -> tuple[str, str, str, str] | None:
    """The test server's Unix socket directory, port, database and user, when it has one."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT split_part(current_setting('unix_socket_directories'), ',', 1), "
            "current_setting('port'), current_database(), current_user"
        ).fetchone()
    if row is None or not row[0] or not Path(row[0], f".s.PGSQL.{row[1]}").exists():
        return None
    return (row[0].strip(), row[1], row[2], row[3])


@_postgres
@pytest.mark.slow
def test_a_listen_connection_dropped_silently_is_noticed_and_heard_again() -> None:
    """No FIN, no RST: the loopback of a network namespace of its own goes down under the
    LISTEN connection (tests/postgres/silent_drop.py), and comes back once the store
    noticed; a publication another store adds afterwards wakes the idle one. Short
    keepalives (from the URL) so the test takes seconds."""
    if not POSTGRES_URL:
        pytest.skip(SKIP_REASON)
    if sys.platform != "linux" or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs Linux's unshare and ip to drop packets in a network namespace")
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a network namespace here (needs root or CAP_SYS_ADMIN)")
    found = _unix_socket()
    if found is None:
        pytest.skip("the test server has no Unix socket the namespace could reach it by")
    root = Path(__file__).resolve().parents[2]  # the checkout
    keepalives = ["keepalives_idle=1", "keepalives_interval=1", "keepalives_count=2"]
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.postgres.silent_drop", *found, *keepalives],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "src")])},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("heard")
    assert "LISTEN connection lost" in run.stderr


# -- a pool that cannot get its connections -----------------------------------------------


async def test_an_unreachable_server_is_a_store_error_for_the_scheduler() -> None:
    pytest.importorskip("psycopg")
    from socialkit.schedule.scheduler import AsyncScheduler

    before = set(asyncio.all_tasks())
    scheduler = AsyncScheduler("postgresql://ann:hunter2@127.0.0.1:1/social?connect_timeout=2")
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:1\b") as caught:
        await scheduler.open()
    assert "hunter2" not in str(caught.value)
    assert set(asyncio.all_tasks()) == before


@pytest.fixture
def limited_role(schema: str) -> Iterator[str]:
    """The test server's URL for a role of its own that may hold one connection only."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    role = f"sk_one_{uuid.uuid4().hex[:8]}"
    password = f"Pw{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        try:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} CONNECTION LIMIT 1").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        except psycopg.Error as exc:
            pytest.skip(f"the test server's user cannot create a role: {exc}")
        conn.execute(
            sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
    params = conninfo_to_dict(POSTGRES_URL)
    host, port = params.get("host") or "127.0.0.1", params.get("port") or "5432"
    try:
        yield f"postgresql://{role}:{password}@{host}:{port}/{database}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def _connections_of(role: str) -> int:
    import psycopg

    async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _no_connections_of(role: str) -> bool:
    for _ in range(200):  # 10 s at most: a closed backend leaves pg_stat_activity soon
        if await _connections_of(role) == 0:
            return True
        await asyncio.sleep(0.05)
    return False


@_postgres
async def test_a_pool_that_cannot_fill_at_open_is_a_store_error(
    schema: str, limited_role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first connection (the migration's) works; the pool's two cannot both open (one
    connection for the role): psycopg_pool's PoolTimeout became socialkit's StoreError,
    naming host and port and the server's reason, not the password."""
    import socialkit.schedule.stores.postgres as postgres

    monkeypatch.setattr(postgres, "_POOL_OPEN_TIMEOUT", 1.0)
    before = set(asyncio.all_tasks())
    store = postgres.PostgresStore(f"{limited_role}?schema={schema}&pool_min=2&pool_max=2")
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = str(caught.value)
    role, _, rest = limited_role.partition("://")[2].partition(":")
    password, _, where = rest.partition("@")
    host_port = where.partition("/")[0]
    assert message.startswith(
        f"cannot open the PostgreSQL store postgresql://{role}:***@{host_port}/"
    )
    assert "pool_min=2 connections within 1 s" in message
    assert "too many connections" in message
    assert password not in message
    # Nothing left behind: no pool, no task of its, no connection on the server.
    assert store._pool is None
    assert set(asyncio.all_tasks()) == before
    assert await _no_connections_of(role)


@_postgres
async def test_an_open_cancelled_while_the_pool_fills_closes_the_pool(
    schema: str, limited_role: str
) -> None:
    """A caller that gives up on open() (its own timeout, a Ctrl-C) leaves no pool behind
    still trying to connect."""
    from socialkit.schedule.stores.postgres import PostgresStore

    role = limited_role.partition("://")[2].partition(":")[0]
    before = set(asyncio.all_tasks())
    store = PostgresStore(f"{limited_role}?schema={schema}&pool_min=2&pool_max=2")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(store.open(), 2)
    assert store._pool is None
    for _ in range(100):  # tasks ending after their cancellation: bounded
        if set(asyncio.all_tasks()) == before:
            break
        await asyncio.sleep(0.02)
    assert set(asyncio.all_tasks()) == before
    assert await _no_connections_of(role)


@_postgres
@pytest.mark.parametrize(("options", "expected"), [({}, "10"), ({"connect_timeout": "3"}, "3")])
async def test_store_connections_give_up_connecting_after_a_timeout(
    open_store: Any, options: dict[str, str], expected: str
) -> None:
    """libpq waits for ever to connect by default: a host that drops packets held open()
    and every listener reconnect for the system's SYN retries (about two minutes)."""
    store = await open_store(**options)
    listen = await store.connection()  # how the listener connects
    try:
        assert listen.info.get_parameters().get("connect_timeout") == expected
    finally:
        await listen.close()
    async with store._pool.connection() as pooled:
        assert pooled.info.get_parameters().get("connect_timeout") == expected


def _user_timeout(conn: Any) -> int:
    """TCP_USER_TIMEOUT of a connection's socket (milliseconds; 0 is the system's)."""
    sock = socket.fromfd(conn.pgconn.socket, socket.AF_INET, socket.SOCK_STREAM)
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
    finally:
        sock.close()  # a duplicate: the connection's own socket stays open


@_postgres
@pytest.mark.parametrize(
    ("options", "expected"), [({}, 60000), ({"tcp_user_timeout": "5000"}, 5000)]
)
async def test_store_connections_give_up_on_data_left_unacknowledged(
    open_store: Any, options: dict[str, str], expected: int
) -> None:
    """Keepalives probe only an idle connection: a statement sent just as the server's
    host vanished waited for the system's retransmissions (about 15 minutes) without a
    user timeout, holding its claim or commit that long."""
    if not hasattr(socket, "TCP_USER_TIMEOUT") or not _over_tcp():
        pytest.skip("needs Linux's TCP_USER_TIMEOUT and a server reached over TCP")
    store = await open_store(**options)
    listen = await store.connection()  # how the listener connects
    try:
        assert _user_timeout(listen) == expected
    finally:
        await listen.close()
    async with store._pool.connection() as pooled:
        assert _user_timeout(pooled) == expected


async def test_a_liveness_beat_failing_for_a_while_warns_once_and_once_when_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database down for an hour printed a warning every beat (360 of them); now one
    when beats start failing and one when they are written again."""
    from socialkit.schedule.stores._postgres_listen import Liveness

    outcomes = [OSError("server closed the connection")] * 5 + [None, None]
    done = asyncio.Event()

    async def beat() -> None:
        outcome = outcomes.pop(0)
        if not outcomes:
            done.set()
        if outcome is not None:
            raise outcome

    liveness = Liveness(pool=None, every=0.001, code_version=1, check=lambda *_: None)  # type: ignore[arg-type]
    liveness.beat = beat  # type: ignore[method-assign]
    caplog.set_level("DEBUG", logger="socialkit.store")
    task = asyncio.create_task(liveness._run())
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("liveness beat failed (server closed the connection)")
    assert warnings[1] == "liveness beats written again"
    debug = [
        r for r in caplog.records if r.levelname == "DEBUG" and "still failing" in r.getMessage()
    ]
    assert len(debug) == 4
