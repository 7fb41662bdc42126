"""An application's worker process and its web process sharing one SQLite file.

The worker is a script that embeds ``Scheduler.start()`` and stops it on SIGTERM, as a
service would; the test is the other process, scheduling, pausing and cancelling through
its own scheduler. The worker's platform appends each post it receives to a file (the
"platform side"), and a post whose text starts with ``hold`` waits in its publish call
until the test writes to a FIFO, so the test knows when a publish is in flight.

No sleeps: every wait is for a line the worker prints or for an event in the store's
log (``follow``), each bounded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from socialkit import Account, AsyncScheduler, Post, PublicationState
from socialkit.platforms.registry import Registry

S = PublicationState
WAIT = 30.0  # seconds: a bound on each wait, never a delay

WORKER = r"""
import asyncio, json, signal, sys
from pathlib import Path

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # before any thread starts

import attrs
from socialkit import (Capabilities, EngineConfig, Idempotency, MemoryCredentialProvider,
    Platform, PostRef, Receipt, Registry, Scheduler)
from socialkit.text.rules import FEED

store, outdir, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
SECRET = "tok-" + "s3cr3t-value-never-shown"


def release(text):
    with (outdir / f"{text}.fifo").open() as fifo:  # blocks until the test writes
        fifo.read()


class Gate(Platform):
    name = "gate"
    contract = 1
    capabilities = Capabilities(
        text=FEED, idempotency=Idempotency.KEY, requires_credentials=True
    )

    async def publish(self, draft, ctx):
        assert ctx.credentials.require("access_token") == SECRET
        text = draft.parts[0].text
        if text.startswith("hold"):
            print(f"HOLD {text}", flush=True)
            await asyncio.to_thread(release, text)
        with (outdir / "platform.jsonl").open("a") as f:
            f.write(json.dumps({"id": ctx.publication_id, "text": text}) + "\n")
        return Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=(PostRef(id=ctx.publication_id),),
            published_at=ctx.now(),
        )


