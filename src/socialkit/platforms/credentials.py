"""Where credentials come from: the :class:`CredentialProvider` protocol and three providers.

Credentials are never stored on an :class:`~socialkit.Account` or in the store. The engine
loads them through a provider at publish time and saves refreshed ones through it, under
the provider's per-account lock, so a rotating refresh token is refreshed once even when
many workers share the account.
"""

from __future__ import annotations

import asyncio
import fcntl
import inspect
import json
import os
import re
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from socialkit._filelock import file_lock
from socialkit.errors import CredentialsError
from socialkit.models.credentials import Credentials

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from socialkit.models.account import Account

__all__ = [
    "CallableCredentialProvider",
    "CredentialProvider",
    "EnvCredentialProvider",
    "FileCredentialProvider",
    "MemoryCredentialProvider",
]


@runtime_checkable
class CredentialProvider(Protocol):
    """Loads and saves an account's :class:`Credentials`.

    ``lock(account)`` is an async context manager held while credentials are refreshed;
    providers shared by several processes make it a cross-process lock.
    """

    async def load(self, account: Account) -> Credentials:
        """The account's current credentials (empty when there are none)."""
        ...

    async def save(self, account: Account, credentials: Credentials) -> None:
        """Replace the account's credentials."""
        ...

    def lock(self, account: Account) -> AbstractAsyncContextManager[None]:
        """A per-account lock for refreshes."""
        ...


class _LocalLocks:
    """One asyncio lock per (event loop, account id)."""

    def __init__(self) -> None:
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._guard = threading.Lock()

    def get(self, account_id: str) -> asyncio.Lock:
        key = (id(asyncio.get_running_loop()), account_id)
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = asyncio.Lock()
            return lock


class MemoryCredentialProvider:
    """Credentials held in memory: tests, scripts, and applications that load them once.

    Args:
        credentials: account id -> credentials or a plain ``{key: value}`` mapping.
    """

    def __init__(self, credentials: Mapping[str, Credentials | Mapping[str, str]] | None = None):
        self._data: dict[str, Credentials] = {}
        for account_id, value in (credentials or {}).items():
            self._data[account_id] = (
                value if isinstance(value, Credentials) else Credentials().with_values(value)
            )
        self._locks = _LocalLocks()

    def __repr__(self) -> str:
        return f"MemoryCredentialProvider(accounts={sorted(self._data)!r})"

    async def load(self, account: Account) -> Credentials:
        return self._data.get(account.id, Credentials())

    async def save(self, account: Account, credentials: Credentials) -> None:
        self._data[account.id] = credentials

    def lock(self, account: Account) -> AbstractAsyncContextManager[None]:
        return self._locks.get(account.id)


def env_stem(prefix: str, account_id: str) -> str:
    """The start of every variable :class:`EnvCredentialProvider` reads for ``account_id``.

    ``env_stem("SOCIALKIT_", "acme-bsky") == "SOCIALKIT_ACME_BSKY_"``: letters and digits
    upper-cased, anything else an underscore.
    """
    return prefix + re.sub(r"[^A-Za-z0-9]", "_", account_id).upper() + "_"


class EnvCredentialProvider:
    """Credentials from environment variables: ``SOCIALKIT_<ACCOUNT>_<KEY>``.

    For the account ``acme-bsky`` the variable ``SOCIALKIT_ACME_BSKY_APP_PASSWORD`` gives the
    key ``app_password``. The environment cannot be written, so saved (refreshed)
    credentials are kept in memory for the life of the process, over the environment.

    Two account ids can map to the same variables (``acme-bsky`` and ``acme.bsky``), and
    one account's variables can start with another's (``acme`` and ``acme-bsky``: is
    ``SOCIALKIT_ACME_BSKY_APP_PASSWORD`` the key ``bsky_app_password`` of ``acme``?).
    Name the accounts to settle both: ids that collide are refused at once, and an
    account never reads the variables of a longer account id it knows. Without the list,
    the provider learns ids as it loads them, and refuses a second id that collides.

    Args:
        prefix: the variable prefix.
        environ: the mapping to read (``os.environ`` by default).
        accounts: the accounts (or ids) the provider serves, when known.

    Raises:
        CredentialsError: two of ``accounts`` read the same variables.
    """

    def __init__(
        self,
        prefix: str = "SOCIALKIT_",
        environ: Mapping[str, str] | None = None,
        *,
        accounts: Iterable[Account | str] = (),
    ):
        self.prefix = prefix
        self._environ = environ if environ is not None else os.environ
        self._saved: dict[str, Credentials] = {}
        self._locks = _LocalLocks()
        self._stems: dict[str, str] = {}  # stem -> the account id that reads it
        for account in accounts:
            self._claim(account if isinstance(account, str) else account.id)

    def __repr__(self) -> str:
        return f"EnvCredentialProvider(prefix={self.prefix!r})"

    def _claim(self, account_id: str) -> str:
        stem = env_stem(self.prefix, account_id)
        owner = self._stems.setdefault(stem, account_id)
        if owner != account_id:
            raise CredentialsError(
                f"accounts {owner!r} and {account_id!r} would read the same environment "
                f"variables {stem}<KEY>; rename one, or keep secrets in a secrets file"
            )
        return stem

    def variable(self, account: Account, key: str) -> str:
        """The environment variable that holds ``key`` for ``account``."""
        return env_stem(self.prefix, account.id) + key.upper()

    async def load(self, account: Account) -> Credentials:
        start = self._claim(account.id)
        # A missing key's error says which variable to set (never a value).
        where = f"environment variable {start}{{KEY}}"
        if account.id in self._saved:
            return self._saved[account.id].located(account.id, where)
        # Variables of a longer account id that starts the same way are that account's.
        others = tuple(s for s in self._stems if s != start and s.startswith(start))
        values = {
            name[len(start) :].lower(): value
            for name, value in self._environ.items()
            if name.startswith(start) and value and not any(name.startswith(o) for o in others)
        }
        return Credentials().with_values(values).located(account.id, where)

    async def save(self, account: Account, credentials: Credentials) -> None:
        self._saved[account.id] = credentials

    def lock(self, account: Account) -> AbstractAsyncContextManager[None]:
        return self._locks.get(account.id)


