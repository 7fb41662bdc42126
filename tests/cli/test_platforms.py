"""``socialkit platforms``: installed platforms, and broken plugins reported once; a broken
plugin does not stop the others loading, and fails the command (exit 1) so CI can check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, run_subprocess


def test_lists_feed_with_its_distribution_and_capabilities(cli: Cli) -> None:
    run = cli("platforms")
    assert run.code == 0, run.err
    [line] = [line for line in run.out.splitlines() if line.startswith("feed ")]
    assert "socialkit-engine" in line
    assert "idempotency key" in line


def test_json_lists_feed(cli: Cli) -> None:
    data = cli("platforms", "--json").json()
    feed = next(p for p in data["platforms"] if p["name"] == "feed")
    assert feed["distribution"] == "socialkit-engine"
    assert feed["contract"] == 1
    assert feed["capabilities"]["text"]["name"] == "feed"


def _distribution(root: Path, dist: str, entry: str, module: str, source: str) -> None:
    """A minimal installed distribution: a module and a dist-info naming its entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[socialkit]\n{entry} = {module}\n", encoding="utf-8")


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A directory with two broken plugin distributions, for PYTHONPATH."""
    root = tmp_path / "site"
    root.mkdir()
    _distribution(
        root,
        "socialkit-broken",
        "broken",
        "socialkit_broken",
        'raise RuntimeError("the broken plugin fails on import")\n',
    )
    _distribution(
        root,
        "socialkit-future",
        "future",
        "socialkit_future",
        """
        import socialkit
        from socialkit.platforms.capabilities import Capabilities
        from socialkit.text.rules import FEED

        class Future(socialkit.Platform):
            name = "future"
            contract = 99
            capabilities = Capabilities(text=FEED)

            async def publish(self, draft, ctx):
                raise NotImplementedError

        @socialkit.hookimpl
        def register_platforms(register):
            register(Future)
        """,
    )
    return root


def test_a_plugin_failing_on_import_is_reported_and_the_others_load(plugin_path: Path) -> None:
    run = run_subprocess("platforms", env={"PYTHONPATH": str(plugin_path)})
    assert run.code == 1, run.err  # a broken plugin fails the check (CI runs it)
    lines = run.out.splitlines()
    assert any(line.startswith("feed ") for line in lines)
    [broken] = [line for line in lines if "broken" in line]
    assert broken.startswith("BROKEN broken (socialkit-broken) at import")
    assert "RuntimeError: the broken plugin fails on import" in broken
    assert "Traceback" not in run.out + run.err


def test_each_broken_plugin_is_printed_once(plugin_path: Path) -> None:
    run = run_subprocess("platforms", env={"PYTHONPATH": str(plugin_path)})
    both = run.out + run.err
    assert both.count("the broken plugin fails on import") == 1, both
    assert both.count("contract 99") == 1, both
    assert run.err == ""  # the registry's own log line is not repeated on stderr


def test_without_a_broken_plugin_the_check_passes(plugin_path: Path) -> None:
    run = run_subprocess(
        "platforms",
        env={"PYTHONPATH": str(plugin_path), "SOCIALKIT_DISABLED_PLUGINS": "broken,future"},
    )
    assert (run.code, run.err) == (0, "")
    assert "BROKEN" not in run.out


def test_other_commands_still_log_a_broken_plugin(plugin_path: Path, tmp_path: Path) -> None:
    (tmp_path / "post.yaml").write_text("text: Hello\n", encoding="utf-8")
    run = run_subprocess(
        "validate",
        "post.yaml",
        "--platform",
        "feed",
        env={"PYTHONPATH": str(plugin_path)},
        cwd=tmp_path,
    )
    assert run.code == 0, run.err
    assert "plugin 'broken' (socialkit-broken) skipped at import" in run.err
    assert "BROKEN" not in run.out


def test_help_states_the_exit_codes(cli: Cli) -> None:
    run = cli("platforms", "--help")
    assert run.code == 0
    text = " ".join(run.out.split())
    assert "Exits 0 when every plugin loaded, 1 when a plugin is broken" in text


def test_broken_plugins_in_json_name_plugin_distribution_stage_and_error(
    plugin_path: Path,
) -> None:
    run = run_subprocess("platforms", "--json", env={"PYTHONPATH": str(plugin_path)})
    assert (run.code, run.err) == (1, "")
    data = run.json()
    assert "feed" in [p["name"] for p in data["platforms"]]
    assert "future" not in [p["name"] for p in data["platforms"]]
    broken = {b["plugin"]: b for b in data["broken"]}
    assert broken["broken"]["distribution"] == "socialkit-broken"
    assert broken["broken"]["stage"] == "import"
    assert "the broken plugin fails on import" in broken["broken"]["error"]
    assert broken["future"]["distribution"] == "socialkit-future"
    assert broken["future"]["stage"] == "contract"
    assert "contract 99" in broken["future"]["error"]


def test_load_plugins_restricts_loading(plugin_path: Path) -> None:
    run = run_subprocess(
        "platforms",
        "--json",
        env={"PYTHONPATH": str(plugin_path), "SOCIALKIT_LOAD_PLUGINS": "feed"},
    )
    data = run.json()
    assert [p["name"] for p in data["platforms"]] == ["feed"]
    assert data["broken"] == []


def test_load_plugins_without_feed_leaves_feed_out(plugin_path: Path) -> None:
    run = run_subprocess(
        "platforms",
        "--json",
        env={"PYTHONPATH": str(plugin_path), "SOCIALKIT_LOAD_PLUGINS": "broken"},
    )
    data = run.json()
    assert data["platforms"] == []
    assert [b["plugin"] for b in data["broken"]] == ["broken"]


def test_disabled_plugins_are_not_loaded(plugin_path: Path) -> None:
    run = run_subprocess(
        "platforms",
        "--json",
        env={"PYTHONPATH": str(plugin_path), "SOCIALKIT_DISABLED_PLUGINS": "broken, future"},
    )
    data = run.json()
    assert "feed" in [p["name"] for p in data["platforms"]]
    assert data["broken"] == []


def test_a_load_plugins_name_that_matches_nothing_is_a_warning_and_exit_1() -> None:
    run = run_subprocess("platforms", "--json", env={"SOCIALKIT_LOAD_PLUGINS": "nosuch"})
    assert run.code == 1
    data = run.json()
    assert data["platforms"] == []
    [warning] = data["warnings"]
    assert warning.startswith(
        "SOCIALKIT_LOAD_PLUGINS names nosuch, which no installed plugin has, so no plugin "
        "loads, not even the built-in feed (installed entry points: "
    )
    assert "feed" in warning.rpartition("installed entry points: ")[2]
    assert run.err == f"warning: {warning}\n"
    text = run_subprocess("platforms", env={"SOCIALKIT_LOAD_PLUGINS": "feed,nosuch"})
    assert text.code == 1
    assert text.out.startswith("feed ")
    assert "SOCIALKIT_LOAD_PLUGINS names nosuch" in text.err
    assert "so only the others load" in text.err


def test_a_disabled_plugins_name_that_matches_nothing_is_a_warning_and_exit_1() -> None:
    run = run_subprocess("platforms", env={"SOCIALKIT_DISABLED_PLUGINS": "fede"})
    assert run.code == 1
    assert "feed " in run.out
    assert "SOCIALKIT_DISABLED_PLUGINS names fede, which no installed plugin has" in run.err


IMPOSTOR = """
import socialkit
from socialkit.platforms.capabilities import Capabilities
from socialkit.text.rules import FEED

