"""Choosing a store from its URL, and the schedule package's public names."""

from __future__ import annotations

from urllib.parse import quote

import pytest

import socialkit.schedule
from socialkit.errors import ConfigError
from socialkit.schedule.stores import register_store, store_from_url
from socialkit.schedule.stores.memory import MemoryStore
from socialkit.schedule.stores.sqlite import SqliteStore


def test_schemes_pick_the_implementation() -> None:
    assert isinstance(store_from_url("memory://"), MemoryStore)
    assert store_from_url("memory://") is not store_from_url("memory://")
    store = store_from_url("sqlite:///some/where.db?synchronous=FULL")
    assert isinstance(store, SqliteStore)
    assert store.synchronous == "FULL"


def test_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown store URL 'mongodb://x'.*sqlite://"):
        store_from_url("mongodb://x?password=hidden")
    with pytest.raises(ConfigError, match="unknown store URL") as caught:
        store_from_url("mysql://ann:s3cret@db.example/x")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ConfigError, match="unknown store URL"):
        store_from_url("just-a-path.db")


def test_register_a_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    # The registry is the process's: the scheme is gone again after the test (a later
    # test lists the known schemes).
    from socialkit.schedule import stores

    monkeypatch.setattr(stores, "_SCHEMES", dict(stores._SCHEMES))
    made: list[str] = []

    def factory(url: str) -> MemoryStore:
        made.append(url)
        return MemoryStore(url)

    register_store("test-scheme", factory)
    assert isinstance(store_from_url("test-scheme://a"), MemoryStore)
    assert made == ["test-scheme://a"]


def test_schedule_exports_are_sorted_and_resolve() -> None:
    names = list(socialkit.schedule.__all__)
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert getattr(socialkit.schedule, name) is not None, name
    with pytest.raises(AttributeError, match="Nothing"):
        socialkit.schedule.Nothing  # noqa: B018


async def test_postgres_connection_errors_are_one_line_without_the_password() -> None:
    pytest.importorskip("psycopg")
    from socialkit.errors import StoreError
    from socialkit.schedule.stores.postgres import PostgresStore

    # Port 1 on loopback: refused at once, with libpq's hint on a line of its own.
    store = PostgresStore("postgresql://ann:s3cret@127.0.0.1:1/social?schema=team_a")
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = str(caught.value)
    assert message.startswith(
        "cannot connect to the PostgreSQL store postgresql://ann:***@127.0.0.1:1/social"
        "?schema=team_a: "
    )
    assert "\n" not in message
    assert "s3cret" not in message


async def test_a_sqlite_store_that_cannot_be_opened_names_its_path(tmp_path) -> None:
    from socialkit.errors import StoreError

    with pytest.raises(ConfigError, match=r"is a directory; a store is a file.*socialkit\.db"):
        await SqliteStore(f"sqlite:///{tmp_path}").open()
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(StoreError, match=r"cannot open the SQLite store '.*notes\.db'"):
        await SqliteStore(f"sqlite:///{not_sqlite}").open()
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(StoreError, match="cannot create the directory"):
        await SqliteStore(f"sqlite:///{blocked}/sub/store.db").open()


async def test_a_misspelled_postgres_option_is_named_with_the_known_ones() -> None:
    pytest.importorskip("psycopg")
    from socialkit.schedule.stores.postgres import PostgresStore

    with pytest.raises(ConfigError) as caught:  # before any connection is tried
        await PostgresStore("postgresql://ann:s3cret@127.0.0.1:1/social?shema=team_a").open()
    message = str(caught.value)
    assert message.startswith('invalid URI query parameter: "shema" in postgresql://ann:***@')
    assert "socialkit's own options are clock, listen, liveness, pool_max, pool_min, schema" in (
        message
    )
    assert "s3cret" not in message
    from socialkit.schedule.stores._postgres_url import check_libpq_options, parse_postgres_url

    options = parse_postgres_url("postgresql://ann@127.0.0.1/social?sslmode=disable&schema=a")
    check_libpq_options(options)  # libpq's own option passes
    assert (options.schema, "sslmode=disable" in options.conninfo) == ("a", True)


