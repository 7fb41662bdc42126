"""Several worker processes on one machine: ``socialkit run --workers N``.

:class:`WorkerPool` starts ``N`` copies of a worker command, prefixes their output,
restarts one that dies (after a backoff that grows while it keeps dying) and stops them
all gracefully: ``SIGTERM`` first — each worker hands back the claims it has not sent
and lets in-flight publishes finish — then ``SIGKILL`` for any still running after the
timeout.

Each worker is an ordinary engine process against the shared store, so the same command
on another machine joins the same pool: nothing but the store coordinates them. What
the store guarantees between them (claims, leases, per-account limits, budgets, pauses)
is described in ``docs/postgres.md``. A killed worker's leases expire after the lease
period; ``claimed`` work then goes back to the queue and ``publishing`` work through
reconciliation, never a blind retry.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = ["WorkerPool", "run_workers", "worker_command"]

_CLI = "import sys; from socialkit.cli import main; sys.exit(main())"


@attrs.define
class _Slot:
    index: int
    process: subprocess.Popen[str] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class WorkerPool:
    """``count`` processes running ``command``, kept running until :meth:`stop`.

    Args:
        command: the worker's argv.
        count: how many processes.
        env: extra environment for the workers (``SOCIALKIT_WORKER_INDEX`` is added).
        cwd: their working directory.
        restart: start a worker again when it exits while the pool runs.
        on_line: called with ``(index, line)`` for every line a worker prints
            (stdout and stderr together); by default lines go to this process's stdout
            prefixed with ``[w<index>]``.
        backoff: seconds before restarting a worker that died; doubled for each death
            within a minute of its start, up to ``max_backoff``.

    Example::

        pool = WorkerPool(worker_command(store_url="postgresql://…"), 4)
        pool.start()
        pool.run_until(stop_event)
        pool.stop()
    """

    def __init__(
        self,
        command: Sequence[str],
        count: int,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        restart: bool = True,
        on_line: Callable[[int, str], None] | None = None,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        if count < 1:
            raise ValueError(f"a worker pool needs at least one worker (got {count})")
        self.command = list(command)
        self.count = count
        self.env = dict(env or {})
        self.cwd = cwd
        self.restart = restart
        self.on_line = on_line or _print_line
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.restarts = 0
        self.exits: list[tuple[int, int]] = []
        self._slots = [_Slot(index=i) for i in range(count)]
        self._lock = threading.Lock()
        self._stopping = False

    def __repr__(self) -> str:
        return f"WorkerPool({self.count} × {' '.join(self.command[:3])}…)"

    # -- running --------------------------------------------------------------------------

    def start(self) -> None:
        """Start every worker."""
        for slot in self._slots:
            self._spawn(slot)

    def pids(self) -> list[int]:
        """The process ids of the workers running now."""
        with self._lock:
            return [
                s.process.pid
                for s in self._slots
                if s.process is not None and s.process.poll() is None
            ]

    def check(self) -> None:
        """Notice workers that exited, and restart them when their backoff is over."""
        now = time.monotonic()
        for slot in self._slots:
            process = slot.process
            if process is not None and process.poll() is not None:
                code = process.returncode
                self.exits.append((slot.index, code))
                slot.process = None
                if self._stopping or not self.restart:
                    continue
                quick = now - slot.started_at < 60
                slot.failures = slot.failures + 1 if quick else 1
                delay = min(self.backoff * 2 ** (slot.failures - 1), self.max_backoff)
                slot.restart_at = now + delay
                self.on_line(
                    slot.index, f"worker exited with {_describe(code)}; restarting in {delay:g} s"
                )
            if (
                slot.process is None
                and slot.restart_at is not None
                and now >= slot.restart_at
                and not self._stopping
            ):
                slot.restart_at = None
                self.restarts += 1
                self._spawn(slot)

    def run_until(self, stop: threading.Event, poll: float = 0.2) -> None:
        """Supervise until ``stop`` is set (or, without restarts, until all exited)."""
        while not stop.wait(poll):
            self.check()
            if not self.restart and all(s.process is None for s in self._slots):
                return

    def waiting(self) -> int:
        """How many workers exited and wait for their restart (none runs in their slot)."""
        return sum(1 for s in self._slots if s.process is None and s.restart_at is not None)

    def wait(self) -> list[int]:
        """Wait for every worker to exit on its own; returns their exit codes."""
        codes = []
        for slot in self._slots:
            if slot.process is not None:
                codes.append(slot.process.wait())
        self.check()
        return codes

    def stop(self, timeout: float = 30.0) -> list[int]:
        """``SIGTERM`` every worker, wait up to ``timeout`` seconds, ``SIGKILL`` the rest.

        Returns the exit codes of the workers that were running.
        """
        self._stopping = True
        running = [s.process for s in self._slots if s.process is not None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes = []
        for process in running:
            try:
                codes.append(process.wait(max(deadline - time.monotonic(), 0.01)))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        self.check()
        return codes

    # -- plumbing -------------------------------------------------------------------------

    def _spawn(self, slot: _Slot) -> None:
        env = {**os.environ, **self.env, "SOCIALKIT_WORKER_INDEX": str(slot.index)}
        process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        with self._lock:
            slot.process = process
            slot.started_at = time.monotonic()
        threading.Thread(
            target=self._pump,
            args=(slot.index, process),
            name=f"worker-{slot.index}-output",
            daemon=True,
        ).start()

    def _pump(self, index: int, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self.on_line(index, line.rstrip("\n"))


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


_print_lock = threading.Lock()


def _print_line(index: int, line: str) -> None:
    with _print_lock:
        sys.stdout.write(f"[w{index}] {line}\n")
        sys.stdout.flush()


def _say(message: str) -> None:
    with _print_lock:
        sys.stdout.write(f"socialkit run: {message}\n")
        sys.stdout.flush()


def _workers(n: int) -> str:
    return f"{n} worker{'' if n == 1 else 's'}"


def _stopped(stopped: int, waiting: int) -> str:
    """The supervisor's last line: how many workers it stopped, and how many it did not
    need to, as they had exited and were waiting to be restarted (a worker that keeps
    dying: a store it cannot reach, a broken plugin), so none of them reads as stopped."""
    if not waiting:
        return f"stopped {_workers(stopped)}" if stopped else "no worker was running to stop"
    were = "was" if waiting == 1 else "were"
    gone = f"{_workers(waiting)} had exited and {were} waiting to be restarted"
    if not stopped:
        return f"no worker was running to stop: {gone}"
    return f"stopped {_workers(stopped)}; {gone}"


def worker_command(
    *, store_url: str | None = None, config_path: str | None = None, once: bool = False
) -> list[str]:
    """The argv of one ``socialkit run`` worker process."""
    command = [sys.executable, "-c", _CLI]
    if config_path:
        command += ["--config", config_path]
    if store_url:
        command += ["--store", store_url]
    command.append("run")
    if once:
        command.append("--once")
    return command


def run_workers(
    count: int,
    *,
    store_url: str | None = None,
    config_path: str | None = None,
    once: bool = False,
    stop_timeout: float = 60.0,
) -> int:
    """Run ``count`` worker processes until ``SIGTERM``/``SIGINT`` (or, with ``once``,
    until each has published what was due); returns an exit code.

    A worker that dies is restarted. On ``SIGTERM`` or Ctrl-C every worker is asked to
    stop gracefully, and killed if it has not after ``stop_timeout`` seconds.
    """
    pool = WorkerPool(
        worker_command(store_url=store_url, config_path=config_path, once=once),
        count,
        restart=not once,
    )
    stop = threading.Event()
    handlers = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        handlers[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        pool.start()
        _say(f"started {count} workers (pids {', '.join(map(str, pool.pids()))})")
        if once:
            # Until each has published what was due, or a signal: then each is asked to
            # stop as gracefully as a single run --once (a cron job's timeout sends
            # SIGTERM to the supervisor alone, and waiting on the workers ignored it).
            pool.run_until(stop)
            if stop.is_set():
                stopped = pool.stop(stop_timeout)
                _say(f"stopped {_workers(len(stopped))} before they were done")
            return 0 if all(code == 0 for _, code in pool.exits) else 1
        pool.run_until(stop)
        waiting = pool.waiting()
        codes = pool.stop(stop_timeout)
        _say(_stopped(len(codes), waiting))
        return 0
    finally:
        for sig, previous in handlers.items():
            signal.signal(sig, previous)
        if not pool._stopping:
            pool.stop(stop_timeout)
