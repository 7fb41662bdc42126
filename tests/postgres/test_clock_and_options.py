"""The database clock, URL options, schema isolation, and the lazy psycopg import."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import pytest

from socialkit.errors import ConfigError
from socialkit.schedule.records import PublicationQuery
from socialkit.schedule.stores import store_from_url
from socialkit.schedule.stores._postgres_url import parse_postgres_url
from tests.schedule.store_contract import LEASE, POST, T0, pub

FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
ANCIENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def test_url_options_and_defaults() -> None:
    options = parse_postgres_url("postgresql://ann:s3cret@db.example:5433/app?sslmode=require")
    assert (options.schema, options.clock, options.pool_min, options.pool_max) == (
        "socialkit",
        "database",
        1,
        4,
    )
    assert options.listen is True
    assert options.conninfo == "postgresql://ann:s3cret@db.example:5433/app?sslmode=require"
    assert "s3cret" not in options.display
    assert options.display.startswith("postgresql://ann:***@db.example:5433/app")
    custom = parse_postgres_url(
        "postgres://db/app?schema=brand_a&clock=caller&pool_max=8&listen=off&liveness=2"
    )
    assert (custom.schema, custom.clock, custom.pool_max, custom.listen, custom.liveness) == (
        "brand_a",
        "caller",
        8,
        False,
        2.0,
    )
    assert custom.conninfo == "postgresql://db/app"
    assert custom.channel == "socialkit_brand_a"
    assert custom.lock_space != options.lock_space  # schemas never share advisory locks


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("schema=Bad-Name", "schema must be"),
        ("clock=worker", "clock must be database or caller"),
        ("pool_min=4&pool_max=2", r"pool_max \(2\) must be at least pool_min \(4\)"),
        ("listen=maybe", "listen must be true or false"),
        ("liveness=abc", "liveness must be a number"),
    ],
)
def test_bad_options_name_the_option_and_hide_the_password(query: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_postgres_url(f"postgresql://ann:s3cret@db/app?{query}&password=p4ss")
    assert "s3cret" not in str(caught.value)
    assert "p4ss" not in str(caught.value)


def test_store_from_url_picks_postgres_without_importing_psycopg() -> None:
    code = (
        "import sys\n"
        "from socialkit.schedule.stores import store_from_url\n"
        "store = store_from_url('postgresql://u@localhost/db?schema=x')\n"
        "assert type(store).__name__ == 'PostgresStore', store\n"
        "assert 'psycopg' not in sys.modules, 'psycopg was imported before open()'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.postgres
async def test_database_clock_ignores_the_callers_now(open_store: Any) -> None:
    store = await open_store()  # clock=database is the default
    assert store.options.clock == "database"
    real = dt.datetime.now(dt.UTC)
    await store.put_revision(POST, now=ANCIENT)
    due_now = pub("a", due=real - dt.timedelta(minutes=1))
    due_later = pub("b", due=real + dt.timedelta(hours=1))
    await store.add([due_now, due_later], now=ANCIENT)
    # A worker whose clock says 2100 still gets only what the database says is due.
    claims = await store.claim("w1", now=FAR_FUTURE, limit=10, lease=LEASE)
    assert [c.id for c in claims] == [due_now.id]
    lease_end = claims[0].lease_expires_at
    assert abs((lease_end - (real + LEASE)).total_seconds()) < 30
    # …and one whose clock says 2000 still sees its lease expire on the database's clock.
    p = await store.get(due_now.id, history=True)
    assert abs((p.created_at - real).total_seconds()) < 30
    assert all(abs((e.at - real).total_seconds()) < 30 for e in p.history)
    # ``now`` may be left out altogether.
    assert await store.claim("w2", limit=10, lease=LEASE) == []
    due = await store.next_due()
    assert due is not None
    assert abs((due - (real + LEASE)).total_seconds()) < 30  # w1's lease expiry


@pytest.mark.postgres
async def test_schemas_keep_applications_apart(open_store: Any, schema: str) -> None:
    from tests.postgres.support import fresh_schema

    with fresh_schema("sk_other") as other_schema:
        a = await open_store(clock="caller")
        b = await open_store(schema_name=other_schema, clock="caller")
        await a.put_revision(POST, now=T0)
        await a.add([pub("acme")], now=T0)
        assert (await b.list_publications(PublicationQuery())).items == ()
        assert await b.claim("w", now=T0, limit=5, lease=LEASE) == []
        assert len(await a.claim("w", now=T0, limit=5, lease=LEASE)) == 1
        await b.close()


def test_store_from_url_keeps_the_options() -> None:
    store: Any = store_from_url("postgresql://u@h/db?schema=team_b&clock=caller")
    assert store.schema_name == "team_b"
    assert store.url == "postgresql://u@h/db?schema=team_b&clock=caller"