async def test_a_password_libpq_quotes_is_never_shown() -> None:
    """libpq quotes the part of a URL it cannot read, here a password with a bare '%'."""
    pytest.importorskip("psycopg")
    from socialkit.schedule.stores.postgres import PostgresStore

    store = PostgresStore("postgresql://app:Summer50%off@127.0.0.1:1/social")
    with pytest.raises(ConfigError) as caught:
        await store.open()
    message = str(caught.value)
    assert "Summer50" not in message
    assert "Summer50" not in repr(store.options)
    assert message.endswith("a '%' in the user name, password or an option must be written %25")


def test_a_plus_in_a_postgres_url_query_stays_a_plus() -> None:
    """libpq reads '+' in a URL as '+' (a generated password 'a+b/c=' logs in as such)."""
    psycopg = pytest.importorskip("psycopg")
    from socialkit.schedule.stores._postgres_url import parse_postgres_url

    url = "postgresql://u@h/db?password=a+b&application_name=my%20app&schema=s"
    options = parse_postgres_url(url)
    passed = psycopg.conninfo.conninfo_to_dict(options.conninfo)
    assert (passed["password"], passed["application_name"]) == ("a+b", "my app")
    assert psycopg.conninfo.conninfo_to_dict("postgresql://u@h/db?password=a+b")["password"] == (
        "a+b"
    )
    assert "a+b" not in options.display
    assert options.scrub("bad password a+b") == "bad password ***"


@pytest.mark.parametrize(
    ("url", "conninfo", "display"),
    [
        ("postgresql:///social", "postgresql:///social", "postgresql:///social"),
        (
            "postgresql://ann:s3cret@/social?host=/run/pg&schema=a",
            "postgresql://ann:s3cret@/social?host=%2Frun%2Fpg",
            "postgresql://ann:***@/social?host=%2Frun%2Fpg&schema=a",
        ),
    ],
)
def test_a_postgres_url_without_a_host_keeps_its_slashes(
    url: str, conninfo: str, display: str
) -> None:
    """libpq's Unix-socket form: ``postgresql:///dbname`` (urlunsplit would drop the //)."""
    psycopg = pytest.importorskip("psycopg")
    from socialkit.schedule.stores._postgres_url import check_libpq_options, parse_postgres_url

    options = parse_postgres_url(url)
    assert (options.conninfo, options.display) == (conninfo, display)
    check_libpq_options(options)
    assert psycopg.conninfo.conninfo_to_dict(options.conninfo)["dbname"] == "social"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ann:s3cret@127.0.0.1:1/social?shema=team_a",
        "postgresql://ann:s3cret%zz@127.0.0.1:1/social",
    ],
)
async def test_a_url_libpq_cannot_read_is_a_config_error_on_every_connection(url: str) -> None:
    """``connection()`` (list, show, store status, store copy) as well as ``open()``."""
    pytest.importorskip("psycopg")
    from socialkit.schedule.stores.postgres import PostgresStore

    with pytest.raises(ConfigError) as caught:
        await PostgresStore(url).connection()
    assert "s3cret" not in str(caught.value)
    assert "postgresql://ann:***@127.0.0.1:1/social" in str(caught.value)


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("sslmode=bogus", 'invalid sslmode value: "bogus"'),
        ("connect_timeout=abc", "bad value for connect_timeout: 'abc'"),
        ("target_session_attrs=primaryy", 'invalid target_session_attrs value: "primaryy"'),
        ("keepalives=abc", 'invalid integer value "abc" for connection option "keepalives"'),
        ("port=abc", 'invalid integer value "abc" for connection option "port"'),
        ("hostaddr=db.example", 'could not parse network address "db.example"'),
    ],
)
async def test_an_option_value_libpq_refuses_is_a_config_error_as_any_other(
    option: str, said: str
) -> None:
    """libpq checks most values only when it connects, as a failed connection (psycopg's
    OperationalError); ``connect_timeout``, which psycopg reads itself, was already a
    ConfigError. Both are mistakes in the URL, and neither names the password."""
    pytest.importorskip("psycopg")
    from socialkit.schedule.stores.postgres import PostgresStore

    for store in (
        PostgresStore(f"postgresql://ann:s3cret@127.0.0.1:1/social?{option}"),
        PostgresStore(f"postgresql://ann@127.0.0.1:1/social?{option}&password=s3cret"),
    ):
        for attempt in (store.connection, store.open):
            with pytest.raises(ConfigError) as caught:
                await attempt()
            message = str(caught.value)
            assert message.startswith(f"the PostgreSQL store URL {store.url} cannot be used: ")
            assert said in message
            assert "s3cret" not in message


