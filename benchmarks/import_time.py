"""How long it takes to start using socialkit, beside the libraries it is measured against.

Each subject runs several times, each time in a fresh interpreter, and the median is
reported. Two figures per subject:

- ``import``: the time the statement itself takes inside the interpreter (interpreter
  start-up excluded), measured with ``time.perf_counter`` around it;
- ``process``: the wall time of the whole process, from spawn to exit, as a user waiting
  for a command sees it.

Goals (issue 2): ``import socialkit; socialkit.Post`` at most 1.3x ``import pydantic,
httpx``; ``socialkit --help`` under 0.5 s; both below ``import tweepy`` and ``import
mastodon`` (the import figure for the import, the process figure for ``--help``).

Run: ``python benchmarks/import_time.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The statement runs between two perf_counter calls; the child prints the difference.
_TIMED = (
    "import time as _t\n_s = _t.perf_counter()\n{statement}\nprint(repr(_t.perf_counter() - _s))\n"
)


@dataclass
class Subject:
    label: str
    statement: str | None = None  # a Python statement, or None for a command
    command: list[str] | None = None
    available: bool = True
    imports: list[float] = field(default_factory=list)
    processes: list[float] = field(default_factory=list)

    @property
    def import_median(self) -> float:
        return statistics.median(self.imports) if self.imports else float("nan")

    @property
    def process_median(self) -> float:
        return statistics.median(self.processes) if self.processes else float("nan")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # No plugin selection or bytecode tricks from the caller's shell.
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "SOCIALKIT_LOAD_PLUGINS"):
        env.pop(name, None)
    return env


def _run_once(subject: Subject, env: dict[str, str], cwd: Path) -> tuple[float | None, float]:
    if subject.statement is not None:
        argv = [sys.executable, "-c", _TIMED.format(statement=subject.statement)]
    else:
        assert subject.command is not None
        argv = subject.command
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{subject.label!r} failed ({done.returncode}): {done.stderr.strip()}")
    measured = float(done.stdout.strip().splitlines()[-1]) if subject.statement else None
    return measured, wall


def _module_available(name: str, env: dict[str, str]) -> bool:
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    return subprocess.run([sys.executable, "-c", probe], env=env, check=False).returncode == 0


def _socialkit_command() -> list[str]:
    script = Path(sys.executable).with_name("socialkit")
    if script.exists():
        return [str(script), "--help"]
    found = shutil.which("socialkit")
    if found:
        return [found, "--help"]
    return [sys.executable, "-m", "socialkit.cli", "--help"]


def _ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:8.1f} ms"  # NaN: not measured


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs per subject (default 9)")
    args = parser.parse_args(argv)
    env = _environment()
    cwd = Path.cwd()

    socialkit = Subject("import socialkit; socialkit.Post", "import socialkit; socialkit.Post")
    help_ = Subject("socialkit --help", command=_socialkit_command())
    anchor = Subject("import pydantic, httpx", "import pydantic, httpx")
    tweepy = Subject("import tweepy", "import tweepy")
    mastodon = Subject("import mastodon", "import mastodon")
    # What any pydantic application pays before its first model exists: socialkit's own
    # share of its import time is the difference to this row.
    one_model = Subject(
        "pydantic BaseModel + one model class",
        "from pydantic import BaseModel\nclass _One(BaseModel):\n    x: int",
    )
    baseline = Subject("python -c pass (interpreter start-up)", "pass")
    subjects = [socialkit, help_, anchor, tweepy, mastodon, one_model, baseline]
    tweepy.available = _module_available("tweepy", env)
    mastodon.available = _module_available("mastodon", env)

    for subject in subjects:
        if subject.available:
            _run_once(subject, env, cwd)  # warm-up: bytecode caches, file system caches
    # Interleave the subjects so a noisy moment on a shared machine hits all of them.
    for _ in range(args.repeat):
        for subject in subjects:
            if not subject.available:
                continue
            measured, wall = _run_once(subject, env, cwd)
            if measured is not None:
                subject.imports.append(measured)
            subject.processes.append(wall)

    print(f"python {sys.version.split()[0]}, median of {args.repeat} fresh processes each")
    print(f"{'subject':<42} {'import':>11} {'process':>11}")
    for subject in subjects:
        if not subject.available:
            print(f"{subject.label:<42} {'not installed':>23}")
            continue
        imported, process = _ms(subject.import_median), _ms(subject.process_median)
        print(f"{subject.label:<42} {imported:>11} {process:>11}")

    goals: list[tuple[str, bool]] = []
    sk, anc = socialkit.import_median, anchor.import_median
    print()
    print(f"import socialkit / import pydantic, httpx : {_ratio(sk, anc)} (goal <= 1.30x)")
    goals.append(("import socialkit <= 1.3x pydantic+httpx", sk <= 1.3 * anc))
    print(
        f"import socialkit / one pydantic model     : {_ratio(sk, one_model.import_median)} "
        f"(socialkit's own share: {_ms(sk - one_model.import_median).strip()})"
    )
    helpwall = help_.process_median
    print(f"socialkit --help                          : {_ms(helpwall).strip()} (goal < 500 ms)")
    goals.append(("socialkit --help < 0.5 s", helpwall < 0.5))
    for other in (tweepy, mastodon):
        if not other.available:
            print(f"{other.label}: not installed, comparison skipped")
            continue
        print(
            f"import socialkit / {other.label:<22} : {_ratio(sk, other.import_median)}"
            f"   socialkit --help / python -c '{other.statement}' : "
            f"{_ratio(helpwall, other.process_median)} (goal < 1x each)"
        )
        goals.append((f"import socialkit < {other.label}", sk < other.import_median))
        goals.append(
            (f"socialkit --help < {other.label} (process)", helpwall < other.process_median)
        )
    print()
    for goal, met in goals:
        print(f"{'met   ' if met else 'MISSED'} {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
