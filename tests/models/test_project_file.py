"""Reading a project file: every way it can be wrong is one ConfigError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

import socialkit


def test_a_file_that_is_not_utf8_is_named_with_the_offending_byte(tmp_path: Path) -> None:
    path = tmp_path / "socialkit.toml"
    path.write_bytes(b'workspace = "caf\xe9"\n')
    with pytest.raises(socialkit.ConfigError, match=r"not UTF-8 text \(byte 0xe9 at offset 16\)"):
        socialkit.load_config(path)


def test_a_directory_names_the_file_to_give(tmp_path: Path) -> None:
    with pytest.raises(socialkit.ConfigError, match="is a directory; give the file") as info:
        socialkit.load_config(tmp_path)
    assert str(tmp_path / "socialkit.toml") in str(info.value)


def test_a_missing_file_and_bad_toml_are_named(tmp_path: Path) -> None:
    with pytest.raises(socialkit.ConfigError, match="project file not found"):
        socialkit.load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("workspace = \n", encoding="utf-8")
    with pytest.raises(socialkit.ConfigError, match=r"bad\.toml: not valid TOML"):
        socialkit.load_config(bad)


def test_find_config_prefers_the_environment_then_the_nearest_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "socialkit.toml").write_text('workspace = "acme"\n', encoding="utf-8")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.delenv("SOCIALKIT_CONFIG", raising=False)
    assert socialkit.find_config(nested) == tmp_path / "socialkit.toml"
    assert socialkit.load_config(socialkit.find_config(nested)).workspace == "acme"
    monkeypatch.setenv("SOCIALKIT_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert socialkit.find_config(nested) == tmp_path / "elsewhere.toml"
