"""Reading a ``postgresql://`` store URL: socialkit's own options, and what goes to libpq.

socialkit's options live in the query string next to libpq's (``sslmode``,
``connect_timeout``, ``application_name``, …), which pass through unchanged:

* ``schema`` — the PostgreSQL schema the store's tables live in (default ``socialkit``),
  so several applications can share one database.
* ``clock`` — ``database`` (default): leases, due-ness and event times come from the
  database's clock (``statement_timestamp()``), and the ``now`` a caller passes is ignored;
  ``caller``: the ``now`` each call passes is used (tests with injected clocks).
* ``pool_min`` / ``pool_max`` — connections in this process's pool (default 1 / 4).
* ``listen`` — ``true`` (default) or ``false``: hear other workers' changes through
  ``LISTEN``; polling stays the fallback either way.
* ``liveness`` — seconds between a worker's liveness beats (default 10).
"""

from __future__ import annotations

import re
import zlib
from typing import Literal
from urllib.parse import quote, unquote, urlencode, urlsplit

import attrs

from socialkit.errors import ConfigError

__all__ = [
    "PostgresOptions",
    "check_libpq_options",
    "one_line",
    "parse_postgres_url",
    "refuses_an_option",
]

ClockMode = Literal["database", "caller"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_OWN = frozenset({"schema", "clock", "pool_min", "pool_max", "listen", "liveness"})
_SECRET = frozenset({"password", "sslpassword"})
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@attrs.frozen(kw_only=True)
class PostgresOptions:
    """A parsed store URL.

    Attributes:
        conninfo: the URL libpq receives (socialkit's options removed).
        display: the URL for messages and ``store.url``: no password, socialkit's options kept.
        schema: the schema name (validated: lower-case letters, digits, ``_``).
        clock: ``database`` or ``caller``.
        pool_min, pool_max: pool sizes.
        listen: whether to ``LISTEN`` for other workers' changes.
        liveness: seconds between liveness beats.
    """

    conninfo: str = attrs.field(repr=False)  # holds the password
    display: str
    schema: str
    clock: ClockMode
    pool_min: int
    pool_max: int
    listen: bool
    liveness: float
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        """``text`` (a driver's message) with the URL's password, as written and decoded,
        replaced by ``***``: libpq quotes the parts of a URL it cannot read."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def error_text(self, error: BaseException) -> str:
        """A driver error as one line, without the URL's password."""
        return self.scrub(one_line(error))

    @property
    def channel(self) -> str:
        """The ``NOTIFY`` channel of this schema."""
        return f"socialkit_{self.schema}"

    @property
    def lock_space(self) -> int:
        """The first key of this schema's advisory locks (a signed 32-bit hash of its name),
        so applications in other schemas of the same database never share a lock."""
        value = zlib.crc32(f"socialkit:{self.schema}".encode())
        return value - (1 << 32) if value >= 1 << 31 else value


def one_line(error: BaseException) -> str:
    """A driver error as one line: libpq adds hints on lines of their own, and a command
    line prints one line per error."""
    parts = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(parts) or type(error).__name__


def _flag(name: str, value: str, url: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (got {value!r} in {url})")


def _number(name: str, value: str, url: str, *, minimum: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number (got {value!r} in {url})") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g} (got {value!r} in {url})")
    return number


def check_libpq_options(options: PostgresOptions) -> None:
    """An option neither socialkit's nor libpq's (a misspelled ``schema``, say) is a
    ConfigError naming both kinds, not a driver error about the URI. Imports psycopg, so
    it runs when the store opens, not when the URL is read."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(options.conninfo)
    except Exception as exc:  # psycopg.ProgrammingError: libpq refused the URL
        message = options.error_text(exc)
        if "percent-encoded" in message:
            raise ConfigError(
                f"{message} in {options.display}: a '%' in the user name, password or an "
                "option must be written %25"
            ) from None
        raise ConfigError(
            f"{message} in {options.display}; socialkit's own options are "
            f"{', '.join(sorted(_OWN))}, and libpq's pass through"
        ) from None


# What libpq (or the server, for the URL's `options=-c ...`) says when an option's name or
# value is wrong, as opposed to a server that cannot be reached or refuses the login:
# `invalid sslmode value: "bogus"`, `invalid "ssl_min_protocol_version" value: "x"`,
# `invalid integer value "abc" for connection option "port"`, `invalid connection option
# "x"`, `could not parse network address "x"` (hostaddr), `could not match 2 host names
# to 1 hostaddr values`, `invalid value for parameter "statement_timeout": "abc"`,
# `unrecognized configuration parameter "x"`. libpq's English messages: with its
# messages translated (LC_MESSAGES), such an error stays a connection error.
_OPTION_REFUSED = re.compile(
    r"""\binvalid\ "?\w+"?\ value\b
    | \bfor\ connection\ option\b
    | \binvalid\ connection\ option\b
    | \binvalid\ port\ number\b
    | \bsslmode\ value\ "\w*"\ invalid\b
    | \bcould\ not\ parse\ network\ address\b
    | \bcould\ not\ match\ \d+\ (?:host\ names|port\ numbers)\b
    | \binvalid\ value\ for\ parameter\b
    | \bunrecognized\ configuration\ parameter\b
    """,
    re.VERBOSE,
)


def refuses_an_option(message: str) -> bool:
    """Whether a connection error (libpq's, or the server's at login) says one of the
    URL's options has an unknown name or a wrong value: a mistake in the URL, which
    trying again cannot mend, not a server that is down."""
    return _OPTION_REFUSED.search(message) is not None


def _join_url(scheme: str, netloc: str, path: str, query: str) -> str:
    # Not urlunsplit: it drops the '//' of an empty host, and libpq's Unix-socket form
    # postgresql:///dbname would become postgresql:/dbname, which libpq cannot read.
    url = f"{scheme}://{netloc}{path}"
    return f"{url}?{query}" if query else url


_MISREAD = (
    "the PostgreSQL store URL cannot be read safely: its user name, password or an "
    "option holds a character that must be percent-encoded ('@' as %40, '/' as %2F, '?' "
    "as %3F, '#' as %23, '%' as %25); the URL is not shown, as it may hold the password"
)


def _libpq_userinfo(url: str) -> str | None:
    """The user name and password as libpq reads them: up to the first ``@`` after
    ``://``, unless a ``/`` comes first (then there are none)."""
    rest = url.partition("://")[2]
    for i, char in enumerate(rest):
        if char == "/":
            return None
        if char == "@":
            return rest[:i]
    return None


def _check_userinfo(url: str, netloc: str, path: str) -> None:
    """Refuse a URL libpq and socialkit would split differently: socialkit would show (and
    miss in messages) what libpq reads as the password, or libpq would print a piece of
    it as a host, port or database name. ``#``, ``?`` and ``/`` end the host part for
    socialkit (as for any URL) but not ``@`` for libpq, which takes the first ``@``
    where socialkit takes the last."""
    ours = netloc.rpartition("@")[0] if "@" in netloc else None
    if "#" in url or "@" in path or ours != _libpq_userinfo(url):
        raise ConfigError(_MISREAD)


def parse_postgres_url(url: str) -> PostgresOptions:
    """Split ``url`` into libpq's connection string and socialkit's options.

    Raises:
        ConfigError: the scheme is not ``postgresql``/``postgres``, an option is invalid
            (the message names the option and the value, never a password), or the user
            name or password holds an ``@``, ``/``, ``?`` or ``#`` not percent-encoded
            (the message shows neither the URL nor the password).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"a PostgreSQL store URL starts with postgresql:// (got {parts.scheme}://)"
        )
    _check_userinfo(url, parts.netloc, parts.path)
    # Split as libpq does: percent-decoded, and a '+' is a '+' (parse_qsl would read
    # it as a space: a password 'a+b' in the query would not log in).
    raw_query = [item.partition("=") for item in parts.query.split("&") if item]
    query = [(unquote(key), unquote(value)) for key, _, value in raw_query]
    own = {key.lower(): value for key, value in query if key.lower() in _OWN}
    passed = [(key, value) for key, value in query if key.lower() not in _OWN]
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        shown_netloc = f"{userinfo.split(':', 1)[0]}:***@{host}" if ":" in userinfo else netloc
    else:
        shown_netloc = netloc
    shown_query = [(k, v) for k, v in query if k.lower() not in _SECRET]
    secrets = [v for k, _, v in raw_query if unquote(k).lower() in _SECRET and v]
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        secrets.append(netloc.rsplit("@", 1)[0].split(":", 1)[1])
    secrets += [unquote(s) for s in secrets]
    secrets = [s for s in dict.fromkeys(secrets) if s]
    display = _join_url(
        parts.scheme, shown_netloc, parts.path, urlencode(shown_query, quote_via=quote)
    )

    schema = own.get("schema", "socialkit")
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(
            f"schema must be 1-63 lower-case letters, digits or _ and start with a letter or _ "
            f"(got {schema!r} in {display})"
        )
    clock = own.get("clock", "database").lower()
    if clock not in ("database", "caller"):
        raise ConfigError(f"clock must be database or caller (got {clock!r} in {display})")
    pool_min = int(_number("pool_min", own.get("pool_min", "1"), display, minimum=1))
    pool_max = int(_number("pool_max", own.get("pool_max", "4"), display, minimum=1))
    if pool_max < pool_min:
        raise ConfigError(
            f"pool_max ({pool_max}) must be at least pool_min ({pool_min}) in {display}"
        )
    return PostgresOptions(
        # quote, not quote_plus: libpq reads a '+' in a URL as a '+', so the spaces of
        # `options=-c statement_timeout=5s` must go as %20.
        conninfo=_join_url("postgresql", netloc, parts.path, urlencode(passed, quote_via=quote)),
        display=display,
        schema=schema,
        clock="caller" if clock == "caller" else "database",
        pool_min=pool_min,
        pool_max=pool_max,
        listen=_flag("listen", own.get("listen", "true"), display),
        liveness=_number("liveness", own.get("liveness", "10"), display, minimum=0.05),
        secrets=tuple(secrets),
    )
