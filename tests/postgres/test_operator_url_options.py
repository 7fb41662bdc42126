"""libpq's own URL options reach the server: ``options=-c statement_timeout=…`` (the
operator's guard against a runaway statement) and values with spaces."""

from __future__ import annotations

from typing import Any

import pytest

from socialkit.errors import StoreError
from socialkit.schedule.stores._postgres_url import parse_postgres_url
from tests.postgres.support import store_url

pytestmark = pytest.mark.postgres


async def _show(conn: Any, *names: str) -> list[str]:
    found = []
    for name in names:
        cur = await conn.execute(f"SHOW {name}")
        row = await cur.fetchone()
        found.append(str(row[0]))
    return found


async def test_libpq_options_in_the_url_reach_every_connection(
    open_store: Any, schema: str
) -> None:
    store = await open_store(
        options="-c%20statement_timeout%3D1234%20-c%20search_path%3Dpublic",
        application_name="brand%20a%20worker",
    )
    names = ("statement_timeout", "search_path", "application_name", "timezone")
    expected = ["1234ms", schema, "brand a worker", "UTC"]  # the store's schema wins
    assert await store._run(lambda c: _show(c, *names), transaction=False) == expected
    conn = await store.connection()  # LISTEN's and maintenance's connections
    try:
        assert await _show(conn, *names) == expected
    finally:
        await conn.close()
    # The statement timeout holds, and its error is one line naming the store.
    with pytest.raises(StoreError, match="canceling statement due to statement timeout") as raised:
        await store._run(lambda c: c.execute("SELECT pg_sleep(5)"))
    assert "\n" not in str(raised.value)


def test_spaces_are_sent_and_shown_as_percent_20() -> None:
    options = parse_postgres_url(store_url("s", application_name="a%20b"))
    assert "application_name=a%20b" in options.conninfo
    assert "application_name=a%20b" in options.display


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ("-c%20no_such_setting%3D1", 'unrecognized configuration parameter "no_such_setting"'),
        ("-c%20statement_timeout%3Dsoon", 'invalid value for parameter "statement_timeout"'),
    ],
)
async def test_a_setting_the_server_refuses_at_login_is_a_config_error(
    schema: str, options: str, said: str
) -> None:
    """The server refuses the URL's ``options=-c ...`` at login: a mistake in the URL
    (a ConfigError, as libpq's own refused values are), not a server that is down."""
    from socialkit.errors import ConfigError
    from socialkit.schedule.stores.postgres import PostgresStore

    store = PostgresStore(store_url(schema, options=options))
    for attempt in (store.connection, store.open):
        with pytest.raises(ConfigError, match="cannot be used: ") as caught:
            await attempt()
        assert said in str(caught.value)
        assert "\n" not in str(caught.value)
