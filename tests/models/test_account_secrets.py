"""An account's settings never hold a secret: names are read whatever their case,
separators or depth, without refusing the settings the platforms use."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import socialkit
from socialkit.models.account import secret_setting


def _account(settings: dict[str, object]) -> socialkit.Account:
    return socialkit.Account(id="a", platform="feed", handle="h", settings=settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "access_token",
        "api-key",
        "API.Key",
        "apiKey",
        "bearer",
        "passwd",
        "pwd",
        "authorization",
        "Authorization",
        "cookie",
        "auth_cookie",
        "session",
        "sessionId",
        "client_secret",
        "private-key",
        "app_password",
    ],
)
def test_a_secret_looking_name_is_refused(name: str) -> None:
    assert secret_setting(name)
    with pytest.raises(ValidationError, match=rf"settings\[{name!r}\] looks like a secret"):
        _account({name: "hunter2"})


@pytest.mark.parametrize(
    "name",
    [
        # the settings of the built-in feed and the Mastodon and Bluesky plugins
        "directory",
        "title",
        "instance",
        "visibility",
        "service",
        "appview",
        "web_url",
        # and names that only look alike
        "auth_url",
        "session_timeout",
        "cookie_domain",
        "author",
        "authority",
    ],
)
def test_a_setting_is_not_mistaken_for_a_secret(name: str) -> None:
    assert not secret_setting(name)
    assert _account({name: "value"}).settings == {name: "value"}


def test_nested_names_are_checked_and_the_value_is_never_shown() -> None:
    with pytest.raises(ValidationError) as caught:
        _account({"service": {"url": "https://x.test", "headers": [{"X-Api-Key": "hunter2"}]}})
    assert "settings['service']['headers'][0]['X-Api-Key'] looks like a secret" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        socialkit.ProjectConfig.model_validate(
            {
                "accounts": [
                    {"id": "a", "platform": "feed", "handle": "h", "settings": {"pwd": "hunter2"}}
                ]
            }
        )
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "settings",
    [
        {"pwd": "hunter2"},
        {"service": {"headers": ["hunter2", {"hunter2"}]}},  # not JSON: a type error
        "token=hunter2",  # not a table at all
    ],
)
def test_no_error_about_the_settings_shows_them(settings: object) -> None:
    for build in (
        lambda: _account(settings),  # type: ignore[arg-type]
        lambda: socialkit.ProjectConfig.model_validate(
            {"accounts": [{"id": "a", "platform": "feed", "handle": "h", "settings": settings}]}
        ),
    ):
        with pytest.raises(ValidationError) as caught:
            build()
        assert "settings" in str(caught.value)
        assert "input_value=<hidden>" in str(caught.value)
        assert "hunter2" not in str(caught.value)
        assert all("hunter2" not in repr(e["input"]) for e in caught.value.errors())


def test_errors_about_other_fields_show_their_input() -> None:
    fields = {"id": "a", "platform": "feed", "handle": "h", "timezone": 5}
    with pytest.raises(ValidationError, match=r"(?s)timezone\n.*input_value=5, input_type=int"):
        socialkit.Account.model_validate(fields)
    with pytest.raises(ValidationError, match=r"(?s)accounts\.0\.timezone\n.*input_value=5,"):
        socialkit.ProjectConfig.model_validate({"accounts": [fields]})
    with pytest.raises(ValidationError, match=r"(?s)workspace\n.*input_value=\['acme'\]"):
        socialkit.ProjectConfig.model_validate({"workspace": ["acme"]})


def test_a_secret_written_where_no_field_takes_it_is_refused_without_its_value() -> None:
    """The models showed no input at all before; now only such inputs are hidden."""
    fields = {"id": "a", "platform": "feed", "handle": "h"}
    with pytest.raises(ValidationError) as caught:
        socialkit.Account.model_validate({**fields, "access_token": "hunter2", "timezone": 5})
    assert "access_token\n  Extra inputs are not permitted" in str(caught.value)
    assert "input_value=5" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    for project in (
        {"credentials": {"provider": "bogus", "password": "hunter2"}},
        {"token": "hunter2"},
        {"accounts": [{**fields, "api_key": "hunter2"}]},
        {"accounts": {**fields, "settings": {"pwd": "hunter2"}}},  # a table, not a list
    ):
        with pytest.raises(ValidationError) as caught:
            socialkit.ProjectConfig.model_validate(project)
        assert "input_value=<hidden>" in str(caught.value)
        assert "hunter2" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        socialkit.ProjectConfig.model_validate(
            {"credentials": {"provider": "bogus", "password": "hunter2"}}
        )
    assert "input_value='bogus'" in str(caught.value)  # the provider is no secret
