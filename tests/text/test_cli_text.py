"""``socialkit measure`` and ``socialkit split``."""

from __future__ import annotations

import json

import pytest

from socialkit.cli import main
from socialkit.text import measure, rules


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_measure_json_has_length_limit_fits_and_entities(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "سلام #شبکه‌های_اجتماعی https://example.com 😀"
    data = _json(capsys, "measure", text, "--platform", "bluesky", "--json")
    assert data["length"] == measure(text, rules.BLUESKY).length
    assert data["limit"] == 300
    assert data["fits"] is True
    assert data["entities"] == [
        {
            "kind": "hashtag",
            "text": "#شبکه",
            "value": "شبکه",
            "indices": [5, 10],
            "utf16": [5, 10],
            "utf8": [9, 18],
        },
        {
            "kind": "url",
            "text": "https://example.com",
            "value": "https://example.com",
            "indices": [23, 42],
            "utf16": [23, 42],
            "utf8": [43, 62],
        },
    ]


def test_measure_counts_the_same_text_per_platform(capsys: pytest.CaptureFixture[str]) -> None:
    text = "Hi @ali@mastodon.social https://example.com/" + "x" * 40
    x = _json(capsys, "measure", text, "--platform", "twitter", "--json")
    mastodon = _json(capsys, "measure", text, "-p", "mastodon", "--json")
    assert (x["length"], mastodon["length"]) == (
        len("Hi @ali@mastodon.social ") + 23,
        len("Hi @ali ") + 23,
    )


def test_measure_exits_1_when_the_text_does_not_fit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", "a" * 281, "--platform", "x"]) == 1
    out = capsys.readouterr().out
    assert "281/280 weighted on x: does NOT fit" in out
    assert "stops fitting at character 280" in out


def test_unknown_platform_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", "hi", "--platform", "myspace"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --platform: no text rule or installed platform named 'myspace'")
    assert err.count("\n") == 1


def test_split_json_prints_parts(capsys: pytest.CaptureFixture[str]) -> None:
    text = "One sentence here. " * 40
    data = _json(capsys, "split", text, "--platform", "x", "--numbering", " {i}/{n}", "--json")
    parts = data["parts"]
    assert isinstance(parts, list)
    assert len(parts) == 3
    assert all(measure(part, rules.X).fits for part in parts)
    assert parts[0].endswith(" 1/3")
    assert data["fits"] is True


def test_split_rejects_a_numbering_without_placeholders(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "x " * 300, "--platform", "x", "--numbering", " part"]) == 2
    assert "--numbering: must contain {i} and {n}" in capsys.readouterr().err


@pytest.mark.parametrize("numbering", [" {i}/{n} {x}", " {i}/{n} {", " {i}/{n} {0}"])
def test_split_names_a_numbering_that_is_no_format(
    capsys: pytest.CaptureFixture[str], numbering: str
) -> None:
    assert main(["split", "x " * 300, "--platform", "x", "--numbering", numbering]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --numbering: numbering must be a format with only {i} and {n}")
    assert repr(numbering) in err
    assert len(err.splitlines()) == 1


def test_split_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("word " * 100))
    data = _json(capsys, "split", "-", "--platform", "bluesky", "--json")
    assert len(data["parts"]) == 2  # type: ignore[arg-type]


def test_measure_json_also_exits_1_when_the_text_does_not_fit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["measure", "a" * 281, "--platform", "x", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["length"], data["limit"], data["fits"]) == (281, 280, False)