registry = Registry(load_entry_points=False)
registry.register(Gate)
credentials = MemoryCredentialProvider(
    {a: {"access_token": SECRET} for a in ("acme", "brand")}
)
config = EngineConfig(worker_id=name)
scheduler = Scheduler(store, registry=registry, credentials=credentials, config=config)
scheduler.open()
# Says when this process's store noticed another process's commit (see Worker.settle).
scheduler.aio.store.subscribe(lambda: print("NOTIFIED", flush=True))
scheduler.start()
print("READY", flush=True)
signal.sigwait({signal.SIGTERM})
print("STOPPING", flush=True)
stats = scheduler.stop()
scheduler.close()
print("STATS " + json.dumps(attrs.asdict(stats)), flush=True)
"""


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process, outdir: Path) -> None:
        self.proc = proc
        self.outdir = outdir
        self.lines: list[str] = []

    async def expect(self, prefix: str, *, wait: float = WAIT) -> str:
        assert self.proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), wait)
            if not raw:
                raise AssertionError(f"worker exited before {prefix!r}; printed {self.lines}")
            line = raw.decode().rstrip("\n")
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    async def settle(self, app: AsyncScheduler) -> None:
        """Wait until the worker's store notices this process's commits.

        Its first check of ``PRAGMA data_version`` only takes a baseline, so a commit
        made before that check is never noticed (see
        ``test_a_commit_before_the_first_check_is_noticed``): commit until one is.
        """
        for _ in range(5):
            await app.add_account(ACME)
            try:
                await self.expect("NOTIFIED", wait=3.0)
            except TimeoutError:
                continue
            return
        raise AssertionError(f"the worker never noticed a commit; it printed {self.lines}")

    def hold(self, text: str) -> None:
        os.mkfifo(self.outdir / f"{text}.fifo")

    async def release(self, text: str) -> None:
        def write() -> None:
            with (self.outdir / f"{text}.fifo").open("w") as fifo:
                fifo.write("go")

        await asyncio.wait_for(asyncio.to_thread(write), WAIT)

    def published(self) -> list[str]:
        path = self.outdir / "platform.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["text"] for line in path.read_text().splitlines()]

    async def terminate(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        await self.expect("STOPPING")
        return await self.finish()

    async def finish(self) -> dict[str, Any]:
        stats = json.loads((await self.expect("STATS ")).removeprefix("STATS "))
        assert await asyncio.wait_for(self.proc.wait(), WAIT) == 0
        assert self.proc.stderr is not None
        self.stderr = (await self.proc.stderr.read()).decode()
        return dict(stats)


async def spawn(tmp_path: Path, name: str) -> Worker:
    outdir = tmp_path / "out"
    outdir.mkdir(exist_ok=True)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        f"sqlite:///{tmp_path}/app.db",
        str(outdir),
        name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    made = Worker(proc, outdir)
    await made.expect("READY")
    return made


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[Any]:
    made: list[Worker] = []

    async def make(name: str = "w1") -> Worker:
        made.append(await spawn(tmp_path, name))
        return made[-1]

    try:
        yield make
    finally:
        for worker in made:
            if worker.proc.returncode is None:
                worker.proc.kill()
                await worker.proc.wait()


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[AsyncScheduler]:
    # The web process: no platform installed here, and none is needed to schedule.
    async with AsyncScheduler(
        f"sqlite:///{tmp_path}/app.db", registry=Registry(load_entry_points=False)
    ) as made:
        yield made


ACME = Account(id="acme", platform="gate", handle="acme")
BRAND = Account(id="brand", platform="gate", handle="brand")


async def until(app: AsyncScheduler, since: int, pub_id: str, state: S) -> int:
    """The seq of the event that moved ``pub_id`` to ``state`` (after ``since``)."""

    async def find() -> int:
        async for event in app.follow(since=since):
            if event.publication_id == pub_id and event.to_state == state:
                return event.seq
        raise AssertionError("the event log ended")

    return await asyncio.wait_for(find(), WAIT)


async def cursor(app: AsyncScheduler) -> int:
    events = await app.events(since=0, limit=1_000_000)
    return events[-1].seq if events else 0


async def now_post(app: AsyncScheduler, text: str, account: Account) -> str:
    [pub] = await app.schedule(Post(text=text), account, at=dt.datetime.now(dt.UTC))
    return pub.id


async def test_the_worker_sees_another_process_schedule_pause_resume_and_cancel(
    workers: Any, app: AsyncScheduler
) -> None:
    worker = await workers()
    await worker.settle(app)
    since = await cursor(app)
    first = await now_post(app, "hello", ACME)
    since = await until(app, since, first, S.PUBLISHED)  # woke for another process's insert

    # A publish in flight on acme, and the next acme post waiting behind it (one per account).
    worker.hold("hold-1")
    held = await now_post(app, "hold-1", ACME)
    await worker.expect("HOLD hold-1")
    behind = await now_post(app, "behind", ACME)
    cancelled = await now_post(app, "cancelled", ACME)
    assert await app.pause(account="acme", actor="ann", reason="crisis") == 2
    assert (await app.cancel(cancelled, actor="ann")).state == S.CANCELLED
    await worker.release("hold-1")
    since = await until(app, since, held, S.PUBLISHED)  # in flight: it finishes

    # The worker's next claims skip the paused account: a brand post goes out, acme's waits.
    probe = await now_post(app, "probe", BRAND)
    since = await until(app, since, probe, S.PUBLISHED)
    assert (await app.get(behind)).state == S.PAUSED
    assert "behind" not in worker.published()

    assert await app.resume(account="acme", actor="ann") == 1
    await until(app, since, behind, S.PUBLISHED)
    stats = await worker.terminate()
    assert (stats["claimed"], stats["handed_back"]) == (4, 0)
    # Each post reached the platform once, in order; the cancelled one never did.
    assert worker.published() == ["hello", "hold-1", "probe", "behind"]
    assert (await app.get(cancelled)).state == S.CANCELLED


async def test_sigterm_finishes_the_publish_in_flight_and_strands_nothing(
    workers: Any, app: AsyncScheduler
) -> None:
    first = await workers("w1")
    await first.settle(app)
    since = await cursor(app)
    first.hold("hold-2")
    in_flight = await now_post(app, "hold-2", ACME)
    await first.expect("HOLD hold-2")
    behind = await now_post(app, "behind", ACME)  # due, waiting for acme's publish

    first.proc.send_signal(signal.SIGTERM)
    await first.expect("STOPPING")
    await first.release("hold-2")
    stats = await first.finish()

    assert (stats["claimed"], stats["handed_back"]) == (1, 0)
    assert (await app.get(in_flight)).state == S.PUBLISHED
    waiting = await app.get(behind)
    assert (waiting.state, waiting.attempt) == (S.SCHEDULED, 0)  # never leased by w1
    assert first.published() == ["hold-2"]

    # A new worker takes it at once: no lease of the stopped one to wait out.
    second = await workers("w2")  # its first claim finds it: no wake-up needed
    since = await until(app, since, behind, S.PUBLISHED)
    await second.terminate()
    assert second.published() == ["hold-2", "behind"]  # the platform's whole log
    # The credential the workers' platform used is in none of their output, nor the log.
    for worker in (first, second):
        assert "s3cr3t" not in worker.stderr
        assert not any("s3cr3t" in line for line in worker.lines)
    events = await app.events(since=0, limit=1_000_000)
    assert not any("s3cr3t" in event.model_dump_json() for event in events)


async def test_a_commit_before_the_first_check_is_noticed(tmp_path: Path) -> None:
    from socialkit.schedule import store_from_url

    url = f"sqlite:///{tmp_path}/app.db"
    web = store_from_url(url)
    await web.open()
    worker = store_from_url(f"{url}?poll=1")  # its first check: a second after it opens
    await worker.open()
    noticed = asyncio.Event()
    loop = asyncio.get_running_loop()
    worker.subscribe(lambda: loop.call_soon_threadsafe(noticed.set))
    assert await worker.next_due(now=dt.datetime.now(dt.UTC)) is None  # the thread polls
    try:
        await web.put_account(ACME, now=dt.datetime.now(dt.UTC))  # well within that second
        await asyncio.wait_for(noticed.wait(), 5.0)  # checks at 1 s, 2 s, ...
    finally:
        await worker.close()
        await web.close()
