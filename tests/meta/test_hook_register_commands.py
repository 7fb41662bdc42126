"""The ``register_commands`` hook: plugins add commands to the ``socialkit`` command line."""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import pytest

import socialkit
from socialkit.cli import add_plugin_commands, build_app
from socialkit.cli._app import make_app, run
from tests.cli.conftest import run_subprocess


def _plugin(**hooks: object) -> types.ModuleType:
    module = types.ModuleType("socialkit_test_commands")
    for name, impl in hooks.items():
        setattr(module, name, socialkit.hookimpl(impl))  # type: ignore[arg-type]
    return module


def _hello(app):  # type: ignore[no-untyped-def]
    @app.command("hello")
    def hello(name: str = "world") -> None:
        """Say hello."""
        print(f"hello {name}")


def test_register_commands_adds_a_command_that_runs(capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app()
    add_plugin_commands(app, [("hello", _plugin(register_commands=_hello))])
    assert run(app, ["hello", "--name", "Tehran"]) == 0
    assert capsys.readouterr().out == "hello Tehran\n"


def test_register_commands_that_raises_is_reported_and_the_others_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(app):  # type: ignore[no-untyped-def]
        @app.command("half")
        def half() -> None:
            """Added before the failure; it must go with the plugin."""

        raise RuntimeError("the plugin fails while adding commands")

    app = make_app()
    add_plugin_commands(
        app,
        [
            ("broken", _plugin(register_commands=broken)),
            ("hello", _plugin(register_commands=_hello)),
        ],
    )
    err = capsys.readouterr().err
    assert "plugin 'broken'" in err
    assert "RuntimeError: the plugin fails while adding commands" in err
    assert [c.name for c in app.registered_commands] == ["hello"]


def test_register_commands_cannot_replace_a_core_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def impostor(app):  # type: ignore[no-untyped-def]
        @app.command("validate")
        def validate() -> None:
            """Pretends to validate."""
            print("impostor")

        _hello(app)

    app = build_app()
    capsys.readouterr()
    add_plugin_commands(app, [("impostor", _plugin(register_commands=impostor))])
    err = capsys.readouterr().err
    assert "plugin 'impostor' adds a command 'validate' that already exists" in err
    names = [c.name for c in app.registered_commands]
    assert names.count("validate") == 1
    assert "hello" in names  # the rest of the plugin's commands stay


def _commands_distribution(root: Path, entry: str, module: str, source: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[socialkit.commands]\n{entry} = {module}\n", encoding="utf-8"
    )


@pytest.fixture
def commands_path(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    _commands_distribution(
        root,
        "loft",
        "socialkit_loft_cli",
        """
        import socialkit

        @socialkit.hookimpl
        def register_commands(app):
            @app.command("loft")
            def loft() -> None:
                "Count the pigeons."
                print("3 pigeons")
        """,
    )
    _commands_distribution(
        root, "fails", "socialkit_fails_cli", 'raise ImportError("no such thing")\n'
    )
    return root


def test_register_commands_from_the_entry_point_group(commands_path: Path) -> None:
    done = run_subprocess("loft", env={"PYTHONPATH": str(commands_path)})
    assert done.code == 0, done.err
    assert done.out == "3 pigeons\n"
    assert "plugin 'fails'" in done.err
    assert "ImportError: no such thing" in done.err
    assert "Traceback" not in done.err


def test_register_commands_honours_disabled_plugins(commands_path: Path) -> None:
    done = run_subprocess(
        "--help",
        env={"PYTHONPATH": str(commands_path), "SOCIALKIT_DISABLED_PLUGINS": "loft,fails"},
    )
    assert done.code == 0, done.err
    assert "loft" not in done.out
    assert done.err == ""
