"""``socialkit run``: a worker, or ``--workers N`` worker processes, on the store."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialkit.cli._app import counted, emit, say, state, terminal_safe
from socialkit.cli._publications import lasting_store, open_scheduler

if TYPE_CHECKING:
    from socialkit.schedule.engine.events import StateChange
    from socialkit.schedule.facade import Scheduler

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)


# -- running ----------------------------------------------------------------------------


class _Progress:
    """What ``socialkit run`` shows: counts by outcome and the latest changes, and until
    there are changes, when the engine next has work (a bare "waiting" told nothing)."""

    def __init__(self, store: str = "") -> None:
        self.counts: dict[str, int] = {}
        self.recent: list[str] = []
        self.lock = threading.Lock()
        self.plain = not sys.stdout.isatty()
        self.store = store
        self.next_due: dt.datetime | None = None
        # Each publication's latest state in this run, to say when a waiting one goes next.
        self.latest: dict[str, str] = {}

    def changed(self, change: StateChange) -> None:
        line = terminal_safe(  # the live view prints it too
            f"{change.at:%H:%M:%S} {change.publication_id} {change.account_id}: "
            f"{change.from_state.value if change.from_state else '-'} → {change.to_state.value}"
            + (f" ({change.reason})" if change.reason else "")
        )
        with self.lock:
            self.counts[change.to_state.value] = self.counts.get(change.to_state.value, 0) + 1
            self.latest[change.publication_id] = change.to_state.value
            self.recent = [*self.recent[-9:], line]
        if self.plain:
            say(line)
            sys.stdout.flush()

    def render(self) -> Any:
        from rich.table import Table

        table = Table(expand=False)
        table.add_column("changed to")
        table.add_column("this run", justify="right")
        with self.lock:
            for name, count in sorted(self.counts.items()):
                table.add_row(name, str(count))
            recent = "\n".join(self.recent)
        from rich.console import Group
        from rich.text import Text

        title = f"socialkit run on {self.store}" if self.store else "socialkit run"
        return Group(Text(title), table, Text(recent or self.waiting(dt.datetime.now(dt.UTC))))

    def waiting(self, now: dt.datetime) -> str:
        """``waiting: next work due 2026-12-01 08:00 UTC (in 3 days)``."""
        from socialkit.schedule.engine.grace import age as _age

        if self.next_due is None:
            return "waiting: nothing is scheduled"
        if self.next_due <= now:
            return "working on what is due now…"
        return (
            f"waiting: next work due {self.next_due:%Y-%m-%d %H:%M} UTC "
            f"(in {_age(self.next_due - now)})"
        )


def _next_due(scheduler: Scheduler) -> dt.datetime | None:
    """When the engine next has work; ``None`` also when the store could not say (the
    display must never stop the worker)."""
    try:
        return scheduler.next_due()
    except Exception:
        return None


def _waiting_lines(scheduler: Scheduler, progress: _Progress) -> list[str]:
    """After ``run --once``: when each publication this run left in ``retry_wait`` or
    ``unknown`` is taken up again (``p1 acme: retry_wait, next attempt …``)."""
    from socialkit.cli._publications import next_attempt

    waiting = [pid for pid, st in progress.latest.items() if st in ("retry_wait", "unknown")]
    lines = []
    now = dt.datetime.now(dt.UTC)
    for pid in waiting:
        p = scheduler.get(pid, history=False)
        upcoming = next_attempt(p, now)
        if upcoming is not None:
            lines.append(f"{p.id} {p.account_id}: {p.state.value}, {upcoming}")
    return lines


def _hold_notes(scheduler: Scheduler) -> list[str]:
    """After ``run --once``: the accounts whose due posts wait behind an ``unknown``
    outcome, and the publications leases still hold (:mod:`socialkit.cli._holds`);
    none when the store could not say (a note must not fail the run)."""
    from socialkit.cli._holds import held_account_notes, lease_note

    now = dt.datetime.now(dt.UTC)
    try:
        notes = held_account_notes(scheduler, now)
        leases = lease_note(scheduler, now)
    except Exception:
        return []
    return [*notes, leases] if leases else notes


def _ended_badly(progress: _Progress) -> str:
    """``this run left 1 publication failed`` (or missed, or both counted) for what this
    run left ``failed`` or ``missed``; empty when none."""
    ended = list(progress.latest.values())
    failed, missed = ended.count("failed"), ended.count("missed")
    total = failed + missed
    if not total:
        return ""
    left = counted(total, "publication")
    if failed and missed:
        return f"this run left {left} failed or missed ({failed} failed, {missed} missed)"
    return f"this run left {left} {'failed' if failed else 'missed'}"


def _stopped_line(handed: int) -> str:
    """``stopped: 1 unsent claim handed back``: what a stopped worker gave back."""
    return f"stopped: {counted(handed, 'unsent claim')} handed back"


# What a publication's attention names that only a person can settle (a post that may
# exist, an account to reconnect, a post recorded after its deletion to take down).
_FOR_A_PERSON = ("reconcile", "reauth", "delete")


def _left_for_a_person(scheduler: Scheduler, progress: _Progress) -> str:
    """``this run left 1 publication waiting for a person`` for what this run left
    waiting on a person's decision (``unknown`` and not found, an account to reconnect);
    empty when none. Each is read again: its attention is not in the change events."""
    from socialkit.schedule.states import TERMINAL_STATES

    settled = {state.value for state in TERMINAL_STATES}
    waiting = 0
    for pid, st in progress.latest.items():
        if st in settled:
            continue
        try:
            p = scheduler.get(pid, history=False)
        except Exception:  # gone meanwhile (pruned): nothing waits
            continue
        if p.attention in _FOR_A_PERSON:
            waiting += 1
    if not waiting:
        return ""
    return f"this run left {counted(waiting, 'publication')} waiting for a person"


def _run_workers(count: int, *, once: bool) -> int:
    """``run --workers``: ``count`` worker processes on this process's store.

    No store URL goes on the workers' command lines, where ``ps`` shows it (and any
    password in it) to every user of the machine: a store from the project file is read
    from the same file by each worker, and ``--store`` reaches them through the
    environment (:data:`STORE_ENV`), which only their user can read.
    """
    import os

    from socialkit.cli._app import STORE_ENV
    from socialkit.schedule.workers import run_workers

    cli = state()
    lasting_store(cli.store_url())
    previous = os.environ.get(STORE_ENV)
    if cli.store:
        os.environ[STORE_ENV] = cli.store  # the workers inherit this process's environment
    try:
        return run_workers(count, store_url=None, config_path=cli.config_path, once=once)
    finally:
        if previous is None:
            os.environ.pop(STORE_ENV, None)
        else:
            os.environ[STORE_ENV] = previous


def _note_a_new_store(*, supervisor: bool = False) -> bool:
    """Say so when the store is not there yet (a SQLite file, a PostgreSQL schema without
    the store's tables): the worker creates an empty one, and with a typo in the file's
    path or the URL's ``schema`` it would wait there for ever, claiming nothing.

    The ``supervisor`` of ``--workers`` must not need the database to start its workers
    (they connect, and are restarted, themselves): a PostgreSQL server it cannot reach
    is left for them to report."""
    from socialkit.cli.store import missing_store
    from socialkit.errors import StoreError

    url = lasting_store(state().store_url())
    if url.partition("://")[0].lower() not in ("sqlite", "postgresql", "postgres"):
        return False
    try:
        missing = missing_store(url)
    except StoreError:
        if not supervisor:
            raise
        return False
    if missing is None:
        return False
    say(
        f"note: {missing}; the worker starts on a new, empty store (nothing was scheduled "
        "on it: check the store URL if you expected publications)",
        err=True,
    )
    return True


MAX_WORKERS = 256
"""The most worker processes one ``run --workers`` starts: a typo (``--workers 1000``)
is refused before it starts a process per unit."""


def run_command(
    once: Annotated[
        bool, typer.Option("--once", help="Publish what is due now, then exit (cron, CI).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            metavar="N",
            min=1,
            max=MAX_WORKERS,
            help="Worker processes on this machine, sharing the store; the same command on "
            f"another machine joins them (PostgreSQL). At most {MAX_WORKERS}.",
        ),
    ] = 1,
) -> None:
    """Run a worker: publish what comes due until Ctrl-C or SIGTERM (graceful).

    Shows live progress on a terminal and plain log lines otherwise.
    """
    new_store = _note_a_new_store(supervisor=workers > 1)
    if workers > 1:
        if new_store:  # made once here, so each worker does not note it again
            with open_scheduler():  # entering opens (creates) it
                pass
        raise typer.Exit(_run_workers(workers, once=once))
    import signal
    import types

    from socialkit.cli.store import shown_url
    from socialkit.hookspecs import hookimpl
    from socialkit.platforms.registry import get_registry

    progress = _Progress(shown_url(state().store_url()))
    if once:
        progress.plain = True  # no live display for a one-shot run: print each change
    plugin = types.ModuleType("socialkit_cli_progress")

    @hookimpl
    def publication_state_changed(change: StateChange) -> None:
        progress.changed(change)

    plugin.publication_state_changed = publication_state_changed  # type: ignore[attr-defined]
    scheduler = open_scheduler()
    scheduler.open()  # adds the engine's hook specs to the registry
    get_registry().register_plugin(plugin, "socialkit-cli-progress")
    try:
        if once:
            stats = scheduler.run(until_idle=True)
            for line in _waiting_lines(scheduler, progress):
                say(line)
            emit(
                None,
                as_json=False,
                text=f"claimed {stats.claimed}, reconciled {stats.reconciled}, "
                f"metric collections {stats.metric_tasks}",
            )
            # What held due posts back, so a cron job's reader is not left guessing: an
            # unknown outcome holding its account, a lease of a worker killed mid-publish.
            for note in _hold_notes(scheduler):
                say(note, err=True)
            # A cron job or CI step learns either from the exit code alone.
            lost = _ended_badly(progress)
            if lost:
                say(f"error: {lost} (socialkit list --state failed, --state missed)", err=True)
            stuck = _left_for_a_person(scheduler, progress)
            if stuck:
                say(f"error: {stuck} (socialkit list --attention)", err=True)
            if lost or stuck:
                raise typer.Exit(1)
            return
        stopping = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        scheduler.start()
        try:
            if progress.plain:
                say(f"socialkit run: worker started on {progress.store}")
                sys.stdout.flush()
                while not stopping.wait(0.5):
                    pass
            else:
                from rich.live import Live

                ticks = 0
                with Live(progress.render(), refresh_per_second=4) as live:
                    while not stopping.wait(0.25):
                        if ticks % 8 == 0:  # every two seconds
                            progress.next_due = _next_due(scheduler)
                        ticks += 1
                        live.update(progress.render())
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            stopped = scheduler.stop()
        handed = stopped.handed_back if stopped else 0
        say(_stopped_line(handed))
    finally:
        get_registry().manager.unregister(plugin)
        scheduler.close()
