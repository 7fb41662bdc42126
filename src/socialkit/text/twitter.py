"""Entities by twitter-text's rules (v3): URLs, hashtags, mentions, lists and cashtags.

The patterns follow twitter-text's published grammar and are checked against its
conformance suite (``extract.yml``, ``tlds.yml``, ``validate.yml``): a URL needs a known
top-level domain (so ``example.com`` is a link without a scheme, ``file.tar.bz2`` is
not), every host label must fit in 63 characters once punycode-encoded, and a hashtag
may hold letters, marks and digits of any script with ZWNJ/ZWJ and a few joiners inside
(Persian ``#می‌خواهم`` stays whole; ``#۱۲۳`` has no letter and is no hashtag).

Offsets are code point offsets into the text as given. Functions return plain
``(kind, start, end, value)`` tuples; :mod:`socialkit.text.entities` turns them into
:class:`~socialkit.text.entities.Entity` objects.
"""

from __future__ import annotations

import bisect
import functools
import re
from typing import NamedTuple

import attrs
import regex

from socialkit.text._tlds import COUNTRY_TLDS, GENERIC_TLDS

__all__ = [
    "RawEntity",
    "extract",
    "extract_cashtags",
    "extract_hashtags",
    "extract_mentions",
    "extract_urls",
    "remove_overlaps",
]

RawEntity = tuple[str, int, int, str]
"""``(kind, start, end, value)`` with code point offsets."""

MAX_URL_LENGTH = 4096
MAX_TCO_SLUG_LENGTH = 40
MAX_LABEL_LENGTH = 63