def test_split_exits_1_when_a_part_cannot_fit(capsys: pytest.CaptureFixture[str]) -> None:
    link = "https://example.com/" + "a" * 400  # one link longer than Bluesky's 300
    assert main(["split", f"Read {link} today", "--platform", "bluesky", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["fits"] is False
    assert link in data["parts"]  # type: ignore[operator]
    assert main(["split", f"Read {link} today", "--platform", "bluesky"]) == 1
    out = capsys.readouterr().out
    assert "does not fit: one unit (a link, a tag or a word) is longer than the limit 300" in out
    assert main(["split", "bad \ufffe char", "--platform", "x"]) == 1
    assert "x refuses the character U+FFFE at 4" in capsys.readouterr().out


def test_split_leaves_every_part_room_for_a_content_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    warning = "spoilers " * 10  # 90 graphemes, counted in each Mastodon status
    argv = ["split", "word " * 150, "-p", "mastodon", "--json"]
    data = _json(capsys, *argv, "--content-warning", warning)
    assert data["lengths"] == [measure(p, rules.MASTODON).length + 90 for p in data["parts"]]  # type: ignore[union-attr]
    assert all(length <= 500 for length in data["lengths"])  # type: ignore[union-attr]
    assert len(_json(capsys, *argv)["parts"]) == 2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stdin", "length"),
    [
        ("hello\n", 5),  # a pipe or heredoc ends with a newline nobody meant as text
        ("hello\r\n", 5),
        ("hello", 5),
        ("hello\n\n", 6),  # only the one final newline goes
        ("hello \n", 6),  # other whitespace stays
        ("\n", 0),
    ],
)
def test_measure_reads_stdin_without_its_final_newline(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, length: int
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["measure", "-", "-p", "x", "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["length"] == length


def test_split_reads_stdin_without_its_final_newline(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("hello\r\n"))
    data = _json(capsys, "split", "-", "-p", "x", "--json")
    assert (data["parts"], data["lengths"]) == (["hello"], [5])
    monkeypatch.setattr("sys.stdin", io.StringIO("one\n\ntwo\n"))
    assert _json(capsys, "split", "-", "-p", "x", "--json")["parts"] == ["one\n\ntwo"]


@pytest.mark.parametrize("command", ["measure", "split"])
def test_help_says_stdin_loses_its_final_newline(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert main([command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "'-' reads stdin" in out
    assert "final newline" in out


@pytest.mark.parametrize("width", [500, 600])
def test_split_blames_a_content_warning_that_leaves_no_room(
    capsys: pytest.CaptureFixture[str], width: int
) -> None:
    warning = "x" * width
    argv = ["split", "hello world", "-p", "mastodon", "--content-warning", warning]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert (
        f"does not fit: the content warning is {width} graphemes and the limit 500: "
        "nothing is left for the text (shorten the content warning)"
    ) in out
    assert "one unit" not in out


def test_split_says_how_much_a_content_warning_leaves(capsys: pytest.CaptureFixture[str]) -> None:
    # A hashtag is never cut: 17 graphemes, and the warning leaves 10 of Mastodon's 500.
    argv = ["split", "see #averylonghashtag", "-p", "mastodon", "--content-warning", "x" * 490]
    assert main(argv) == 1
    assert (
        "part 2 does not fit: one unit (a link, a tag or a word) is longer than the "
        "10 graphemes the content warning (490 graphemes) leaves of the limit 500"
    ) in capsys.readouterr().out


def test_measure_blames_a_content_warning_that_leaves_no_room(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["measure", "hello", "-p", "mastodon", "--content-warning", "x" * 600]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "605/500 graphemes on mastodon: does NOT fit" in out
    assert "the content warning is 600 graphemes and the limit 500: nothing is left" in out


@pytest.mark.parametrize("platform", ["telegram", "x", "mastodon", "telegram-caption"])
def test_measure_exits_1_for_an_empty_text(
    capsys: pytest.CaptureFixture[str], platform: str
) -> None:
    # No platform posts an empty text without media; Telegram says so with min_length=1.
    assert main(["measure", "", "-p", platform]) == 1
    out = capsys.readouterr().out
    assert f"on {platform}: does NOT fit: the text is empty" in out
    assert main(["measure", "", "-p", platform, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["length"], data["min_length"], data["too_short"], data["fits"]) == (
        0,
        1,
        True,
        False,
    )


def test_measure_does_not_count_the_content_warning_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Mastodon counts the warning toward the limit, but a warning alone is no status.
    assert main(["measure", "", "-p", "mastodon", "--content-warning", "spoilers"]) == 1
    assert "8/500 graphemes on mastodon: does NOT fit: the text is empty" in (
        capsys.readouterr().out
    )
    assert main(["measure", "a", "-p", "mastodon", "--content-warning", "spoilers"]) == 0


def test_measure_exits_1_below_the_rule_minimum(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = rules.LINKEDIN.model_copy(update={"min_length": 3})
    monkeypatch.setattr("socialkit.cli.text._rule", lambda name: strict)
    assert main(["measure", "ab", "-p", "linkedin"]) == 1
    assert "2/3000 code_points on linkedin: does NOT fit: too short, at least 3 code_points" in (
        capsys.readouterr().out
    )
    data = _json(capsys, "measure", "abc", "-p", "linkedin", "--json")
    assert (data["min_length"], data["too_short"], data["fits"]) == (3, False, True)


def test_measure_json_of_a_text_that_fits_names_the_minimum(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(capsys, "measure", "a", "-p", "telegram", "--json")
    assert (data["length"], data["min_length"], data["too_short"], data["fits"]) == (
        1,
        1,
        False,
        True,
    )


def test_split_names_the_byte_limit_when_a_part_is_over_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One character with 1600 combining marks: 1 grapheme of Bluesky's 300, but 3201
    # bytes of its 3000. It was blamed on "longer than the limit 300".
    heavy = "a" + "\u0301" * 1600
    assert main(["split", f"Look {heavy} here", "--platform", "bluesky"]) == 1
    out = capsys.readouterr().out
    assert "part 2 does not fit: one unit (a link, a tag, a word or one character with its" in out
    assert "is 3201 bytes of UTF-8, over the limit of 3000 bytes" in out
    assert "longer than the limit 300" not in out
