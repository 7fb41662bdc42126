"""Every example runs: each script in examples/, the sample campaign, and example projects.

Each runs in a fresh interpreter with a temporary working directory, and must leave the
checkout as it found it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import xml.dom.minidom
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
PROJECTS = sorted(
    p.parent for p in EXAMPLES.glob("*/pyproject.toml") if (p.parent / "tests").is_dir()
)
_ISOLATE = ("SOCIALKIT_CONFIG", "SOCIALKIT_MEDIA_DIR", "SOCIALKIT_LOAD_PLUGINS")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _ISOLATE}


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )


def _socialkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = "import sys; from socialkit.cli import main; sys.exit(main())"
    return _run([sys.executable, "-c", script, *args], cwd)


def _checkout_files() -> set[Path]:
    return {
        p
        for p in EXAMPLES.rglob("*")
        if "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


@pytest.fixture
def untouched_checkout():
    """Fails a test that leaves files behind in examples/."""
    before = _checkout_files()
    yield
    assert _checkout_files() == before


def test_there_are_examples() -> None:
    assert len(SCRIPTS) >= 3
    assert (EXAMPLES / "campaign" / "socialkit.toml").is_file()


@pytest.mark.usefixtures("untouched_checkout")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_runs(script: Path, tmp_path: Path) -> None:
    done = _run([sys.executable, str(script)], tmp_path)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{script.name} printed nothing"
    assert "Traceback" not in done.stderr


@pytest.mark.usefixtures("untouched_checkout")
def test_the_sample_images_are_what_make_images_draws(tmp_path: Path) -> None:
    media = EXAMPLES / "campaign" / "media"
    done = _run([sys.executable, str(media / "make_images.py"), str(tmp_path)], tmp_path)
    assert done.returncode == 0, done.stderr
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == sorted(p.name for p in media.glob("*.png"))
    for name in drawn:
        assert (tmp_path / name).read_bytes() == (media / name).read_bytes(), name


@pytest.mark.usefixtures("untouched_checkout")
def test_demo_publishes_the_sample_campaign_under_socialkit_demo(tmp_path: Path) -> None:
    done = _socialkit("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    feed = tmp_path / "socialkit-demo" / "feed" / "acme"
    lines = done.stdout.splitlines()
    assert f"  showcase page (acme-feed): {feed / 'index.html'}" in lines
    assert f"  Atom feed (acme-feed):     {feed / 'feed.atom'}" in lines
    posts = sorted((EXAMPLES / "campaign" / "posts").glob("*.yaml"))
    assert len(list((feed / "posts").glob("*.json"))) == len(posts)
    atom = xml.dom.minidom.parse(str(feed / "feed.atom"))
    assert len(atom.getElementsByTagName("entry")) == len(posts)
    page = (feed / "index.html").read_text(encoding="utf-8")
    assert page.count("<article") == len(posts)
    assert 'alt="An orange banner with a pale stripe across the middle"' in page
    # nothing is written outside the demo directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["socialkit-demo"]


def test_demo_runs_again_from_scratch_and_spares_foreign_directories(tmp_path: Path) -> None:
    assert _socialkit("demo", "--json", cwd=tmp_path).returncode == 0
    again = _socialkit("demo", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    import json

    data = json.loads(again.stdout)
    assert [p["ok"] for p in data["posts"]] == [True] * len(data["posts"])
    feed = Path(data["feeds"][0]["atom"])
    assert len(xml.dom.minidom.parse(str(feed)).getElementsByTagName("entry")) == len(data["posts"])

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    refused = _socialkit("demo", "--dir", "mine", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: {foreign} exists and was not made by `socialkit demo`; "
        "remove it or choose another directory with --dir\n"
    )
    assert (foreign / "notes.txt").read_text() == "keep me"


@pytest.mark.usefixtures("untouched_checkout")
def test_the_campaign_project_file_works_with_the_cli(tmp_path: Path) -> None:
    project = EXAMPLES / "campaign" / "socialkit.toml"
    listed = _socialkit("--config", str(project), "accounts", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "acme-feed" in listed.stdout


def _collected_by_the_main_run(project: Path) -> bool:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    paths = config["tool"]["pytest"]["ini_options"].get("testpaths", [])
    return any(project == ROOT / p or ROOT / p in project.parents for p in paths)


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_example_project_tests_pass(project: Path) -> None:
    if _collected_by_the_main_run(project):
        pytest.skip(f"{project.name}'s tests are collected by the main pytest run")
    done = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)], ROOT
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
