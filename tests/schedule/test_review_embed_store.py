"""Review findings on embedding: notification hooks, SQLite paths, fork and unclosed stores."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import faulthandler
import gc
import logging
import os
import sqlite3
import threading
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from socialkit import hookimpl
from socialkit.errors import StoreError
from socialkit.platforms.registry import Registry
from socialkit.schedule.engine.events import Notifier, StateChange
from socialkit.schedule.states import PublicationState as S
from socialkit.schedule.stores.sqlite import SqliteStore
from tests.schedule.conftest import account
from tests.schedule.store_contract import POST, pub

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
ACCOUNT = account()

# -- notification hooks -------------------------------------------------------------------


def _plugin(name: str, **hooks: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def _change() -> StateChange:
    return StateChange(
        publication_id="pub-1",
        workspace="default",
        account_id="acme",
        campaign=None,
        from_state=S.PUBLISHING,
        to_state=S.FAILED,
        at=START,
    )


def test_a_failing_hook_does_not_stop_the_other_plugins_hooks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[tuple[str, object]] = []

    def failed(change: StateChange, error: object) -> None:
        seen.append((change.publication_id, error))

    def broken(change: StateChange, error: object) -> None:
        raise KeyError("audit plugin bug")

    def changed(change: StateChange) -> None:
        seen.append(("changed", change.to_state))

    def broken_changed(change: StateChange) -> None:
        raise RuntimeError("webhook down")

    registry = Registry(load_entry_points=False)
    notifier = Notifier(registry)
    registry.register_plugin(_plugin("slack", publication_failed=failed))
    # Registered last, so pluggy's order calls it first.
    registry.register_plugin(
        _plugin("audit", publication_failed=broken, publication_state_changed=broken_changed)
    )
    registry.register_plugin(_plugin("log", publication_state_changed=changed))
    with caplog.at_level(logging.ERROR, logger="socialkit.schedule"):
        notifier.failed(_change(), None)
    assert seen == [("changed", S.FAILED), ("pub-1", None)]
    assert "the publication_failed hook of plugin 'audit' failed" in caplog.text
    assert "the publication_state_changed hook of plugin 'audit' failed" in caplog.text
    assert "hooks are best-effort" in caplog.text


def test_a_hook_may_take_fewer_arguments_than_its_spec() -> None:
    seen: list[str] = []

    def failed(change: StateChange) -> None:  # no ``error``
        seen.append(change.publication_id)

    def anything() -> None:
        seen.append("called")

    registry = Registry(load_entry_points=False)
    notifier = Notifier(registry)
    registry.register_plugin(_plugin("one", publication_failed=failed))
    registry.register_plugin(_plugin("two", publication_failed=anything))
    notifier.failed(_change(), None)
    assert sorted(seen) == ["called", "pub-1"]


# -- a SQLite store in a place this process cannot write ----------------------------------


async def test_a_sqlite_file_that_cannot_be_created_is_a_store_error_naming_it(
    tmp_path: Path,
) -> None:
    # A dangling symbolic link fails for root too, unlike a read-only directory.
    target = tmp_path / "gone" / "store.db"
    link = tmp_path / "link.db"
    link.symlink_to(target)
    with pytest.raises(StoreError) as caught:
        await SqliteStore(f"sqlite:///{link}").open()
    message = str(caught.value)
    assert message.startswith(f"cannot open the SQLite store {str(link)!r}: ")
    assert f"its directory {str(tmp_path)!r} must be writable" in message
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


async def test_a_read_only_directory_is_a_store_error_naming_it(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root, which writes to a read-only directory anyway")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match=r"must be writable by this process"):
            await SqliteStore(f"sqlite:///{folder}/store.db").open()
    finally:
        folder.chmod(0o755)


# -- a store used across a fork -----------------------------------------------------------


def _fork(check: Callable[[], str]) -> tuple[int, int]:
    """Run ``check`` in a forked child: its pid, and the pipe its report (or error) comes
    back on (:func:`_report`)."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of fork() in a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            faulthandler.dump_traceback_later(30, exit=True)
            try:
                report = check()
            except BaseException as exc:
                report = f"{type(exc).__name__}: {exc}"
            os.write(write_end, report.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _report(pid: int, read_end: int) -> str:
    """What the child :func:`_fork` started reports, once it has exited."""
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report
    return report


def _in_a_forked_child(check: Callable[[], str]) -> str:
    """Run ``check`` in a forked child and return what it reports (or its error)."""
    return _report(*_fork(check))


def _db_fds(path: Path) -> list[str] | None:
    """What this process's open file descriptors on ``path`` (and its -wal and -shm) point
    to, sorted (None where /proc cannot say)."""
    folder = Path("/proc/self/fd")
    if not folder.is_dir():
        return None
    found = []
    for fd in folder.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith(str(path)):
                found.append(f"{fd.name} {target}")
    return sorted(found)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
@pytest.mark.parametrize("inline", [True, False], ids=["inline", "queued"])
def test_a_forked_child_is_refused_the_parents_connection(tmp_path: Path, inline: bool) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/fork.db")
    asyncio.run(store.open())
    try:
        asyncio.run(store.put_account(ACCOUNT, now=START))  # used in the parent

        def use() -> str:
            if inline:  # a single read, run on the caller's thread when the store is idle
                asyncio.run(store.get_account(ACCOUNT.id))
            else:
                asyncio.run(store.list_accounts())
            return "used the parent's connection"

        report = _in_a_forked_child(use)
        assert report.startswith(f"StoreError: the SQLite store {str(tmp_path / 'fork.db')!r}")
        assert f"was opened in process {os.getpid()}" in report
        assert "Open the store in this process, after the fork" in report
        # The parent's store is untouched.
        assert [a.account.id for a in asyncio.run(store.list_accounts())] == [ACCOUNT.id]
    finally:
        asyncio.run(store.close())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_closing_the_inherited_store_in_a_child_leaves_the_parents_alone(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path}/fork.db")
    asyncio.run(store.open())
    try:
        asyncio.run(store.put_account(ACCOUNT, now=START))

        def close() -> str:
            before = _db_fds(tmp_path / "fork.db")
            asyncio.run(store.close())  # the inherited connection is neither used nor closed
            gc.collect()
            after = _db_fds(tmp_path / "fork.db")
            # Closing any descriptor of the file would drop this process's locks on it.
            assert before is None or (before and after == before), (before, after)
            return "closed"

        assert _in_a_forked_child(close) == "closed"
        asyncio.run(store.put_account(account("after"), now=START))
        assert len(asyncio.run(store.list_accounts())) == 2
    finally:
        asyncio.run(store.close())


# -- a store dropped without close() ------------------------------------------------------


def _open_fds() -> int | None:
    """How many file descriptors this process has open (None where /proc cannot say)."""
    folder = Path("/proc/self/fd")
    return len(list(folder.iterdir())) if folder.is_dir() else None


def _store_threads() -> set[threading.Thread]:
    """The SQLite stores' threads alive now (not other tests' leftovers, nor the loop's)."""
    return {
        t for t in threading.enumerate() if t.name in ("socialkit-sqlite", "socialkit-checkpoint")
    }


async def test_a_store_dropped_unclosed_stops_its_threads(tmp_path: Path) -> None:
    before = _store_threads()
    fds = _open_fds()
    started: set[threading.Thread] = set()
    for n in range(5):
        store = SqliteStore(f"sqlite:///{tmp_path}/dropped.db")
        await store.open()
        unsubscribe = store.subscribe(lambda: None)  # the thread polls while watched
        await store.put_account(account(f"a{n}"), now=START)  # inline
        await store.list_accounts()  # through the store's thread
        with pytest.raises(StoreError, match="no rule"):  # its traceback reaches the store
            await store.get_rule("no such rule")
        started |= _store_threads() - before
        del store, unsubscribe  # never closed
        # One turn of the loop: the handle that resumed this task holds the last result.
        await asyncio.sleep(0)
        gc.collect()
    assert len(started) == 10  # a store thread and a checkpointer each
    # They stop once their store is collected. A store can outlive the collection above:
    # the "no rule" error's traceback holds its frames, and that error was still held at
    # that moment (about 1 run in 20; by what was not found, likely the store's thread
    # handing the outcome over). So collect again while waiting; bounded.
    deadline = time.monotonic() + 10
    while any(t.is_alive() for t in started) and time.monotonic() < deadline:
        gc.collect()
        for thread in started:
            thread.join(timeout=0.05)
    assert _store_threads() - before == set()
    if fds is not None:
        assert (_open_fds() or 0) <= fds  # the connections were closed


# -- a child opening the file its parent had open when it forked --------------------------


FORK_NEEDED = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")


def _ids_in(path: Path) -> list[str]:
    """The publications in the file (read once every store on it is closed), after an
    integrity check."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return [row[0] for row in conn.execute("SELECT id FROM publications")]


@FORK_NEEDED
@pytest.mark.parametrize("inherited", ["kept", "closed"], ids=["kept", "closed-in-child"])
def test_a_child_may_not_open_the_file_its_parent_had_open(tmp_path: Path, inherited: str) -> None:
    # The child's own connection would take no lock of its own (SQLite's per-process
    # record of the file's locks is a copy of the parent's): the parent's close, seeing
    # no other process, then deleted the WAL, and what the child committed next was lost.
    path = tmp_path / "fork.db"
    store = SqliteStore(f"sqlite:///{path}")
    asyncio.run(store.open())
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    try:
        asyncio.run(store.put_revision(POST, now=START))
        asyncio.run(store.put_account(account(platform="feed"), now=START))

        def open_own() -> str:
            if inherited == "closed":
                asyncio.run(store.close())  # leaves the inherited connection alone

            async def write() -> str:
                own = SqliteStore(f"sqlite:///{path}")
                await own.open()
                try:
                    os.write(ready_w, b"r")
                    os.read(go_r, 1)  # the parent has closed its store
                    (added,) = await own.add([pub()], now=START)
                finally:
                    await own.close()
                return f"committed {added}"

            return asyncio.run(write())

        pid, report_end = _fork(open_own)
        os.close(ready_w)
        if os.read(ready_r, 1):  # the child opened a store of its own (EOF: it did not)
            asyncio.run(store.close())  # the parent's last connection on the file
        os.write(go_w, b"g")
        report = _report(pid, report_end)
    finally:
        asyncio.run(store.close())
        for fd in (ready_r, go_r, go_w):
            os.close(fd)
    if report.startswith("committed "):
        assert report.removeprefix("committed ") in _ids_in(path), "a committed row was lost"
    assert report.startswith(f"StoreError: cannot open the SQLite store {str(path)!r} in ")
    assert f"it is a fork of process {os.getpid()}, which had this file open" in report
    assert "open stores only after the fork" in report
    assert _ids_in(path) == []
    # Leave no garbage behind: with some, test_a_store_dropped_unclosed_stops_its_threads,
    # run after this, kept one store alive in about 1 run of 10 (with or without the
    # fork fix in the store).
    gc.collect()


@FORK_NEEDED
def test_processes_forked_after_the_store_closed_share_the_file(tmp_path: Path) -> None:
    # What docs/scheduling.md promises: stores opened after the fork, in each process
    # (the parent's closed before it forked), write to one file at once and lose nothing.
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    rows = 40
    store = SqliteStore(url)
    asyncio.run(store.open())
    asyncio.run(store.put_revision(POST, now=START))
    asyncio.run(store.put_account(account(platform="feed"), now=START))
    asyncio.run(store.close())
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()

    async def add_rows(one_at_a_time: bool) -> list[str]:
        own = SqliteStore(url)
        await own.open()
        try:
            if not one_at_a_time:
                return await own.add([pub() for _ in range(rows)], now=START)
            return [(await own.add([pub()], now=START))[0] for _ in range(rows)]
        finally:
            await own.close()

    def child(one_at_a_time: bool) -> Callable[[], str]:
        def run() -> str:
            os.write(ready_w, b"r")
            os.read(go_r, 1)  # every process starts writing at once
            return " ".join(asyncio.run(add_rows(one_at_a_time)))

        return run

    children = [_fork(child(True)), _fork(child(False))]
    try:
        os.close(ready_w)
        assert os.read(ready_r, 1) + os.read(ready_r, 1) == b"rr"
        os.write(go_w, b"gg")
        added = asyncio.run(add_rows(True))
    finally:
        reports = [_report(pid, end) for pid, end in children]
        for fd in (ready_r, go_r, go_w):
            os.close(fd)
    for report in reports:
        added += report.split()
    assert len(added) == 3 * rows
    assert sorted(_ids_in(path)) == sorted(added)
    # Leave no garbage behind: with some, test_a_store_dropped_unclosed_stops_its_threads,
    # run after this, kept one store alive in about 1 run of 10 (with or without the
    # fork fix in the store).
    gc.collect()
