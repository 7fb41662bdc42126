"""``socialkit validate``: every problem with field, limit and value; exit 1 when invalid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import socialkit
from socialkit.postfile import read_post_file
from tests.cli.conftest import EXAMPLES, Cli
from tests.conftest import PNG_1x1


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG_1x1)
    return path


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(run) -> dict[str, dict]:
    return {p["field"]: p for p in run.json()["problems"]}


def test_a_valid_post_for_feed_exits_0(cli: Cli, tmp_path: Path, png: Path) -> None:
    _write(
        tmp_path, "post.yaml", "text: 'Hello #world'\nmedia: [{path: dot.png, alt_text: a dot}]\n"
    )
    run = cli("validate", "post.yaml", "--platform", "feed")
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines()[0] == "post.yaml: valid for feed"


def test_json_reports_validity_revision_and_targets(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path, "post.yaml", "text: Hello\n")
    data = cli("validate", "post.yaml", "-p", "feed", "--json").json()
    assert data["valid"] is True
    assert data["revision"] == socialkit.Post(text="Hello").revision()
    assert data["targets"] == [{"account": None, "platform": "feed"}]
    assert data["problems"] == []


@pytest.mark.usefixtures("with_tiny")
def test_a_thread_parts_problem_names_it_as_the_post_file_does(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path, "post.yaml", "text: short\nthread: [{text: ok}, {text: far too long here}]\n")
    run = cli("validate", "post.yaml", "--platform", "tiny", "--json")
    too_long = [p["field"] for p in run.json()["problems"] if p["code"] == "text.too_long"]
    assert too_long == ["thread[1].text"]  # the file's second thread part


@pytest.mark.usefixtures("with_tiny")
def test_every_capability_problem_has_field_limit_and_value(
    cli: Cli, tmp_path: Path, png: Path
) -> None:
    _write(
        tmp_path,
        "post.yaml",
        "text: This text has more than ten graphemes\n"
        "media: [dot.png, dot.png]\n"
        "thread: [{text: second part}]\n",
    )
    run = cli("validate", "post.yaml", "--platform", "tiny", "--json")
    assert run.code == 1
    problems = _problems(run)
    assert problems["text"]["code"] == "text.too_long"
    assert problems["text"]["limit"] == 10
    assert problems["text"]["value"] == len("This text has more than ten graphemes")
    assert problems["text"]["platform"] == "tiny"
    media = {p["code"]: p for p in run.json()["problems"] if p["field"] == "media"}
    assert (media["media.too_many"]["limit"], media["media.too_many"]["value"]) == (1, 2)
    assert (media["media.too_many_images"]["limit"], media["media.too_many_images"]["value"]) == (
        1,
        2,
    )
    assert problems["media[0].alt_text"]["code"] == "media.alt_text_missing"
    assert problems["thread"]["code"] == "thread.unsupported"
    assert run.json()["valid"] is False


@pytest.mark.usefixtures("with_tiny")
def test_text_output_lists_each_problem_on_its_own_line(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path, "post.yaml", "text: far too long for tiny\n")
    run = cli("validate", "post.yaml", "-p", "tiny", "-p", "feed")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == "post.yaml: invalid for tiny, feed: 1 error"
    line = " ".join(lines[1].split())
    assert line.startswith("error tiny text: text is too long")
    assert line.endswith("(limit 10, value 21)")


@pytest.mark.usefixtures("with_tiny")
def test_targets_default_to_the_project_accounts(cli: Cli, tmp_path: Path, project: Path) -> None:
    _write(tmp_path, "post.yaml", "text: Hi\n")
    data = cli("validate", "post.yaml", "--json").json()
    assert data["targets"] == [{"account": "acme-feed", "platform": "feed"}]
    data = cli("validate", "post.yaml", "--to", "acme-feed", "-p", "tiny", "--json").json()
    assert data["targets"] == [
        {"account": "acme-feed", "platform": "feed"},
        {"account": None, "platform": "tiny"},
    ]


def test_without_targets_the_file_is_still_checked(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", "txt: Hi\n")
    assert cli("validate", "bad.yaml").code == 1
    _write(tmp_path, "post.yaml", "text: Hi\n")
    run = cli("validate", "post.yaml", "--json")
    assert run.code == 0
    assert run.json()["problems"] == []
    assert run.json()["targets"] == []
    assert "no targets" in cli("validate", "post.yaml").out


def test_an_unknown_account_or_platform_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path, "post.yaml", "text: Hi\n")
    run = cli("validate", "post.yaml", "--to", "nobody")
    assert run.code == 2
    assert run.err.startswith("error: --to: unknown account 'nobody': no project file was found")
    run = cli("validate", "post.yaml", "--platform", "myspace")
    assert run.code == 2
    assert run.err.startswith("error: unknown platform 'myspace'; installed: ")


def test_an_unknown_campaign_is_a_warning(cli: Cli, tmp_path: Path, project: Path) -> None:
    _write(tmp_path, "post.yaml", "text: Hi\ncampaign: autumn\n")
    run = cli("validate", "post.yaml", "--json")
    assert run.code == 0
    assert _problems(run)["campaign"]["code"] == "campaign.unknown"
    assert _problems(run)["campaign"]["value"] == "autumn"


# -- structure -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "code", "message"),
    [
        ("txt: hi\n", "txt", "structure.extra_forbidden", "unknown field; did you mean 'text'?"),
        ("text: [1, 2]\n", "text", "structure.string_type", "Input should be a valid string"),
        ("tags: []\n", "(post)", "structure.value_error", "a post needs text, media or a link"),
        ("text: hi\nlink: {url: 'ftp://x'}\n", "link.url", "structure.value_error", "url must"),
        ("text: hi\nthread: [{text: ''}]\n", "thread[0]", "structure.value_error", "needs text"),
        (
            "text: hi\nthread: [{txet: a}]\n",
            "thread[0].txet",
            "structure.extra_forbidden",
            "did you mean 'text'?",
        ),
        ("text: hi\nlanguage: english!\n", "language", "structure.value_error", "BCP 47"),
        ("text: hi\ntext: again\n", "(file)", "file.duplicate_key", "'text' appears twice"),
        ("text: [unclosed\n", "(file)", "file.syntax", "not valid YAML"),
        ("- just a list\n", "(file)", "file.not_a_mapping", "this is a list"),
        ("", "(file)", "file.not_a_mapping", "this is empty"),
    ],
)
def test_structure_problems_name_the_field(
    cli: Cli, tmp_path: Path, text: str, field: str, code: str, message: str
) -> None:
    _write(tmp_path, "post.yaml", text)
    run = cli("validate", "post.yaml", "--json")
    assert run.code == 1, run.out
    problem = _problems(run)[field]
    assert problem["code"] == code
    assert message in problem["message"]


def test_all_structure_problems_are_reported_at_once(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path, "post.yaml", "txt: a\ntext: [1]\nmedia: [missing.png]\nlanguage: '!'\n")
    run = cli("validate", "post.yaml", "--json")
    assert set(_problems(run)) == {"txt", "text", "media[0].path", "language"}


def test_json_post_files_and_their_problems(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path, "post.json", json.dumps({"text": "Hello", "language": "en"}))
    assert cli("validate", "post.json").code == 0
    _write(tmp_path, "bad.json", '{"text": "a", "text": "b"}')
    assert _problems(cli("validate", "bad.json", "--json"))["(file)"]["code"] == (
        "file.duplicate_key"
    )
    _write(tmp_path, "broken.json", '{"text": ')
    problem = _problems(cli("validate", "broken.json", "--json"))["(file)"]
    assert problem["code"] == "file.syntax"
    assert "line 1" in problem["message"]


def test_a_missing_post_file(cli: Cli) -> None:
    run = cli("validate", "nowhere.yaml")
    assert run.code == 1
    assert run.out.splitlines() == [
        "nowhere.yaml: invalid: 1 error",
        "  error    (file): no such file (value nowhere.yaml)",
    ]


def test_yaml_booleans_are_yaml_1_2_and_dates_stay_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "post.yaml", "text: 2025-03-01\nlanguage: no\ntags: [yes, on]\n")
    found = read_post_file(path)
    assert found.problems == ()
    assert found.post is not None
    assert (found.post.text, found.post.language, found.post.tags) == (
        "2025-03-01",
        "no",
        ("yes", "on"),
    )


# -- media -------------------------------------------------------------------------------------


def test_media_paths_are_relative_to_the_post_file_and_go_into_the_store(
    cli: Cli, tmp_path: Path, project: Path
) -> None:
    (tmp_path / "posts" / "img").mkdir(parents=True)
    (tmp_path / "posts" / "img" / "dot.png").write_bytes(PNG_1x1)
    _write(tmp_path / "posts", "p.yaml", "text: hi\nmedia: [{path: img/dot.png, alt_text: dot}]\n")
    found = read_post_file(tmp_path / "posts" / "p.yaml", media=socialkit.LocalMediaStore("ms"))
    assert found.post is not None
    [media] = found.post.media
    assert (media.mime_type, media.width, media.height, media.alt_text) == (
        "image/png",
        1,
        1,
        "dot",
    )
    assert cli("validate", "posts/p.yaml").code == 0
    # the project's media_dir holds the bytes, under their sha256
    assert (
        tmp_path / "media-store" / media.sha256[:2] / media.sha256[2:4] / media.sha256
    ).is_file()


@pytest.mark.parametrize(
    ("entry", "field", "code"),
    [
        ("missing.png", "media[0].path", "media.not_found"),
        ("{path: folder}", "media[0].path", "media.not_a_file"),
        ("{path: dot.png, alt: x}", "media[0].alt", "media.unknown_key"),
        ("{path: dot.png, alt_text: [1]}", "media[0].alt_text", "media.alt_text"),
        ("{alt_text: x}", "media[0]", "media.entry"),
        ("42", "media[0]", "media.entry"),
        ("{url: 'ftp://example.com/a.png'}", "media[0].url", "media.url"),
        (
            "{sha256: '" + "a" * 64 + "', mime_type: image/png, size: 3}",
            "media[0].sha256",
            "media.not_in_store",
        ),
    ],
)
def test_media_problems_name_the_entry(
    cli: Cli, tmp_path: Path, png: Path, entry: str, field: str, code: str
) -> None:
    (tmp_path / "folder").mkdir()
    _write(tmp_path, "post.yaml", f"text: hi\nmedia: [{entry}]\n")
    run = cli("validate", "post.yaml", "--json")
    assert run.code == 1
    assert _problems(run)[field]["code"] == code


def test_media_anywhere_in_the_post_is_resolved(cli: Cli, tmp_path: Path, png: Path) -> None:
    _write(
        tmp_path,
        "post.yaml",
        "text: hi\n"
        "link: {url: 'https://example.com', thumbnail: gone.png}\n"
        "thread: [{text: two, media: [gone.png]}]\n"
        "overrides: {mastodon: {media: [dot.png, gone.png], thread: [{media: [gone.png]}]}}\n",
    )
    run = cli("validate", "post.yaml", "--json")
    assert set(_problems(run)) == {
        "link.thumbnail.path",
        "thread[0].media[0].path",
        "overrides.mastodon.media[1].path",
        "overrides.mastodon.thread[0].media[0].path",
    }


def test_a_dumped_post_is_a_valid_post_file(cli: Cli, tmp_path: Path, project: Path) -> None:
    store = socialkit.LocalMediaStore(tmp_path / "media-store")
    image = socialkit.Media.from_bytes(PNG_1x1, alt_text="dot", store=store)
    post = socialkit.Post(text="round trip", media=(image,), tags=("a",))
    _write(tmp_path, "post.json", post.model_dump_json())
    found = read_post_file(tmp_path / "post.json", media=store)
    assert found.post == post
    assert cli("validate", "post.json").code == 0


# PyYAML's emitter writes NEL and the Unicode line/paragraph separators unquoted, and YAML
# 1.1 reads them back as line breaks: a limit of the dumper, not of post files.
_YAML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\u2028\u2029"),
    min_size=1,
).filter(lambda t: t.strip())


@given(text=_YAML_TEXT, language=st.sampled_from(["en", "no", "fa-IR", "yes", "on"]))
@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_survives_a_yaml_post_file(tmp_path: Path, text: str, language: str) -> None:
    path = tmp_path / "generated.yaml"
    path.write_text(
        yaml.safe_dump({"text": text, "language": language}, allow_unicode=True), encoding="utf-8"
    )
    found = read_post_file(path)
    assert found.problems == ()
    assert found.post == socialkit.Post(text=text, language=language)


def test_the_sample_campaign_posts_are_valid(cli: Cli, tmp_path: Path) -> None:
    # a copy, so the media store the project names is not written inside the checkout
    campaign = shutil.copytree(EXAMPLES / "campaign", tmp_path / "campaign")
    project = campaign / "socialkit.toml"
    posts = sorted((campaign / "posts").glob("*.yaml"))
    assert posts, "the sample campaign has posts"
    for post in posts:
        run = cli("--config", str(project), "validate", str(post), "--json")
        assert run.code == 0, run.out
        assert run.json()["problems"] == [], post


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "post.yaml", "--to", "acme-old"],
        ["publish", "post.yaml", "--to", "acme-old"],
        ["schedule", "post.yaml", "--to", "acme-old", "--at", "2030-01-01 09:00"],
        ["queue", "post.yaml", "--to", "acme-old"],
    ],
)
def test_an_account_whose_platform_is_not_installed_is_named(
    cli: Cli, tmp_path: Path, argv: list[str]
) -> None:
    # It said only "unknown platform 'myspace'", leaving the reader to find the account.
    _write(tmp_path, "post.yaml", "text: Hi\n")
    _write(
        tmp_path,
        "socialkit.toml",
        '[[accounts]]\nid = "acme-old"\nplatform = "myspace"\nhandle = "acme"\n',
    )
    run = cli(*argv)
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith(
        "error: --to 'acme-old': the account's platform 'myspace' is not installed (installed: "
    ), run.err
    assert run.err.count("\n") == 1


def test_an_override_for_no_installed_platform_is_a_warning(cli: Cli, tmp_path: Path) -> None:
    # "mastadon" was accepted silently: the override applied nowhere.
    _write(tmp_path, "post.yaml", "text: Hello\noverrides:\n  feeed: {text: Hi}\n  feed: {}\n")
    run = cli("validate", "post.yaml", "--platform", "feed", "--json")
    assert run.code == 0, run.out
    problems = _problems(run)
    assert set(problems) == {"overrides.feeed"}
    problem = problems["overrides.feeed"]
    assert (problem["code"], problem["severity"]) == ("overrides.unknown_platform", "warning")
    assert "no installed platform is called 'feeed'" in problem["message"]
    assert "did you mean 'feed'?" in problem["message"]
    text = cli("validate", "post.yaml", "--platform", "feed")
    assert "warning  overrides.feeed: no installed platform is called 'feeed'" in text.out


def test_an_error_in_the_structure_does_not_hide_a_platform_limit(
    cli: Cli, tmp_path: Path, png: Path
) -> None:
    # A bad link URL used to stop every check: the alt text over the feed's 2,000
    # characters showed only once the link was fixed.
    alt = "a" * 2001
    _write(
        tmp_path,
        "post.yaml",
        f"text: hi\nlink: {{url: 'not a url'}}\nmedia: [{{path: {png.name}, alt_text: {alt}}}]\n",
    )
    run = cli("validate", "post.yaml", "--platform", "feed", "--json")
    assert run.code == 1
    problems = _problems(run)
    assert problems["link.url"]["code"] == "structure.value_error"
    assert "media[0].alt_text" in problems, problems
    assert problems["media[0].alt_text"]["limit"] == 2000
