"""URL scanning on adversarial texts: bounded work, and the same matches as the grammar.

``twitter._scan_urls`` finds the matches of the one-pattern grammar (``_url_pattern``)
without trying the pattern at every position, and ``twitter._ascii_hosts`` the ASCII host
names of a URL without a scheme (``_ascii_domain_pattern``) without searching its host
from every position; these tests count the positions and regex calls (no timing) and
compare their matches with the patterns' own.
"""

from __future__ import annotations

import encodings.punycode
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialkit.text import extract_entities, measure, rules, twitter

if TYPE_CHECKING:
    from socialkit.text.twitter import _HostSpans, _UrlMatch


def _reference(text: str) -> list[_UrlMatch]:
    return [
        twitter._UrlMatch(
            m["before"],
            m.start("url"),
            m["protocol"],
            m.start("domain"),
            m.end("domain"),
            m["path"],
            m.end("url"),
        )
        for m in twitter._url_pattern().finditer(text)
    ]


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The positions where the URL pattern is tried, in order."""
    tried: list[int] = []
    original = twitter._url_at

    def counting(text: str, start: int, hosts: _HostSpans) -> _UrlMatch | None:
        tried.append(start)
        return original(text, start, hosts)

    monkeypatch.setattr(twitter, "_url_at", counting)
    return tried


class _Recording:
    """A compiled pattern that records each call: (pattern, method, string)."""

    def __init__(self, name: str, pattern: Any, calls: list[tuple[str, str, str]]) -> None:
        self._name, self._pattern, self._calls = name, pattern, calls

    def __getattr__(self, method: str) -> Any:
        real = getattr(self._pattern, method)

        def call(string: str, *args: Any) -> Any:
            self._calls.append((self._name, method, string))
            return real(string, *args)

        return call


@pytest.fixture
def regex_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Every call of one of the URL patterns, in order."""
    calls: list[tuple[str, str, str]] = []
    real = twitter._url_patterns()
    fields = attrs.fields(type(real))
    recording = attrs.evolve(
        real, **{f.name: _Recording(f.name, getattr(real, f.name), calls) for f in fields}
    )
    monkeypatch.setattr(twitter, "_url_patterns", lambda: recording)
    return calls


@pytest.mark.parametrize("labels", [500, 5_000, 20_000])
def test_dot_separated_labels_try_the_pattern_a_bounded_number_of_times(
    attempts: list[int], labels: int
) -> None:
    # The grammar tried a host after every dot, reading up to 127 labels from each.
    text = "a." * labels + "com"
    assert twitter.extract_urls(text) == []  # the match found starts after a "."
    assert 1 <= len(attempts) <= 2
    assert measure(text, rules.X).length == len(text)


@pytest.mark.parametrize(
    "text",
    [
        "é" * 20_000 + ".a x.com",  # every "é" may precede a host; none reaches a TLD
        "a-" * 10_000 + "a.b x.com",
        "a_" * 10_000 + "a.b x.com",
        ("a." * 125 + "a-.com ") * 80,  # the last label cannot be a domain name
    ],
)
def test_runs_without_a_reachable_tld_are_not_tried(attempts: list[int], text: str) -> None:
    urls = twitter.extract_urls(text)
    assert len(attempts) <= 2
    assert [url for _, _, _, url in urls] == (["x.com"] if text.endswith("x.com") else [])


def test_a_url_after_a_long_adversarial_run_is_still_found(attempts: list[int]) -> None:
    text = "a." * 5_000 + " https://example.com/path and example.org"
    urls = [(start, end, url) for _, start, end, url in twitter.extract_urls(text)]
    start = text.index("https://")
    assert urls == [
        (start, start + len("https://example.com/path"), "https://example.com/path"),
        (len(text) - len("example.org"), len(text), "example.org"),
    ]
    assert len(attempts) <= 4
    kinds = [(e.kind, e.value) for e in extract_entities(text, rules.X)]
    assert kinds == [("url", "https://example.com/path"), ("url", "example.org")]


