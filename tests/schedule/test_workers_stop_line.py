"""``run --workers N``: the supervisor's last line says what it stopped."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from socialkit.schedule import workers
from socialkit.schedule.workers import WorkerPool

DIES = [sys.executable, "-c", "import sys; sys.exit(3)"]


def test_workers_waiting_for_a_restart_are_not_said_to_be_stopped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Workers that keep dying (a store they cannot reach) wait in their backoff when the
    # supervisor is stopped: it used to say "stopped 0 workers".
    def dies(**_: object) -> list[str]:
        return DIES

    def until_all_died(pool: WorkerPool, stop: threading.Event, poll: float = 0.2) -> None:
        for process in [s.process for s in pool._slots]:
            assert process is not None
            process.wait()
        pool.check()  # each is noticed and waits its backoff (1 s) to be restarted

    monkeypatch.setattr(workers, "worker_command", dies)
    monkeypatch.setattr(WorkerPool, "run_until", until_all_died)
    assert workers.run_workers(2) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "socialkit run: no worker was running to stop: 2 workers had exited and were "
        "waiting to be restarted"
    )


def test_the_stop_line_counts_in_words() -> None:
    assert workers._stopped(1, 0) == "stopped 1 worker"
    assert workers._stopped(3, 0) == "stopped 3 workers"
    assert workers._stopped(2, 1) == (
        "stopped 2 workers; 1 worker had exited and was waiting to be restarted"
    )
    assert workers._stopped(0, 0) == "no worker was running to stop"


# A worker that stops as run --once does on SIGTERM (exit 0), and otherwise runs on for
# a while and exits 5, so a supervisor that ignored the signal returns 1 (after 20 s).
_SLOW = """
import os, pathlib, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
pathlib.Path(sys.argv[1], "ready-" + os.environ["SOCIALKIT_WORKER_INDEX"]).touch()
time.sleep(20)
sys.exit(5)
"""


def test_run_workers_once_passes_a_sigterm_on_to_its_workers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def slow(**_: object) -> list[str]:
        return [sys.executable, "-c", _SLOW, str(tmp_path)]

    def terminate_when_both_are_ready() -> None:
        while len(list(tmp_path.glob("ready-*"))) < 2:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(workers, "worker_command", slow)
    threading.Thread(target=terminate_when_both_are_ready, daemon=True).start()
    assert workers.run_workers(2, once=True, stop_timeout=30) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "socialkit run: stopped 2 workers before they were done"
    )