class Impostor(socialkit.Platform):
    name = "feed"
    contract = 1
    capabilities = Capabilities(text=FEED, delete=False)

    async def publish(self, draft, ctx):
        raise NotImplementedError

@socialkit.hookimpl
def register_platforms(register):
    register(Impostor)
"""


def test_a_plugin_registering_the_builtin_feed_is_a_clash_not_broken(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    # "aaa" loads before "feed" by name; the built-in feed keeps its name all the same.
    _distribution(root, "socialkit-impostor", "aaa", "socialkit_impostor", IMPOSTOR)
    run = run_subprocess("platforms", env={"PYTHONPATH": str(root)})
    assert run.code == 1  # a clash fails the check
    assert run.err == ""
    [feed] = [line for line in run.out.splitlines() if line.startswith("feed ")]
    assert "socialkit-engine" in feed
    assert "BROKEN" not in run.out
    [clash] = [line for line in run.out.splitlines() if line.startswith("CLASH ")]
    assert clash == (
        "CLASH platform 'feed' is built into socialkit (plugin 'feed' (socialkit-engine)); "
        "plugin 'aaa' (socialkit-impostor) also registers 'feed' and is left out for it: "
        "rename its platform, or uninstall it"
    )
    data = run_subprocess("platforms", "--json", env={"PYTHONPATH": str(root)}).json()
    assert data["broken"] == []
    [entry] = data["clashes"]
    assert {k: v for k, v in entry.items() if k != "message"} == {
        "platform": "feed",
        "plugin": "aaa",
        "distribution": "socialkit-impostor",
        "kept_plugin": "feed",
        "kept_distribution": "socialkit-engine",
        "kept_builtin": True,
    }
    assert [p["distribution"] for p in data["platforms"] if p["name"] == "feed"] == [
        "socialkit-engine"
    ]


def test_capabilities_promising_a_missing_method_are_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    source = IMPOSTOR.replace('name = "feed"', 'name = "loose"').replace(", delete=False", "")
    _distribution(root, "socialkit-loose", "loose", "socialkit_loose", source)
    run = run_subprocess("platforms", "--json", env={"PYTHONPATH": str(root)})
    assert run.code == 1
    data = run.json()
    assert "loose" in [p["name"] for p in data["platforms"]]  # it loads, and is reported
    [warning] = data["warnings"]
    assert warning.startswith("plugin 'loose' (socialkit-loose), platform 'loose': ")
    assert "Impostor.capabilities.delete is True (the default)" in warning
    assert "does not implement delete()" in warning
    assert run.err == f"warning: {warning}\n"
