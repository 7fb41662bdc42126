from __future__ import annotations

from socialkit.text._tlds import COUNTRY_TLDS, GENERIC_TLDS
from tests.text._data import twitter_text


def _tlds(group: str) -> set[str]:
    prefix = "https://twitter."
    return {case["text"].removeprefix(prefix) for case in twitter_text("tlds")[group]}


def test_the_tld_data_matches_the_conformance_file() -> None:
    assert _tlds("country") == COUNTRY_TLDS
    assert _tlds("generic") == GENERIC_TLDS
    assert not COUNTRY_TLDS & GENERIC_TLDS
