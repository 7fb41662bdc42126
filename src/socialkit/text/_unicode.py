"""Unicode helpers shared by the text rules: graphemes, emoji sequences, index conversions.

Everything here is pure and cheap on ASCII: each function checks ``str.isascii()`` first,
because most social media text is mostly ASCII and the general path costs a regex scan.
"""

from __future__ import annotations

import functools
from pathlib import Path

import regex

__all__ = [
    "EMOJI_SEQUENCE",
    "IndexMap",
    "emoji_spans",
    "grapheme_boundaries",
    "grapheme_count",
    "graphemes",
    "utf8_length",
    "utf16_length",
]

_GRAPHEME = regex.compile(r"\X")

# Regional-indicator pairs that are real flags (RGI_Emoji_Flag_Sequence, UTS #51); any
# other pair of regional indicators is two separate symbols.
_FLAG_CODES = (
    "AC AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM "
    "BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CP CR CU CV CW CX "
    "CY CZ DE DG DJ DK DM DO DZ EA EC EE EG EH ER ES ET EU FI FJ FK FM FO FR GA GB GD GE "
    "GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU IC ID IE IL IM IN IO "
    "IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU "
    "LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE "
    "NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS "
    "RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM UN US UY UZ VA VC VE VG VI VN VU WF WS "
    "XK YE YT ZA ZM ZW"
)
_FLAG_REGIONS = frozenset(_FLAG_CODES.split())


def _flag_alternation() -> str:
    def indicator(letter: str) -> str:
        return chr(0x1F1E6 + ord(letter) - ord("A"))

    return "|".join(indicator(code[0]) + indicator(code[1]) for code in sorted(_FLAG_REGIONS))


# One emoji as twemoji (what twitter-text counts with) sees it: a keycap, a flag, a tag
# sequence (England, Scotland, Wales), an emoji with an optional skin-tone modifier or an
# emoji presentation selector (U+FE0F, ❤️), or emoji joined by ZWJ. Digits, "#" and "*"
# are emoji only as keycap bases. :func:`emoji_spans` applies twemoji's two other rules.
_ELEMENT = (
    r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
    r"|\p{Emoji_Presentation}"
    r"|[\p{Emoji}--\p{Emoji_Presentation}--[#*0-9]]\uFE0F?)"
)
EMOJI_SEQUENCE = regex.compile(
    r"[#*0-9]\uFE0F?\u20E3"
    r"|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"
    rf"|{_flag_alternation()}"
    rf"|{_ELEMENT}(?:\u200D{_ELEMENT})*",
    regex.V1,
)
"""Matches one emoji sequence (keycap, flag, tag sequence, single emoji) or a chain of
emoji joined by ZWJ; :func:`emoji_spans` keeps those twitter-text counts as one."""
# ©, ®, ™ and ♟ are emoji only with U+FE0F (twemoji): a plain © is a letter-like symbol.
_NEEDS_FE0F = frozenset("\u00a9\u00ae\u2122\u265f")
_ZWJ_DATA = Path(__file__).parent / "_data" / "emoji_zwj_sequences.txt"


@functools.cache
def _zwj_sequences() -> tuple[frozenset[str], int]:
    """The RGI emoji ZWJ sequences (``_data/emoji_zwj_sequences.txt``) and the most
    emoji one joins."""
    found = frozenset(
        "".join(chr(int(point, 16)) for point in line.split())
        for line in _ZWJ_DATA.read_text(encoding="ascii").splitlines()
        if line and not line.startswith("#")
    )
    return found, max(sequence.count("\u200d") for sequence in found) + 1


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every emoji twitter-text counts as one unit, in text order.

    Emoji joined by ZWJ are one unit only as a recommended (RGI) ZWJ sequence
    (``👨‍👩‍👧‍👦``); a chain no emoji font draws as one (``😀‍😀``) is its emoji one by one,
    the ZWJ between them a character of its own, as twemoji reads it.
    """
    spans: list[tuple[int, int]] = []
    for match in EMOJI_SEQUENCE.finditer(text):
        found = match.group()
        if found in _NEEDS_FE0F:
            continue
        if "\u200d" in found and found not in _zwj_sequences()[0]:
            spans.extend(_chain_spans(text, *match.span()))
        else:
            spans.append(match.span())
    return spans


def _chain_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The units of a ZWJ chain that is not one RGI sequence: at each emoji the longest
    RGI sequence that starts there, else the emoji alone (unless a plain ©)."""
    known, most = _zwj_sequences()
    links: list[tuple[int, int]] = []
    position = start
    for piece in text[start:end].split("\u200d"):
        links.append((position, position + len(piece)))
        position += len(piece) + 1
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(links):
        for last in range(min(len(links), index + most) - 1, index, -1):
            if text[links[index][0] : links[last][1]] in known:
                spans.append((links[index][0], links[last][1]))
                index = last + 1
                break
        else:
            first, stop = links[index]
            if text[first:stop] not in _NEEDS_FE0F:  # each link is one emoji (_ELEMENT)
                spans.append((first, stop))
            index += 1
    return spans


def shown(value: object) -> str:
    """``value`` for an error message: its repr, cut at 80 characters, and its type."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def check_text(value: object, field: str = "text") -> None:
    """Raise ``TypeError`` naming ``field`` unless ``value`` is a ``str``."""
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a str, got {shown(value)}")


def graphemes(text: str) -> list[str]:
    """The user-perceived characters (extended grapheme clusters, UAX #29) of ``text``."""
    check_text(text)
    if text.isascii() and "\r\n" not in text:
        return list(text)
    return _GRAPHEME.findall(text)  # type: ignore[no-any-return]


def grapheme_count(text: str) -> int:
    """How many user-perceived characters ``text`` has (what Bluesky and Mastodon count)."""
    check_text(text)
    if text.isascii():
        return len(text) - text.count("\r\n")
    return sum(1 for _ in _GRAPHEME.finditer(text))


def grapheme_boundaries(text: str) -> list[int]:
    """Code point offsets where a grapheme cluster starts, plus ``len(text)`` at the end."""
    if text.isascii() and "\r\n" not in text:
        return list(range(len(text) + 1))
    bounds = [match.start() for match in _GRAPHEME.finditer(text)]
    bounds.append(len(text))
    return bounds


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript's ``length`` and Telegram count)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_length(text: str) -> int:
    """Length in UTF-8 bytes."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


class IndexMap:
    """Converts code point offsets of one text into UTF-16 and UTF-8 offsets.

    Built once per text. It keeps a cursor, so converting offsets in increasing order
    (as entities come) costs one pass over the text in all; an offset behind the cursor
    starts again from the beginning. ASCII text is converted for free.
    """

    __slots__ = ("_ascii", "_point", "_text", "_utf8", "_utf16")

    def __init__(self, text: str) -> None:
        self._text = text
        self._ascii = text.isascii()
        self._point = self._utf16 = self._utf8 = 0

    def _seek(self, offset: int) -> None:
        if offset < self._point:
            self._point = self._utf16 = self._utf8 = 0
        chunk = self._text[self._point : offset]
        self._utf16 += utf16_length(chunk)
        self._utf8 += utf8_length(chunk)
        self._point = offset

    def utf16(self, offset: int) -> int:
        """UTF-16 code unit offset of code point ``offset``."""
        if self._ascii:
            return offset
        self._seek(offset)
        return self._utf16

    def utf8(self, offset: int) -> int:
        """UTF-8 byte offset of code point ``offset``."""
        if self._ascii:
            return offset
        self._seek(offset)
        return self._utf8
