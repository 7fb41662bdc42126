"""Reading post files: YAML merge keys, and a JSON file that starts with a BOM."""

from __future__ import annotations

from pathlib import Path

import pytest

import socialkit
from socialkit.postfile import read_post_file
from tests.conftest import PNG_1x1


@pytest.fixture
def store(tmp_path: Path) -> socialkit.LocalMediaStore:
    return socialkit.LocalMediaStore(tmp_path / "store")


def _read(path: Path, text: str, store: socialkit.LocalMediaStore) -> socialkit.PostFile:
    path.write_text(text, encoding="utf-8")
    return read_post_file(path, media=store)


def test_a_merge_key_may_be_overridden(tmp_path: Path, store: socialkit.LocalMediaStore) -> None:
    # "<<: *part" then "text:" was refused as "key 'text' appears twice".
    found = _read(
        tmp_path / "post.yaml",
        'text: "main"\nthread:\n  - &part {text: "one", media: []}\n  - {<<: *part, text: "two"}\n',
        store,
    )
    assert found.problems == ()
    assert found.post is not None
    assert [part.text for part in found.post.thread] == ["one", "two"]


def test_a_key_written_twice_beside_a_merge_is_still_refused(
    tmp_path: Path, store: socialkit.LocalMediaStore
) -> None:
    found = _read(
        tmp_path / "post.yaml",
        "text: main\nthread:\n  - &part {text: one}\n  - {<<: *part, text: two, text: three}\n",
        store,
    )
    assert found.post is None
    [problem] = found.problems
    assert problem.code == "file.duplicate_key"
    assert "'text' appears twice" in problem.message


@pytest.mark.parametrize(
    ("name", "content"),
    [("post.json", '{"text": "hello #coffee"}'), ("post.yaml", 'text: "hello #coffee"\n')],
)
def test_a_byte_order_mark_is_no_text(
    tmp_path: Path, store: socialkit.LocalMediaStore, name: str, content: str
) -> None:
    # Windows editors save UTF-8 with a BOM; JSON was refused ("Unexpected UTF-8 BOM").
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
    found = read_post_file(path, media=store)
    assert found.problems == ()
    assert found.post is not None
    assert found.post.text == "hello #coffee"


def test_a_key_written_twice_does_not_stop_the_other_checks(
    tmp_path: Path, store: socialkit.LocalMediaStore
) -> None:
    found = _read(tmp_path / "post.yaml", "text: one\ntext: two\nlanguage: english!\n", store)
    assert found.post is None
    assert {p.code for p in found.problems} == {"file.duplicate_key", "structure.value_error"}
    assert found.partial is not None  # the rest, for the platforms' limits
    assert found.partial.text == "two"
    assert found.partial.language is None


def test_the_partial_post_leaves_out_the_fields_with_errors_and_unread_media(
    tmp_path: Path, store: socialkit.LocalMediaStore
) -> None:
    (tmp_path / "dot.png").write_bytes(PNG_1x1)
    text = (
        "text: hi\nlink: {url: 'not a url'}\n"
        "media: [{path: dot.png, alt_text: a dot}, {path: gone.png}]\n"
    )
    found = _read(tmp_path / "post.yaml", text, store)
    assert found.post is None
    assert {p.field for p in found.problems} == {"link.url", "media[1].path"}
    assert found.partial is not None
    assert found.partial.link is None
    assert [m.alt_text for m in found.partial.media] == ["a dot"]
