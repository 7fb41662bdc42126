"""The plugin guide's worked example is a real distribution that passes the kit."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
PIGEON = ROOT / "examples" / "plugin_pigeon"


def test_its_pyproject_registers_through_the_socialkit_entry_point_group() -> None:
    project = tomllib.loads((PIGEON / "pyproject.toml").read_text())["project"]
    assert project["name"] == "socialkit-pigeon"
    assert project["entry-points"]["socialkit"] == {"pigeon": "socialkit_pigeon"}
    assert any(dep.startswith("socialkit-engine") for dep in project["dependencies"])


def test_the_installed_entry_point_loads_pigeon_beside_feed(tmp_path: Path) -> None:
    """Install metadata as pip would write it, then load plugins in a fresh process."""
    dist_info = tmp_path / "socialkit_pigeon-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: socialkit-pigeon\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[socialkit]\npigeon = socialkit_pigeon\n")
    code = (
        "import socialkit; r = socialkit.Registry(); "
        "i = r.info('pigeon'); print(r.names(), i.distribution, i.version, r.failures)"
    )
    env = {"PYTHONPATH": f"{tmp_path}:{PIGEON / 'src'}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    names, rest = out.stdout.split("] ", 1)
    assert "'feed'" in names
    assert "'pigeon'" in names
    assert rest.strip() == "socialkit-pigeon 0.1.0 []"


def test_its_own_test_suite_passes(tmp_path: Path) -> None:
    """``pytest examples/plugin_pigeon`` as its author runs it: the kit over MockTransport."""
    report = tmp_path / "report.txt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-W",
            "ignore::pytest.PytestDeprecationWarning",
            str(PIGEON),
        ],
        # Run from a scratch directory: the kit's media store writes under the working
        # directory, and the checkout should stay as it was.
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "46 passed, 5 skipped" in done.stdout
    assert not (PIGEON / ".socialkit").exists()
