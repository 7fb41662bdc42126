"""Record keys: valid TIDs, fixed by the idempotency key and the first attempt's instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from socialkit_bluesky import decode_tid, derive_record_key, encode_tid
from socialkit_bluesky._tid import TID_PATTERN, format_created_at

ANCHOR = datetime(2026, 5, 4, 9, 30, 0, 123456, tzinfo=UTC)


@given(st.integers(0, 2**53 - 1), st.integers(0, 1023))
def test_tid_round_trips_and_matches_the_spec_syntax(timestamp: int, clock_id: int) -> None:
    tid = encode_tid(timestamp, clock_id)
    assert TID_PATTERN.match(tid), tid
    assert decode_tid(tid) == (timestamp, clock_id)


@given(st.integers(0, 2**53 - 2), st.integers(0, 1023), st.integers(0, 1023))
def test_tids_sort_by_time_as_strings(timestamp: int, clock_a: int, clock_b: int) -> None:
    assert encode_tid(timestamp, clock_a) < encode_tid(timestamp + 1, clock_b)


def test_known_tid_value() -> None:
    # 2023-01-01T00:00:00Z in microseconds, clock id 0, written by hand from the spec.
    micros = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    tid = encode_tid(micros, 0)
    assert len(tid) == 13
    assert tid[0] == "3"  # every TID of this decade starts with '3'
    assert decode_tid(tid) == (micros, 0)


@pytest.mark.parametrize(("timestamp", "clock_id"), [(-1, 0), (2**53, 0), (0, -1), (0, 1024)])
def test_out_of_range_parts_are_refused(timestamp: int, clock_id: int) -> None:
    with pytest.raises(ValueError, match="TID"):
        encode_tid(timestamp, clock_id)


@pytest.mark.parametrize(
    "bad", ["", "3jzfcijpj2z2", "3jzfcijpj2z2aa", "kjzfcijpj2z2a", "3JZFCIJPJ2Z2A"]
)
def test_decode_refuses_what_is_not_a_tid(bad: str) -> None:
    with pytest.raises(ValueError, match="not a TID"):
        decode_tid(bad)


def test_same_key_and_anchor_give_the_same_record_key() -> None:
    assert derive_record_key("pub-1-0", ANCHOR) == derive_record_key("pub-1-0", ANCHOR)


def test_record_key_encodes_the_anchor_and_created_at_matches_it() -> None:
    key = derive_record_key("pub-1-0", ANCHOR, offset_ms=2)
    micros, _ = decode_tid(key.rkey)
    instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    # the TID's time is the anchor's millisecond (+ offset) plus < 1 ms from the key's hash
    assert (
        timedelta(0)
        <= instant - datetime(2026, 5, 4, 9, 30, 0, 125000, tzinfo=UTC)
        < timedelta(milliseconds=1)
    )
    assert key.created_at == "2026-05-04T09:30:00.125Z"


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_different_keys_give_different_record_keys(a: str, b: str) -> None:
    if a != b:
        assert derive_record_key(a, ANCHOR).rkey != derive_record_key(b, ANCHOR).rkey


def test_thread_parts_get_increasing_keys_and_times() -> None:
    keys = [derive_record_key(f"pub-1-{i}", ANCHOR, offset_ms=i) for i in range(5)]
    assert [k.rkey for k in keys] == sorted(k.rkey for k in keys)
    assert [k.created_at for k in keys] == sorted(k.created_at for k in keys)


def test_anchor_must_be_aware_and_offset_not_negative() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        derive_record_key("k", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="offset_ms"):
        derive_record_key("k", ANCHOR, offset_ms=-1)


def test_created_at_is_utc_with_milliseconds() -> None:
    from zoneinfo import ZoneInfo

    tehran = datetime(2026, 3, 20, 12, 0, 0, 999999, tzinfo=ZoneInfo("Asia/Tehran"))
    assert format_created_at(tehran) == "2026-03-20T08:30:00.999Z"
