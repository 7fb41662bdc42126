"""Entities and countable text by Mastodon's rules.

Facts (Mastodon's ``Tag`` and ``Account`` models, ``StatusLengthValidator`` and its
twitter-text overrides):

* a link needs a scheme (``http``, ``https``, ``dat``, ``dweb``, ``ipfs``, ``ipns``,
  ``ssb``, ``gopher``, ``gemini``); its host follows twitter-text's domain grammar and its
  path may hold any non-space character except ``<>()?`` (balanced parentheses allowed);
* a hashtag follows start of text or whitespace, holds word characters with ``_``, ``·``,
  ``・`` and ZWNJ allowed inside, and needs a letter (or one of those separators between
  word characters): ``#شبکه‌های_اجتماعی`` stays one tag;
* a mention is ``@user`` or ``@user@domain``, not preceded by a word character, ``=`` or
  ``/``;
* for the length, every link counts ``characters_reserved_per_url`` and a remote mention
  counts as its local part ``@user``; the content warning counts too.
"""

from __future__ import annotations

import functools

import regex

from socialkit.text import twitter
from socialkit.text.twitter import RawEntity, remove_overlaps

__all__ = ["extract", "extract_hashtags", "extract_mentions", "extract_urls"]

_WORD = r"\p{L}\p{M}\p{Nd}\p{Pc}"  # Ruby's [[:word:]]
_SEPARATORS = "_\u00b7\u30fb\u200c"
_HASHTAG = regex.compile(
    r"(?<=^|\s)[#\uff03]"
    rf"(?P<tag>[{_WORD}_][{_WORD}{_SEPARATORS}]*[\p{{Alphabetic}}{_SEPARATORS}]"
    rf"[{_WORD}{_SEPARATORS}]*[{_WORD}_]"
    rf"|[{_WORD}_]*\p{{Alphabetic}}[{_WORD}_]*)",
    regex.IGNORECASE,
)
_MENTION = regex.compile(
    rf"(?<![=/{_WORD}])@(?P<name>(?P<user>[a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)"
    rf"(?:@[{_WORD}.\-]+[{_WORD}])?)",
    regex.IGNORECASE,
)
_MENTION_END = twitter._MENTION_END

_UCHARS = (
    r"\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    r"\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    r"\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    r"\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_PATH_CHAR = r"[^\s<>()?]"
_BALANCED = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
_TWITTER_BALANCED = twitter._BALANCED_PARENS
_PATH_END = rf"(?:[^\s()?!*\"'「」<>;:=,.$%\[\]~&|@]|{_TWITTER_BALANCED})"
_PATH = rf"(?:(?:{_PATH_CHAR}*(?:{_BALANCED}{_PATH_CHAR}*)*{_PATH_END})|(?:{_PATH_CHAR}+/))"
_URL_SOURCE = (
    rf"(?:[^A-Z0-9@\uff20$#\uff03{twitter._INVALID}]|^)"
    r"(?P<url>(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    rf"(?P<domain>{twitter._DOMAIN})"
    r"(?::[0-9]+)?"
    rf"(?:/{_PATH}*)?"
    rf"(?:\?[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]*[a-z0-9_&=#/\-{_UCHARS}])?"
    r")"
)


@functools.cache
def _url() -> regex.Pattern[str]:
    """Compiled on first use: the top-level domain list makes it slow to compile."""
    return regex.compile(_URL_SOURCE, regex.IGNORECASE | regex.VERSION0)


def extract_urls(text: str) -> list[RawEntity]:
    """Links Mastodon makes: a scheme is required (``example.com`` alone is plain text)."""
    if ":" not in text:
        return []
    return [("url", m.start("url"), m.end("url"), m["url"]) for m in _url().finditer(text)]


def extract_hashtags(text: str) -> list[RawEntity]:
    """Hashtags by Mastodon's ``Tag`` rules; value is the tag without ``#``."""
    if "#" not in text and "\uff03" not in text:
        return []
    return [("hashtag", m.start(), m.end(), m["tag"]) for m in _HASHTAG.finditer(text)]


def extract_mentions(text: str) -> list[RawEntity]:
    """``@user`` and ``@user@domain`` mentions; value is ``user`` or ``user@domain``."""
    if "@" not in text:
        return []
    found: list[RawEntity] = []
    for match in _MENTION.finditer(text):
        if _MENTION_END.match(text, match.end()):
            continue
        found.append(("mention", match.start(), match.end(), match["name"]))
    return found


def extract(text: str) -> list[RawEntity]:
    """Links, hashtags and mentions as Mastodon's formatter finds them, overlaps removed."""
    entities = extract_urls(text) + extract_hashtags(text) + extract_mentions(text)
    return remove_overlaps(entities) if len(entities) > 1 else entities
