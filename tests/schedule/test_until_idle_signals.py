"""``Scheduler.run(until_idle=True)`` (``socialkit run --once``) stops gracefully on
SIGTERM and SIGINT, as ``run()`` does: a cron job's timeout killed the process mid-publish,
the send left ``publishing`` (reconciled a lease later) and the worker counted as live."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """\
import datetime as dt, json, os, signal, sys, threading, time

import socialkit
from socialkit.platforms.capabilities import Capabilities
from socialkit.platforms.registry import Registry
from socialkit.text.rules import FEED
from tests.cli.plugins import plugin

sending = threading.Event()


class Slow(socialkit.Platform):
    name = "slow"
    contract = 1
    capabilities = Capabilities(text=FEED, requires_credentials=False)

    async def publish(self, draft, ctx):
        import asyncio

        sending.set()
        await asyncio.sleep(0.5)  # the signal lands while this send is in flight
        return socialkit.Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(socialkit.PostRef(id=draft.text),),
            published_at=ctx.now(),
        )


account = socialkit.Account(id="acme-slow", platform="slow", handle="acme")
scheduler = socialkit.Scheduler(
    "sqlite:///jobs.db", registry=Registry(plugins=[plugin(Slow)]), accounts=[account]
)
now = dt.datetime.now(dt.UTC)
for n in range(3):  # one account: one send at a time, the other two wait for it
    scheduler.schedule(socialkit.Post(text=f"post {n}"), account, at=now)


def signal_once_sending() -> None:
    sending.wait(30)
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))


threading.Thread(target=signal_once_sending, daemon=True).start()
stats = scheduler.run(until_idle=True)
states = sorted(p.state.value for p in scheduler.list(limit=10).items)
print(json.dumps({"claimed": stats.claimed, "states": states}))
scheduler.close()
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_run_until_idle_gracefully(tmp_path: Path, sig: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, sig],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (signal.Signals(-done.returncode).name if done.returncode < 0
                                  else done.stderr)  # fmt: skip
    result = json.loads(done.stdout)
    # The send in flight finished; the two not claimed yet stayed for the next run.
    assert result == {"claimed": 1, "states": ["published", "scheduled", "scheduled"]}
