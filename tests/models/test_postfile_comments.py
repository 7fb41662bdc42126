"""Post files: a ``#`` after an unquoted text is a YAML comment, and reading says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import socialkit
from socialkit.postfile import load_post_file, read_post_file
from tests.conftest import PNG_1x1


@pytest.fixture
def store(tmp_path: Path) -> socialkit.LocalMediaStore:
    (tmp_path / "dot.png").write_bytes(PNG_1x1)
    return socialkit.LocalMediaStore(tmp_path / "store")


def _read(tmp_path: Path, store: socialkit.LocalMediaStore, text: str) -> socialkit.PostFile:
    path = tmp_path / "post.yaml"
    path.write_text(text, encoding="utf-8")
    return read_post_file(path, media=store)


def test_a_hashtag_read_as_a_comment_is_a_warning_naming_field_line_and_fix(
    tmp_path: Path, store: socialkit.LocalMediaStore
) -> None:
    found = _read(tmp_path, store, "language: en\ntext: Spring is here #coffee\n")
    assert found.post is not None
    assert found.post.text == "Spring is here"
    [warning] = found.problems
    assert (warning.field, warning.severity, warning.code) == ("text", "warning", "yaml.comment")
    assert "line 2" in warning.message
    assert "'#coffee'" in warning.message
    assert "quote the text" in warning.message
    assert "block scalar (|)" in warning.message


@pytest.mark.parametrize(
    ("source", "field", "line"),
    [
        ("text: Hi\nthread:\n  - text: one\n  - text: two #tea\n", "thread[1].text", 4),
        (
            "text: Hi\noverrides:\n  mastodon:\n    text: Hi there #coffee #spring\n",
            "overrides.mastodon.text",
            4,
        ),
        ("text: Hi\nfirst_comment: Ask away #questions\n", "first_comment", 2),
        ("text: Hi\ncontent_warning: food #cw\n", "content_warning", 2),
        (
            "text: Hi\nmedia:\n  - path: dot.png\n    alt_text: A dot #orange\n",
            "media[0].alt_text",
            4,
        ),
        ("text: Hi\nlink:\n  url: https://example.com\n  title: Spring #blend\n", "link.title", 4),
        ("text:\n  Spring is here,\n  roasted this week #coffee\n", "text", 3),
        # hashtags on their own line after a text over several lines: a comment too
        ("text:\n  Spring is here,\n  roasted this week.\n  #coffee #spring\n", "text", 4),
        ("text:\n  Spring is here,\n  roasted.\n\n  #coffee\nlanguage: en\n", "text", 5),
        ("text: Spring is here\n  #coffee\nlanguage: en\n", "text", 2),
        ("text: Spring is here\n#coffee\nlanguage: en\n", "text", 2),
        ("text: Hi\nthread:\n  - text: one\n    # a note\n    #tea\n", "thread[0].text", 5),
    ],
)
def test_every_text_field_is_checked(
    tmp_path: Path, store: socialkit.LocalMediaStore, source: str, field: str, line: int
) -> None:
    found = _read(tmp_path, store, source)
    assert found.ok
    assert [(p.field, p.severity) for p in found.problems] == [(field, "warning")]
    assert f"line {line}" in found.problems[0].message


def test_a_text_that_is_only_a_hashtag_is_explained_beside_the_error(
    tmp_path: Path, store: socialkit.LocalMediaStore
) -> None:
    found = _read(tmp_path, store, "text: #coffee\nmedia: [dot.png]\n")
    assert found.post is None  # YAML read no text at all: null
    assert sorted((p.field, p.severity) for p in found.problems) == [
        ("text", "error"),
        ("text", "warning"),
    ]


@pytest.mark.parametrize(
    "source",
    [
        'text: "Spring is here #coffee"\n',
        "text: 'Spring is here #coffee'\n",
        "text: |\n  Spring is here #coffee\n",
        "text: >-\n  Spring is here #coffee\n",
        "text: Learning C#, F# and more\n",  # no space before '#': not a comment
        "text: Hi\nmedia:\n  - dot.png  # a bare path, no alt text\n",  # a comment, not text
        "text: Hi\ncampaign: spring   # its UTM tags apply\n",
        "text: Hi\ntags: [launch]  # the team's labels\n",
        "# launch.yaml\ntext: Hi\n",
        "text: Hi\n# a note about the next field\nlanguage: en\n",
        "text:\n  Spring is here,\n  roasted.\n\n# campaign goes below\ncampaign: spring\n",
        "text: Hi\nthread: [{text: one}]\n#tea\n",  # the text ended inside a flow mapping
        "text: |\n  Spring is here\n  #coffee\n",
        '{"text": "Hi #coffee"}\n',
    ],
)
def test_no_warning_where_nothing_was_lost(
    tmp_path: Path, store: socialkit.LocalMediaStore, source: str
) -> None:
    found = _read(tmp_path, store, source)
    assert found.ok
    assert found.problems == ()


def test_a_warning_does_not_hide_the_errors(
    tmp_path: Path, store: socialkit.LocalMediaStore
) -> None:
    found = _read(tmp_path, store, "text: Hi #coffee\ncolour: red\n")
    assert found.post is None
    assert sorted((p.field, p.severity) for p in found.problems) == [
        ("colour", "error"),
        ("text", "warning"),
    ]


def test_json_files_have_no_comments(tmp_path: Path, store: socialkit.LocalMediaStore) -> None:
    path = tmp_path / "post.json"
    path.write_text('{"text": "Hi #coffee"}', encoding="utf-8")
    found = read_post_file(path, media=store)
    assert found.post is not None
    assert found.post.text == "Hi #coffee"
    assert found.problems == ()


def test_load_post_file_logs_the_warning_and_returns_the_post(
    tmp_path: Path, store: socialkit.LocalMediaStore, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "post.yaml"
    path.write_text("text: Spring is here #coffee\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="socialkit.postfile"):
        post = load_post_file(path, media=store)
    assert post.text == "Spring is here"
    [record] = caplog.records
    assert str(path) in record.getMessage()
    assert "text: " in record.getMessage()
    assert "line 1" in record.getMessage()
