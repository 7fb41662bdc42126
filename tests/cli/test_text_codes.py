"""``measure`` and ``split`` exit codes: 1 means the text does not fit, so a usage
problem (an unknown platform, a bad --numbering) must be 2, or a script that checks the
code reads a typo as "too long"."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli

LONG = "word " * 100  # 500 characters: two parts on x


@pytest.mark.parametrize("command", ["measure", "split"])
def test_an_unknown_platform_is_a_usage_error_naming_the_option(cli: Cli, command: str) -> None:
    result = cli(command, "hello", "--platform", "mastodn", "--json")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(
        "error: --platform: no text rule or installed platform named 'mastodn'; "
        "did you mean 'mastodon'? (known: "
    )
    assert "x, " in result.err
    assert result.err.count("\n") == 1


def test_a_text_that_does_not_fit_exits_1_with_json_too(cli: Cli) -> None:
    result = cli("measure", LONG, "--platform", "x", "--json")
    assert result.code == 1
    assert result.json()["fits"] is False
    assert cli("measure", "hello", "--platform", "x", "--json").code == 0


def test_split_exits_0_when_every_part_fits_and_1_when_one_cannot(cli: Cli) -> None:
    fits = cli("split", LONG, "--platform", "x", "--json")
    assert fits.code == 0
    assert len(fits.json()["parts"]) == 2
    unsplittable = "#" + "a" * 600  # a hashtag longer than the limit is never cut
    refused = cli("split", unsplittable, "--platform", "mastodon", "--json")
    assert refused.code == 1
    assert refused.json()["fits"] is False


@pytest.mark.parametrize(
    ("numbering", "message"),
    [
        (" part", "--numbering: must contain {i} and {n} (got ' part')"),
        (" {i}/{n} {x}", "--numbering: numbering must be a format with only {i} and {n}"),
    ],
)
def test_a_bad_numbering_is_a_usage_error(cli: Cli, numbering: str, message: str) -> None:
    result = cli("split", LONG, "--platform", "x", "--numbering", numbering)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"error: {message}")


@pytest.mark.parametrize("extra", [[], ["--content-warning", "spoilers"]])
def test_split_and_measure_agree_that_an_empty_text_does_not_fit(
    cli: Cli, extra: list[str]
) -> None:
    measured = cli("measure", "", "--platform", "x", "--json", *extra)
    split = cli("split", "", "--platform", "x", "--json", *extra)
    assert (measured.code, measured.json()["fits"]) == (1, False)
    assert (split.code, split.json()["fits"]) == (1, False)
    assert split.json()["min_length"] == measured.json()["min_length"] == 1
    text = cli("split", "", "--platform", "x", *extra)
    assert text.code == 1
    assert "part 1 does not fit: the text is empty (a post with no text needs media)" in text.out