def _trie(words: frozenset[str]) -> str:
    """A regex alternation of ``words`` as a trie, longest alternative tried first."""
    children: dict[str, set[str]] = {}
    terminal = False
    for word in words:
        if not word:
            terminal = True
        else:
            children.setdefault(word[0], set()).add(word[1:])
    branches = [
        re.escape(first) + _trie(frozenset(rests)) for first, rests in sorted(children.items())
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if len(branches) == 1 and len(body) > 1 and not body.startswith("(?:"):
        body = "(?:" + body + ")"
    return body + "?" if terminal else body


# -- character classes (twitter-text's groups) ---------------------------------------------
_SPACES = r"\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_INVALID = r"\ufffe\ufeff\uffff"
_DIRECTIONAL = r"\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_PUNCT_BASE = r"!'#%&()*+,\\./:;<=>?@\[\]^{|}~$"  # twitter-text's punct, less "_" and "-"
_LATIN_ACCENTS = (
    r"\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b"
    r"\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = r"\u0400-\u04ff"
_NOT_DOMAIN = _SPACES + _INVALID + _DIRECTIONAL

# A host label starts and ends with a domain character; "_" may appear inside subdomain
# labels, "-" inside any label. Runs are possessive: a label must run up to its ".", so
# giving characters back can never help and only costs time on long texts. At most 126
# subdomains (DNS allows 127 labels in all), which bounds the work at each position.
_DOMAIN_CHAR = rf"[^{_PUNCT_BASE}_\-{_NOT_DOMAIN}]"
_SUBDOMAIN = rf"(?:{_DOMAIN_CHAR}[^{_PUNCT_BASE}{_NOT_DOMAIN}]*+(?<![_-])\.)"
_DOMAIN_NAME = rf"(?:{_DOMAIN_CHAR}[^{_PUNCT_BASE}_{_NOT_DOMAIN}]*+(?<!-)\.)"
_TLD_END = r"(?=[^0-9a-zA-Z@+\-]|\Z)"
_GTLD = rf"(?:{_trie(GENERIC_TLDS)}){_TLD_END}"
_CCTLD = rf"(?:{_trie(COUNTRY_TLDS)}){_TLD_END}"
_PUNYCODE = r"xn--[\-0-9a-z]+"
_TLD = rf"(?:{_GTLD}|{_CCTLD}|{_PUNYCODE})"
_MAX_SUBDOMAINS = 126  # as twitter-text; the linear host scan keeps to the same bound
_DOMAIN = rf"(?:{_SUBDOMAIN}{{0,{_MAX_SUBDOMAINS}}}{_DOMAIN_NAME}{_TLD})"

_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
_PATH_END = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{_BALANCED_PARENS})"
_PATH = (
    rf"(?:(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END})"
    rf"|(?:@{_PATH_CHAR}+/))"
)
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"

# Case-insensitive as in JavaScript without the u flag, which also folds non-ASCII letters
# onto each other (so "ʒ" matches the Latin range holding "Ʒ"); it differs only in never
# folding a non-ASCII letter onto an ASCII one ("ſ", the Kelvin sign), which Python does.
_FLAGS = re.IGNORECASE
_BEFORE = rf"[^A-Za-z0-9@\uff20$#\uff03{_INVALID}]"
_PROTOCOL = r"https?://"
_URL_TAIL = (
    r"(?::(?P<port>[0-9]+))?"
    rf"(?P<path>/{_PATH}*)?"
    rf"(?P<query>\?{_QUERY_CHAR}*{_QUERY_END})?"
)
# twitter-text's URL grammar as one pattern. Its finditer tries a host at every position
# after a non-alphanumeric character and reads up to 127 labels ahead from each, so a long
# run of labels without a reachable top-level domain ("a.a.a.…", "é…é.x") costs the text's
# length times the labels read. ``_scan_urls`` finds the same matches in linear time;
# tests compare the two.
_URL_SOURCE = (
    rf"(?P<before>{_BEFORE}|^)"
    r"(?P<url>"
    rf"(?P<protocol>{_PROTOCOL})?"
    rf"(?P<domain>{_DOMAIN})"
    rf"{_URL_TAIL}"
    r")"
)
_LABEL_CHAR = rf"[^{_PUNCT_BASE}{_NOT_DOMAIN}]"  # what a host label's possessive run reads
# twitter-text keeps, of a URL without a scheme, the matches of this in its host: the same
# pattern tried at every position of a host backtracks over all the labels after it (a
# host of 60 ASCII labels before "ж.com"), so ``_ascii_hosts`` finds them from its labels.
_ASCII_HOST_CHAR = rf"[\-a-z0-9{_LATIN_ACCENTS}]"
_ASCII_DOMAIN = rf"(?:{_ASCII_HOST_CHAR}+\.)+{_TLD}"


@attrs.frozen
class _UrlPatterns:
    tld_dot: re.Pattern[str]
    tld: re.Pattern[str]
    ascii_run: re.Pattern[str]
    ascii_host: re.Pattern[str]
    ascii_tld: re.Pattern[str]
    chain: re.Pattern[str]
    start: re.Pattern[str]
    before: re.Pattern[str]
    protocol: re.Pattern[str]
    tail: re.Pattern[str]


@functools.cache
def _url_patterns() -> _UrlPatterns:
    """The URL patterns, compiled on first use: the TLD list makes them slow to compile."""
    return _UrlPatterns(
        # A URL needs ".tld" somewhere; finding none first spares texts full of dots (a
        # long CJK text with ASCII full stops) any further work. No TLD holds a ".", so
        # finditer finds every dot a TLD follows.
        tld_dot=re.compile(rf"\.{_TLD}", _FLAGS),
        tld=re.compile(_TLD, _FLAGS),
        # A whole run of ASCII host characters that a dot ends.
        ascii_run=re.compile(rf"(?<!{_ASCII_HOST_CHAR}){_ASCII_HOST_CHAR}++(?=\.)", _FLAGS),
        ascii_host=re.compile(rf"(?:{_ASCII_HOST_CHAR}|\.)++", _FLAGS),
        ascii_tld=re.compile(rf"{_ASCII_HOST_CHAR}\.{_TLD}", _FLAGS),
        # Labels joined by single dots, from the start of a label run.
        chain=re.compile(rf"(?<!{_LABEL_CHAR}){_LABEL_CHAR}++(?:\.{_LABEL_CHAR}++)+", _FLAGS),
        # Where the URL pattern can start: its "before" character, then a label character
        # that may begin a host.
        start=re.compile(rf"{_BEFORE}(?={_DOMAIN_CHAR})", _FLAGS),
        before=re.compile(_BEFORE, _FLAGS),
        protocol=re.compile(_PROTOCOL, _FLAGS),
        tail=re.compile(_URL_TAIL, _FLAGS),
    )


@functools.cache
def _url_pattern() -> re.Pattern[str]:
    """The whole grammar as one pattern (the reference ``_scan_urls`` is tested against)."""
    return re.compile(_URL_SOURCE, _FLAGS)


@functools.cache
def _ascii_domain_pattern() -> re.Pattern[str]:
    """The ASCII host names as one pattern (the reference ``_ascii_hosts`` is tested against)."""
    return re.compile(_ASCII_DOMAIN, _FLAGS)


_TCO_URL = re.compile(rf"https?://t\.co/([a-z0-9]+)(?:\?{_QUERY_CHAR}*{_QUERY_END})?", _FLAGS)
_NO_SCHEME_BEFORE = frozenset("-_./")
_IDNA_DOTS = re.compile("[\u3002\uff0e\uff61]")

# -- hashtags, mentions, cashtags ------------------------------------------------------------
_HASHTAG_ALPHA = r"[\p{L}\p{M}]"
_HASHTAG_ALNUM = (
    r"[\p{L}\p{M}\p{Nd}_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c"
    r"\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7]"
)
_HASHTAG = regex.compile(
    rf"(?P<before>^|\ufe0e|\ufe0f|(?!{_HASHTAG_ALNUM}|&).)"
    r"[#\uff03](?!\ufe0f|\u20e3)"
    rf"(?P<tag>{_HASHTAG_ALNUM}*{_HASHTAG_ALPHA}{_HASHTAG_ALNUM}*)",
    regex.DOTALL,
)
_HASHTAG_END = re.compile(r"[#\uff03]|://")

_MENTION = re.compile(
    r"(?P<before>^|[^a-zA-Z0-9_!#$%&*@\uff20]|(?:^|[^a-zA-Z0-9_+~.\-])(?:rt|RT|rT|Rt):?)"
    r"[@\uff20](?P<name>[a-zA-Z0-9_]{1,20})(?P<list>/[a-zA-Z][a-zA-Z0-9_\-]{0,24})?"
)
_MENTION_END = re.compile(rf"[@\uff20{_LATIN_ACCENTS}]|://")

_CASHTAG = re.compile(
    rf"(?P<before>^|[{_SPACES}])\$(?P<symbol>[a-z]{{1,6}}(?:[._][a-z]{{1,2}})?)"
    rf"(?=\Z|[{_SPACES}!'#%&()*+,\\\-./:;<=>?@\[\]^_{{|}}~$])",
    _FLAGS,
)


@functools.lru_cache(maxsize=4096)
def _label_fits(label: str) -> bool:
    """Whether one host label is 1..63 characters once punycode-encoded (JS punycode.toASCII)."""
    # Encoding never shortens a label (a digit at least per non-ASCII character), and it
    # takes time quadratic in a label's distinct characters: a longer label cannot fit.
    if len(label) > MAX_LABEL_LENGTH:
        return False
    parts = _IDNA_DOTS.sub(".", label).split(".")
    encoded = [
        part if part.isascii() else "xn--" + part.encode("punycode").decode() for part in parts
    ]
    return 1 <= len(".".join(encoded)) <= MAX_LABEL_LENGTH


def _valid_host(url: str, protocol: str, domain: str) -> bool:
    # punycode is ASCII by definition: some "x." + TLD (the shortest match of ascii_domain)
    if domain.startswith("xn--") and _url_patterns().ascii_tld.search(domain) is None:
        return False
    if not all(_label_fits(label) for label in domain.split(".")):
        return False
    return len(protocol) + len(url) <= MAX_URL_LENGTH


class _UrlMatch(NamedTuple):
    """One match of the URL pattern (``_URL_SOURCE``): its groups and offsets."""

    before: str
    start: int
    protocol: str | None
    domain_start: int
    domain_end: int
    path: str | None
    end: int


_HostSpans = tuple[list[int], list[tuple[int, int, int]]]


def _host_spans(text: str, tld_ends: dict[int, int]) -> _HostSpans:
    """Where ``_DOMAIN`` matches, in one pass over the labels of the text.

    ``(lo, hi, end)``: a host starting at ``p`` with ``lo <= p < hi`` and a character that
    may begin a label ends at ``end``. A host reads label runs up to their dots (the runs
    are possessive), so the labels after ``p`` are those of its dot-joined chain, and the
    pattern's greedy subdomain count picks the last label, among the next 126 of a run of
    valid subdomains, that can be the domain name before a TLD; failing that, the label
    holding ``p`` itself before a TLD (when no "_" follows ``p`` in it).
    """
    dots = list(tld_ends)
    spans: list[tuple[int, int, int]] = []
    size = len(text)
    for chain in _url_patterns().chain.finditer(text):
        chain_start, chain_end = chain.span()
        first = bisect.bisect_left(dots, chain_start)
        if first == len(dots) or dots[first] >= chain_end:
            continue  # no TLD in this chain
        labels = chain.group().split(".")
        count = len(labels)
        trailing_dot = chain_end < size and text[chain_end] == "."
        starts: list[int] = []
        ends_ok: list[bool] = []
        name_end: list[int] = []  # the TLD end when the label can be the domain name, else -1
        position = chain_start
        for label in labels:
            starts.append(position)
            position += len(label)
            ok = label[-1] not in "_-"
            ends_ok.append(ok)
            name_end.append(
                tld_ends.get(position, -1)
                if ok and label[0] not in "_-" and "_" not in label
                else -1
            )
            position += 1
        last_name = -1
        previous_name: list[int] = []  # the last name label at or before each index
        for k in range(count):
            if name_end[k] >= 0:
                last_name = k
            previous_name.append(last_name)
        # first label at or after k+1 that cannot be a subdomain (a chain breaks there)
        breaks = count
        found: list[tuple[int, int, int]] = []
        for k in range(count - 1, -1, -1):
            label_end = starts[k] + len(labels[k])
            end = -1
            if ends_ok[k] and k + 1 < count:
                best = previous_name[min(breaks, k + _MAX_SUBDOMAINS, count - 1)]
                if best > k:
                    end = name_end[best]
            if end >= 0:
                found.append((starts[k], label_end, end))
            elif ends_ok[k] and (tld_end := tld_ends.get(label_end, -1)) >= 0:
                found.append((starts[k] + labels[k].rfind("_") + 1, label_end, tld_end))
            if not (ends_ok[k] and labels[k][0] not in "_-" and (k + 1 < count or trailing_dot)):
                breaks = k
        spans.extend(reversed(found))
    return [lo for lo, _, _ in spans], spans


def _host_end(text: str, position: int, hosts: _HostSpans) -> int:
    """Where a host starting at ``position`` ends, or -1 (``_DOMAIN`` does not match)."""
    los, spans = hosts
    index = bisect.bisect_right(los, position) - 1
    if index < 0:
        return -1
    _, hi, end = spans[index]
    return end if position < hi and text[position] not in "_-" else -1


def _url_at(text: str, start: int, hosts: _HostSpans) -> _UrlMatch | None:
    """The URL pattern's match at ``start`` (its ``before`` character or ``^``), if any."""
    patterns = _url_patterns()
    befores: list[tuple[str, int]] = []
    if start < len(text) and patterns.before.match(text, start):
        befores.append((text[start], start + 1))
    if start == 0:
        befores.append(("", 0))
    for before, host in befores:
        protocol = patterns.protocol.match(text, host)
        if protocol is not None:
            end = _host_end(text, protocol.end(), hosts)
            if end >= 0:
                return _url_match(text, before, host, protocol.group(), protocol.end(), end)
        end = _host_end(text, host, hosts)
        if end >= 0:
            return _url_match(text, before, host, None, host, end)
    return None


def _url_match(
    text: str, before: str, start: int, protocol: str | None, domain_start: int, domain_end: int
) -> _UrlMatch:
    tail = _url_patterns().tail.match(text, domain_end)
    assert tail is not None  # every part of the tail is optional
    return _UrlMatch(before, start, protocol, domain_start, domain_end, tail["path"], tail.end())


def _scan_urls(text: str) -> list[_UrlMatch]:
    """``_URL_SOURCE``'s finditer matches, found in time linear in the text's length.

    The pattern is tried only where a host can start (from ``_host_spans``) and, behind
    such a host, after a protocol; and at the start of the text. A match found at one of
    these positions is the one finditer finds there, and finditer finds none elsewhere.
    """
    patterns = _url_patterns()
    tld_ends = {match.start(): match.end() for match in patterns.tld_dot.finditer(text)}
    if not tld_ends:
        return []
    hosts = _host_spans(text, tld_ends)
    if not hosts[1]:
        return []
    found: list[_UrlMatch] = []
    match = _url_at(text, 0, hosts)
    if match is not None:
        found.append(match)
    position = match.end if match is not None else 1
    for lo, hi, _ in hosts[1]:
        if hi <= position:
            continue
        for length in (7, 8):  # "http://", "https://" just before a host
            start = lo - length - 1
            if start >= position and patterns.protocol.fullmatch(text, lo - length, lo):
                match = _url_at(text, start, hosts)
                if match is not None:
                    found.append(match)
                    position = match.end
        while (candidate := patterns.start.search(text, max(lo - 1, position), hi)) is not None:
            match = _url_at(text, candidate.start(), hosts)
            if match is None:  # cannot happen: the span says a host starts there
                position = candidate.start() + 1
                continue
            found.append(match)
            position = match.end
    return found


_AsciiRuns = tuple[list[int], list[int]]


def _ascii_runs(text: str) -> _AsciiRuns:
    """The runs of ``_ASCII_HOST_CHAR`` in ``text`` that a dot ends: their starts and dots."""
    starts: list[int] = []
    dots: list[int] = []
    for run in _url_patterns().ascii_run.finditer(text):
        starts.append(run.start())
        dots.append(run.end())
    return starts, dots


def _ascii_hosts(text: str, start: int, end: int, runs: _AsciiRuns) -> list[tuple[int, int]]:
    """``_ASCII_DOMAIN``'s finditer spans in the host ``text[start:end]``, in linear time.

    From a position in a run that a dot ends, the pattern reads the run and its dot, then
    each label after it that is a whole such run (a block of runs joined by single dots),
    and backtracks to the last of those dots a TLD follows: the same end from any position
    of any run of the block up to that dot. So the TLD is tried at most once per dot, from
    the end of each block, and each block gives at most one match, from its first run that
    the previous match did not pass.
    """
    run_starts, dots = runs
    index = bisect.bisect_right(dots, start)
    last = bisect.bisect_left(dots, end)
    tld = _url_patterns().tld
    found: list[tuple[int, int]] = []
    position = start
    while index < last:
        block_end = index + 1
        while block_end < last and run_starts[block_end] == dots[block_end - 1] + 1:
            block_end += 1
        tld_end = -1
        name = block_end
        while name > index and tld_end < 0:
            name -= 1
            label = tld.match(text, dots[name] + 1, end)
            if label is not None:
                tld_end = label.end()
        if tld_end >= 0:
            for run in range(index, name + 1):
                host_start = max(run_starts[run], position)
                if host_start < dots[run]:
                    found.append((host_start, tld_end))
                    position = tld_end
                    break
        index = block_end
    return found


def extract_urls(text: str, *, without_protocol: bool = True) -> list[RawEntity]:
    """URLs by twitter-text's rules, with or without a scheme.

    Args:
        text: the text.
        without_protocol: also find scheme-less URLs (``example.com/path``), which
            twitter-text accepts only for ASCII host names.
    """
    if "." not in text if without_protocol else ":" not in text:
        return []
    patterns = _url_patterns()
    found: list[RawEntity] = []
    runs: _AsciiRuns | None = None
    for match in _scan_urls(text):
        start, end = match.start, match.end
        url = text[start:end]
        protocol = match.protocol
        domain = text[match.domain_start : match.domain_end]
        if not _valid_host(url, protocol or "https://", domain):
            continue
        if protocol is None:
            if not without_protocol or match.before in _NO_SCHEME_BEFORE:
                continue
            if patterns.ascii_host.fullmatch(text, match.domain_start, match.domain_end):
                # an ASCII host: the pattern reads all of it from its start
                hosts = [(match.domain_start, match.domain_end)]
            else:
                if runs is None:
                    runs = _ascii_runs(text)
                hosts = _ascii_hosts(text, match.domain_start, match.domain_end, runs)
            last: RawEntity | None = None
            for host_start, host_end in hosts:
                last = ("url", host_start, host_end, text[host_start:host_end])
                found.append(last)
            if last is None:
                continue
            if match.path:
                found[-1] = ("url", last[1], end, text[last[1] : end])
        else:
            tco = _TCO_URL.match(url)
            if tco is not None:
                if len(tco.group(1)) > MAX_TCO_SLUG_LENGTH:
                    continue
                url = tco.group()
                end = start + len(url)
            found.append(("url", start, end, url))
    return found


def extract_hashtags(text: str, *, check_url_overlap: bool = True) -> list[RawEntity]:
    """Hashtags by twitter-text's rules; value is the tag without ``#``."""
    if "#" not in text and "\uff03" not in text:
        return []
    found: list[RawEntity] = []
    for match in _HASHTAG.finditer(text):
        end = match.end()
        if _HASHTAG_END.match(text, end):
            continue
        found.append(("hashtag", match.end("before"), end, match["tag"]))
    if check_url_overlap and found:
        urls = extract_urls(text)
        if urls:
            found = [e for e in remove_overlaps(found + urls) if e[0] == "hashtag"]
    return found


def extract_mentions(text: str, *, lists: bool = True) -> list[RawEntity]:
    """``@user`` mentions (kind ``mention``) and ``@user/list`` lists (kind ``list``)."""
    if "@" not in text and "\uff20" not in text:
        return []
    found: list[RawEntity] = []
    for match in _MENTION.finditer(text):
        end = match.end()
        if _MENTION_END.match(text, end):
            continue
        start = match.end("before")
        if match["list"]:
            if lists:
                found.append(("list", start, end, match["name"] + match["list"]))
        else:
            found.append(("mention", start, end, match["name"]))
    return found


def extract_cashtags(text: str) -> list[RawEntity]:
    """``$TICKER`` cashtags by twitter-text's rules; value is the symbol without ``$``."""
    if "$" not in text:
        return []
    return [
        ("cashtag", match.end("before"), match.end(), match["symbol"])
        for match in _CASHTAG.finditer(text)
    ]


def remove_overlaps(entities: list[RawEntity]) -> list[RawEntity]:
    """Entities sorted by start; one that overlaps an earlier kept one is dropped."""
    kept: list[RawEntity] = []
    for entity in sorted(entities, key=lambda e: e[1]):
        if kept and kept[-1][2] > entity[1]:
            continue
        kept.append(entity)
    return kept


def extract(text: str) -> list[RawEntity]:
    """Every URL, hashtag, mention, list and cashtag, overlaps removed, in text order."""
    entities = (
        extract_urls(text)
        + extract_hashtags(text, check_url_overlap=False)
        + extract_mentions(text)
        + extract_cashtags(text)
    )
    return remove_overlaps(entities) if len(entities) > 1 else entities
