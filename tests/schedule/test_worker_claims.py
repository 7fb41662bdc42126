"""When committed outcomes set off the worker's next claim at once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from socialkit.schedule.engine.worker import Worker


def worker_with(publishes: int) -> Worker:
    worker = Worker(cast(Any, SimpleNamespace()))
    worker.dispatcher.jobs.update({f"p{i}": cast(Any, None) for i in range(publishes)})
    return worker


def test_a_claim_goes_at_once_when_an_eighth_of_the_publishes_are_free() -> None:
    worker = worker_with(16)
    assert not worker.outcomes_committed(1)  # one of sixteen accounts free: wait
    assert worker.outcomes_committed(1)  # two of sixteen: claim now


def test_the_last_publish_in_flight_sets_off_the_next_claim() -> None:
    # Metric collections in flight (tasks, not publishes) free no account: they do not
    # hold the claim back.
    worker = worker_with(1)
    worker._tasks.update(cast(Any, object()) for _ in range(8))  # eight collections
    assert worker.outcomes_committed(1)


def test_a_big_batch_of_outcomes_claims_at_once() -> None:
    worker = worker_with(200)
    assert worker.outcomes_committed(25)