@pytest.mark.parametrize("hosts", [1, 2, 5])
@pytest.mark.parametrize(
    ("last", "found"),
    [("ж.com", None), ("ж.a.com", "a.com"), ("com", ("a" * 62 + ".") * 60 + "com")],
)
def test_ascii_host_names_are_found_from_the_labels(
    regex_calls: list[tuple[str, str, str]], hosts: int, last: str, found: str | None
) -> None:
    # A URL without a scheme keeps the ASCII host names in its host; searching them from
    # every position read all the labels after it (a 3,786-char host: 150 ms).
    text = (("a" * 62 + ".") * 60 + last + " ") * hosts
    urls = [url for _, _, _, url in twitter.extract_urls(text)]
    assert urls == ([found] * hosts if found else [])
    # every pattern runs over the text itself, never over a host cut out of it
    assert {name for name, _, string in regex_calls if string is not text} == set()
    # the whole text is searched a few times, and once per host for where it starts
    searches = [name for name, method, _ in regex_calls if method in ("search", "finditer")]
    assert len(searches) <= 3 + 2 * hosts
    # the top-level domain is tried once per dot of a host at most
    assert sum(name == "tld" for name, _, _ in regex_calls) <= text.count(".")


def test_a_label_too_long_to_fit_is_not_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Punycode encoding takes time quadratic in a label's distinct characters (a label of
    # 2,000 CJK ideographs: 0.4 s, 8,000: 6 s); it never makes a label shorter, so one of
    # more than 63 characters cannot fit and needs no encoding.
    encoded: list[int] = []
    real = encodings.punycode.punycode_encode

    def recording(label: str) -> bytes:
        encoded.append(len(label))
        return real(label)

    monkeypatch.setattr(encodings.punycode, "punycode_encode", recording)
    long = "".join(chr(0x4E00 + i) for i in range(2_000))
    fits = "".join(chr(0x4E00 + i) for i in range(10))
    text = f"http://{long}.com {long}.a.com http://{fits}.com"
    urls = [url for _, _, _, url in twitter.extract_urls(text)]
    assert urls == [f"http://{fits}.com"]
    assert all(length <= twitter.MAX_LABEL_LENGTH for length in encoded)
    assert twitter._label_fits("a" * 63)
    assert not twitter._label_fits("a" * 64)
    assert not twitter._label_fits("\u3002".join(["a" * 31, "b" * 32]))


@pytest.mark.parametrize("labels", [100, 126, 127, 128, 300])
def test_the_subdomain_cap_gives_the_grammars_matches(labels: int) -> None:
    for text in (
        "a." * labels + "com",
        "x " + "a." * labels + "com/path",
        "a_b." * labels + "com",
        "é" + "a." * labels + "com.a.com",
        ("a." * labels + "com.") * 2,
        "https://" + "a." * labels + "jp",
    ):
        assert twitter._scan_urls(text) == _reference(text)


_PIECES = st.sampled_from(
    [
        "a", "é", "ж", "x", ".", ".", "-", "_", "/", ":", " ", "com", "co", "jp",
        "xn--p1ai", "xn--", "http://", "https://", "HTTP://", "@", "#", "$", "?q=1",
        "(", ")", "0", "ſ", "中国", "рф", ".com", "-a", "a-", "_b", "/p", "www.", "t.co/x",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_scan_finds_the_grammars_matches(text: str) -> None:
    assert twitter._scan_urls(text) == _reference(text)


_HOST_PIECES = st.sampled_from(
    [
        "a", "ab", "Z", "é", "ж", "0", ".", ".", ".", "-", "_", "com", "co", "jp", "COM",
        "xn--p1ai", "comé", "рф", "ſ", "\u212a", " ", "a" * 63,
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_HOST_PIECES, max_size=30).map("".join), st.data())
def test_the_ascii_host_names_are_the_patterns_matches(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    expected = [
        (start + m.start(), start + m.end())
        for m in twitter._ascii_domain_pattern().finditer(text[start:end])
    ]
    assert twitter._ascii_hosts(text, start, end, twitter._ascii_runs(text)) == expected