async def test_a_server_that_cannot_be_reached_is_still_a_store_error() -> None:
    pytest.importorskip("psycopg")
    from socialkit.errors import StoreError
    from socialkit.schedule.stores.postgres import PostgresStore

    store = PostgresStore("postgresql://ann:s3cret@127.0.0.1:1/social?sslmode=disable")
    with pytest.raises(StoreError, match="cannot connect to the PostgreSQL store") as caught:
        await store.connection()
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("password", ["s3cr#etPW", "s3cr?etPW", "s3cr/etPW", "s3cr@etPW"])
def test_a_password_with_an_unencoded_url_character_is_refused_unshown(password: str) -> None:
    """socialkit cuts the host part at '#', '?' or '/' and takes the last '@'; libpq takes
    the first '@' and cuts only at '/'. Read both ways, the password (or a piece of it)
    was shown in store.url and repr, or printed by libpq as a host or database name."""
    pytest.importorskip("psycopg")
    from socialkit.schedule.stores import mask_url
    from socialkit.schedule.stores.postgres import PostgresStore

    url = f"postgresql://postgres:{password}@127.0.0.1:1/social?schema=team_a"
    with pytest.raises(ConfigError, match="must be percent-encoded") as caught:
        PostgresStore(url)
    message = str(caught.value)
    assert "etPW" not in message
    assert "s3cr" not in message
    assert "postgres:" not in message  # the URL is not shown
    assert "s3cr" not in mask_url(url)
    assert "etPW" not in mask_url(url)
    with pytest.raises(ConfigError) as unknown:
        store_from_url(url.replace("postgresql", "mysql", 1))
    assert "s3cr" not in str(unknown.value)
    assert "etPW" not in str(unknown.value)
    encoded = PostgresStore(url.replace(password, quote(password, safe="")))
    assert encoded.url == "postgresql://postgres:***@127.0.0.1:1/social?schema=team_a"
    assert "etPW" not in repr(encoded)
    assert encoded.options.scrub(f"no login for {password}") == "no login for ***"


def test_a_url_libpq_reads_otherwise_than_socialkit_is_refused() -> None:
    pytest.importorskip("psycopg")
    from socialkit.schedule.stores._postgres_url import parse_postgres_url

    for url in (
        "postgresql://h?user=a@b",  # libpq: user 'h?user=a', host 'b'
        "postgresql://u@h/db#frag",  # a fragment: socialkit would drop what follows
        "postgresql://u@h/db?application_name=a#b&schema=s",
    ):
        with pytest.raises(ConfigError, match="must be percent-encoded"):
            parse_postgres_url(url)
    # an '@' in an option after the path, a ':' in the password: read alike
    options = parse_postgres_url("postgresql://u:a:b@h/db?application_name=a@b&schema=s")
    assert (options.schema, options.display) == (
        "s",
        "postgresql://u:***@h/db?application_name=a%40b&schema=s",
    )
    assert options.scrub("password a:b refused") == "password *** refused"
