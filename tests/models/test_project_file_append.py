"""Adding an account to a project file: concurrent adds keep both, a link stays a link."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import socialkit
from socialkit import config as config_module
from socialkit.config import append_account, load_config


def _account(account_id: str) -> socialkit.Account:
    return socialkit.Account(id=account_id, platform="feed", handle=account_id)


def test_concurrent_adds_keep_every_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "socialkit.toml"
    path.write_text('workspace = "acme"\n', encoding="utf-8")
    inside, go = threading.Event(), threading.Event()
    real_load = config_module.load_config

    def load_slowly(where: object = None) -> socialkit.ProjectConfig:
        # The first add stops after reading the file, until the second one has had its go.
        if threading.current_thread().name == "first" and not inside.is_set():
            inside.set()
            assert go.wait(timeout=30)
        return real_load(where)  # type: ignore[arg-type]

    monkeypatch.setattr(config_module, "load_config", load_slowly)
    errors: list[BaseException] = []

    def add(account_id: str) -> None:
        try:
            append_account(path, _account(account_id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    first = threading.Thread(target=add, args=("acme-one",), name="first")
    second = threading.Thread(target=add, args=("acme-two",), name="second")
    first.start()
    assert inside.wait(timeout=30)
    second.start()
    second.join(timeout=0.5)  # with the lock it waits for the first; without, it is done
    go.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert not errors
    assert sorted(a.id for a in real_load(path).accounts) == ["acme-one", "acme-two"]


def test_a_symlinked_project_file_stays_a_link(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "socialkit.toml"
    real.write_text('workspace = "acme"\nmedia_dir = "media"\n', encoding="utf-8")
    real.chmod(0o640)
    project = tmp_path / "project"
    project.mkdir()
    link = project / "socialkit.toml"
    link.symlink_to(os.path.relpath(real, project))
    loaded = append_account(link, _account("acme-feed"))
    assert link.is_symlink()
    assert [a.id for a in load_config(real).accounts] == ["acme-feed"]
    assert real.stat().st_mode & 0o777 == 0o640
    assert (loaded.path, loaded.base_dir) == (str(link), str(project))
    assert sorted(p.name for p in project.iterdir()) == ["socialkit.toml"]
    assert sorted(p.name for p in shared.iterdir()) == [".socialkit.toml.lock", "socialkit.toml"]
