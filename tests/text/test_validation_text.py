"""The text part of ``socialkit.validate``: limits, per-part thread text, entity warnings."""

from __future__ import annotations

import socialkit
from socialkit.text import rules


def _caps(rule: rules.TextRule, **changes: object) -> socialkit.Capabilities:
    return socialkit.Capabilities(text=rule, **changes)  # type: ignore[arg-type]


def _codes(problems: list[socialkit.Problem]) -> dict[str, socialkit.Problem]:
    return {problem.code: problem for problem in problems}


def test_a_persian_tag_cut_by_bluesky_is_a_warning_with_what_it_becomes() -> None:
    post = socialkit.Post(text="سلام #شبکه‌های_اجتماعی")
    problems = socialkit.validate(post, _caps(rules.BLUESKY), platform="bluesky")
    (problem,) = problems
    assert problem.code == "text.hashtag_cut"
    assert problem.severity == "warning"
    assert problem.value == "شبکه"
    assert "#شبکه‌های_اجتماعی" in problem.message
    assert "#شبکه " in problem.message
    assert socialkit.validate(post, _caps(rules.MASTODON), platform="mastodon") == []
    assert socialkit.validate(post, _caps(rules.X), platform="x") == []


def test_a_tag_the_target_does_not_see_is_a_warning() -> None:
    post = socialkit.Post(text="نمره #۱۲۳ و #🦋")
    problems = socialkit.validate(post, _caps(rules.X), platform="x")
    assert [(p.code, p.value) for p in problems] == [
        ("text.hashtag_not_detected", "۱۲۳"),
        ("text.hashtag_not_detected", "🦋"),
    ]


def test_instagram_hashtag_limit_is_an_error() -> None:
    post = socialkit.Post(text=" ".join(f"#tag{i}" for i in range(31)))
    problem = _codes(socialkit.validate(post, _caps(rules.INSTAGRAM), platform="instagram"))[
        "text.too_many_hashtags"
    ]
    assert (problem.limit, problem.value, problem.severity) == (30, 31, "error")


def test_every_thread_part_is_checked_with_its_own_field() -> None:
    caps = _caps(rules.X, threads=True)
    post = socialkit.Post(
        text="first",
        thread=(socialkit.ThreadPart(text="ok"), socialkit.ThreadPart(text="漢" * 141)),
    )
    draft = socialkit.render(post, "x", caps, auto_thread=False)
    problems = socialkit.validate(draft, caps)
    (problem,) = problems
    assert (problem.field, problem.code, problem.limit, problem.value) == (
        "thread[1].text",  # as in the post (and its post file): the second thread part
        "text.too_long",
        280,
        282,
    )
    assert "stops fitting at character 140" in problem.message


def test_the_mastodon_content_warning_counts_toward_the_limit() -> None:
    caps = _caps(rules.MASTODON, content_warning=True)
    post = socialkit.Post(text="x" * 495, content_warning="spoiler")
    problem = _codes(socialkit.validate(post, caps, platform="mastodon"))["text.too_long"]
    assert (problem.limit, problem.value) == (500, 502)
    assert "content warning counts" in problem.message


def test_x_refuses_noncharacters() -> None:
    post = socialkit.Post(text="bad \ufffe char")
    problem = _codes(socialkit.validate(post, _caps(rules.X), platform="x"))[
        "text.invalid_character"
    ]
    assert "U+FFFE" in problem.message
    assert problem.value == 4


def test_an_auto_split_mastodon_post_with_a_content_warning_validates() -> None:
    caps = _caps(rules.MASTODON, threads=True, content_warning=True)
    post = socialkit.Post(text="word " * 150, content_warning="spoilers " * 10)
    draft = socialkit.render(post, "mastodon", caps)
    assert len(draft.parts) == 2
    assert socialkit.validate(draft, caps) == []
