"""``socialkit measure`` and ``socialkit split``: text as a platform counts it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from socialkit.cli._app import emit, fail

if TYPE_CHECKING:
    from socialkit.text.rules import TextRule

_PLATFORM_HELP = (
    "Platform or text rule: x, mastodon, bluesky, threads, linkedin, instagram, telegram, "
    "telegram-caption, discord, reddit-title, reddit-body, pinterest-title, "
    "pinterest-description, youtube-title, youtube-description, or an installed platform."
)
_STDIN_HELP = "('-' reads stdin, less its final newline: the one a pipe or heredoc ends with)."


def _rule(name: str) -> TextRule:
    """The built-in rule called ``name``, else the text rule of an installed platform."""
    from socialkit.text.rules import RULES, rule_for

    try:
        return rule_for(name)
    except ValueError:
        import difflib

        from socialkit.errors import UnknownPlatform
        from socialkit.platforms.registry import get_registry

        registry = get_registry()
        try:
            return registry.info(name).platform.capabilities.text
        except UnknownPlatform:
            # Exit 2, a usage problem: 1 means the text does not fit, and a script that
            # checks the code must not read a typo as "too long".
            known = sorted(set(RULES) | set(registry.names()))
            close = difflib.get_close_matches(name.strip().lower(), known, n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            raise fail(
                f"--platform: no text rule or installed platform named {name!r}{guess} "
                f"(known: {', '.join(known)})",
                code=2,
            ) from None


def register(app: typer.Typer) -> None:
    @app.command("measure")
    def measure_command(
        text: Annotated[
            str, typer.Argument(metavar="TEXT", help=f"The text to measure {_STDIN_HELP}")
        ],
        platform: Annotated[
            str, typer.Option("--platform", "-p", metavar="NAME", help=_PLATFORM_HELP)
        ],
        content_warning: Annotated[
            str | None,
            typer.Option(
                "--content-warning", metavar="TEXT", help="Content warning, where it counts."
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Measure TEXT as the --platform counts it: length, limit, fit, entities.

        Exits 1 when the text does not fit or is empty (with --json too): no platform
        posts an empty text without media. 2 on a usage error.
        """
        from socialkit.text.measure import measure

        rule = _rule(platform)
        body = _read(text)
        result = measure(body, rule, content_warning=content_warning)
        warning_length = _warning_length(rule, content_warning)
        # The library leaves emptiness to validation (a post may be media only), but
        # measure has no media: the text alone, without the warning, must be a post.
        own_length = measure(body, rule).length if warning_length else result.length
        min_length = max(rule.min_length, 1)
        too_short = own_length < min_length
        fits = result.fits and not too_short
        data = {
            "platform": platform,
            "rule": result.rule,
            "counting": result.counting.value,
            "length": result.length,
            "limit": result.limit,
            "remaining": result.remaining,
            "min_length": min_length,
            "too_short": too_short,
            "fits": fits,
            "overflow_at": result.overflow_at,
            "byte_length": result.byte_length,
            "max_bytes": result.max_bytes,
            "hashtag_count": result.hashtag_count,
            "max_hashtags": result.max_hashtags,
            "invalid_at": result.invalid_at,
            "entities": [entity.as_dict() for entity in result.entities],
        }
        verdict = "fits" if fits else "does NOT fit"
        if not body:
            verdict += ": the text is empty (a post with no text needs media)"
        elif too_short:
            verdict += f": too short, at least {min_length} {result.counting.value}"
        lines = [
            f"{result.length}/{result.limit} {result.counting.value} on {result.rule}: {verdict}"
        ]
        if result.max_bytes is not None:
            lines.append(f"bytes: {result.byte_length}/{result.max_bytes}")
        if result.max_hashtags is not None:
            lines.append(f"hashtags: {result.hashtag_count}/{result.max_hashtags}")
        if result.overflow_at is not None:
            lines.append(f"stops fitting at character {result.overflow_at}")
        if warning_length >= rule.limit:
            lines.append(_no_room(rule, warning_length))
        for entity in result.entities:
            lines.append(
                f"  {entity.kind.value:<8} {entity.text!r} -> {entity.value!r} "
                f"[{entity.start}, {entity.end})"
            )
        emit(data, as_json=as_json, text="\n".join(lines))
        if not fits:  # with --json too: a script checks the code, not the output
            raise typer.Exit(1)

    @app.command("split")
    def split_command(
        text: Annotated[
            str, typer.Argument(metavar="TEXT", help=f"The text to split {_STDIN_HELP}")
        ],
        platform: Annotated[
            str, typer.Option("--platform", "-p", metavar="NAME", help=_PLATFORM_HELP)
        ],
        numbering: Annotated[
            str | None,
            typer.Option(
                "--numbering", metavar="FORMAT", help="Suffix for each part, e.g. ' {i}/{n}'."
            ),
        ] = None,
        content_warning: Annotated[
            str | None,
            typer.Option(
                "--content-warning",
                metavar="TEXT",
                help="Content warning on every part, where it counts.",
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Split TEXT into thread parts that each fit the --platform.

        Exits 1 when a part still does not fit (a link, hashtag or mention longer than
        the limit, or a character the platform refuses); 2 on a usage error.
        """
        from socialkit.text.measure import measure
        from socialkit.text.split import split

        rule = _rule(platform)
        if numbering is not None and ("{i}" not in numbering or "{n}" not in numbering):
            raise fail(f"--numbering: must contain {{i}} and {{n}} (got {numbering!r})", code=2)
        try:
            parts = split(_read(text), rule, numbering=numbering, content_warning=content_warning)
        except ValueError as bad:
            raise fail(f"--numbering: {bad}", code=2) from None
        lengths = [measure(part, rule, content_warning=content_warning) for part in parts]
        warning_length = _warning_length(rule, content_warning)
        # As measure does: a part's own text, without the warning, must be a post.
        min_length = max(rule.min_length, 1)
        own = [measure(part, rule).length for part in parts] if warning_length else None
        too_short = [
            (own[i - 1] if own is not None else m.length) < min_length
            for i, m in enumerate(lengths, 1)
        ]
        data = {
            "platform": platform,
            "rule": rule.name,
            "limit": rule.limit,
            "min_length": min_length,
            "parts": parts,
            "lengths": [m.length for m in lengths],
            "fits": all(m.fits for m in lengths) and not any(too_short),
        }
        blocks = [
            f"--- part {i}/{len(parts)} ({m.length}/{m.limit} {m.counting.value})\n{part}"
            for i, (part, m) in enumerate(zip(parts, lengths, strict=True), 1)
        ]
        unfit = [(i, m) for i, m in enumerate(lengths, 1) if not m.fits or too_short[i - 1]]
        for i, m in unfit:
            if too_short[i - 1] and not parts[i - 1]:
                why = "the text is empty (a post with no text needs media)"
            elif too_short[i - 1]:
                why = f"too short, at least {min_length} {rule.counting.value}"
            elif m.invalid_at is not None:
                char = ord(m.text[m.invalid_at])
                why = f"{rule.name} refuses the character U+{char:04X} at {m.invalid_at}"
            elif m.length <= m.limit and m.max_bytes is not None and m.byte_length > m.max_bytes:
                why = (
                    f"one unit (a link, a tag, a word or one character with its marks) is "
                    f"{m.byte_length} bytes of UTF-8, over the limit of {m.max_bytes} bytes"
                )
            elif (
                m.length <= m.limit
                and m.max_hashtags is not None
                and (m.hashtag_count or 0) > m.max_hashtags
            ):
                why = f"{m.hashtag_count} hashtags, more than the {m.max_hashtags} allowed"
            elif warning_length >= rule.limit:
                why = _no_room(rule, warning_length)
            elif warning_length:
                why = (
                    "one unit (a link, a tag or a word) is longer than the "
                    f"{rule.limit - warning_length} {rule.counting.value} the content warning "
                    f"({warning_length} {rule.counting.value}) leaves of the limit {rule.limit}"
                )
            else:
                why = f"one unit (a link, a tag or a word) is longer than the limit {m.limit}"
            blocks.append(f"part {i} does not fit: {why}")
        emit(data, as_json=as_json, text="\n".join(blocks))
        if unfit:
            raise typer.Exit(1)


def _warning_length(rule: TextRule, content_warning: str | None) -> int:
    """What the content warning counts toward the limit: 0 where the platform ignores it."""
    from socialkit.text.measure import measure

    return measure("", rule, content_warning=content_warning).length if content_warning else 0


def _no_room(rule: TextRule, warning_length: int) -> str:
    return (
        f"the content warning is {warning_length} {rule.counting.value} and the limit "
        f"{rule.limit}: nothing is left for the text (shorten the content warning)"
    )


def _read(text: str) -> str:
    """``text``, or standard input for ``-`` less one final newline (``\\n`` or ``\\r\\n``).

    A pipe or heredoc always ends with a newline the user did not mean as text; any other
    whitespace, and a second newline, is the user's and stays.
    """
    if text != "-":
        return text
    import sys

    read = sys.stdin.read()
    for ending in ("\r\n", "\n"):
        if read.endswith(ending):
            return read[: -len(ending)]
    return read