class FileCredentialProvider:
    """Credentials in a JSON secrets file readable only by its owner.

    The file maps account ids to ``{key: value}`` (and an optional ``expires_at``).
    Saves are atomic (temporary file, then rename) under an exclusive ``flock``;
    :meth:`lock` is a cross-process lock on a sibling ``.lock`` file, so workers in
    several processes on one machine refresh a token once.

    Args:
        path: the secrets file. It is created with mode 0600; an existing file readable by
            group or others is refused.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._locks = _LocalLocks()

    def __repr__(self) -> str:
        return f"FileCredentialProvider({str(self.path)!r})"

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        mode = self.path.stat().st_mode
        if mode & 0o077:
            raise CredentialsError(
                f"secrets file {self.path} is readable by others (mode {oct(mode & 0o777)}); "
                f"run: chmod 600 {self.path}"
            )
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise CredentialsError(
                f"secrets file {self.path} is not valid JSON (line {exc.lineno})"
            ) from None
        if not isinstance(data, dict):
            raise CredentialsError(f"secrets file {self.path} must hold a JSON object")
        return data

    async def load(self, account: Account) -> Credentials:
        return await asyncio.to_thread(self._load_sync, account.id)

    def _load_sync(self, account_id: str) -> Credentials:
        entry = self._read().get(account_id) or {}
        if not isinstance(entry, dict):
            raise CredentialsError(
                f"secrets file {self.path}: entry {account_id!r} is not an object"
            )
        values = {k: str(v) for k, v in entry.items() if k != "expires_at" and v is not None}
        return (
            Credentials()
            .with_values(values, expires_at=self._expiry(entry, account_id))
            .located(
                account_id, f'key "{{key}}" of entry {account_id!r} in secrets file {self.path}'
            )
        )

    def _expiry(self, entry: dict[str, Any], account_id: str) -> datetime | None:
        raw = entry.get("expires_at")
        if raw is None or raw == "":
            return None
        try:
            expires = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            expires = None
        if expires is None or expires.utcoffset() is None:
            raise CredentialsError(
                f"secrets file {self.path}: {account_id}.expires_at must be an ISO 8601 time "
                f"with a UTC offset, such as '2030-01-31T12:00:00+00:00' (got {raw!r})"
            )
        return expires

    async def save(self, account: Account, credentials: Credentials) -> None:
        await asyncio.to_thread(self._save_sync, account.id, credentials)

    def _save_sync(self, account_id: str, credentials: Credentials) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self.path.with_name(self.path.name + ".lock")):
            data = self._read()
            entry: dict[str, Any] = credentials.reveal()
            if credentials.expires_at is not None:
                entry["expires_at"] = credentials.expires_at.isoformat()
            data[account_id] = entry
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-")
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=2, sort_keys=True)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def lock(self, account: Account) -> AbstractAsyncContextManager[None]:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", account.id)
        return self._account_lock(self.path.with_name(f"{self.path.name}.{safe}.lock"), account.id)

    @asynccontextmanager
    async def _account_lock(self, path: Path, account_id: str) -> AsyncIterator[None]:
        async with self._locks.get(account_id):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


LoadFn = Callable[
    ["Account"], "Credentials | Mapping[str, str] | Awaitable[Credentials | Mapping[str, str]]"
]
SaveFn = Callable[["Account", "Credentials"], "Awaitable[None] | None"]


class CallableCredentialProvider:
    """Credentials from the embedding application's own functions (sync or async).

    Args:
        load: ``load(account)`` returning :class:`Credentials` or a ``{key: value}`` mapping.
        save: ``save(account, credentials)``; without it refreshed credentials are kept
            in memory only.
        lock: ``lock(account)`` returning an async context manager; an in-process lock
            by default.
    """

    def __init__(
        self,
        load: LoadFn,
        save: SaveFn | None = None,
        lock: Callable[[Account], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self._load = load
        self._save = save
        self._lock = lock
        self._saved: dict[str, Credentials] = {}
        self._locks = _LocalLocks()

    def __repr__(self) -> str:
        return f"CallableCredentialProvider(load={getattr(self._load, '__name__', '?')})"

    async def load(self, account: Account) -> Credentials:
        if self._save is None and account.id in self._saved:
            return self._saved[account.id]
        result = self._load(account)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Credentials):
            return result
        if isinstance(result, Mapping):
            return Credentials().with_values({str(k): str(v) for k, v in result.items()})
        raise CredentialsError(
            f"credential loader returned {type(result).__name__}, expected Credentials or a mapping"
        )

    async def save(self, account: Account, credentials: Credentials) -> None:
        if self._save is None:
            self._saved[account.id] = credentials
            return
        result = self._save(account, credentials)
        if inspect.isawaitable(result):
            await result

    def lock(self, account: Account) -> AbstractAsyncContextManager[None]:
        if self._lock is not None:
            return self._lock(account)
        return self._locks.get(account.id)
