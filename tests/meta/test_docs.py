"""The documentation builds, its examples run, and it keeps up with the code.

Every ```python block of a page runs, in order, in one namespace, in a fresh working
directory. A block that cannot run offline (it needs a PostgreSQL server, a real Mastodon
instance, or it shows a hook's specification) says so in an HTML comment right above it,
which the reader of the site does not see::

    <!-- not run: needs a PostgreSQL server -->
    ```python
    ...

Any other block that raises fails the test. A ```console block marked
``<!-- output checked -->`` shows ``$ socialkit ...`` commands with exactly what they print
(standard output, then standard error), and the test runs them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import socialkit
import socialkit.analytics
import socialkit.schedule.stores
import socialkit.testing
from socialkit.schedule.engine.clock import SystemClock

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
# Pages whose examples are not run yet, with the reason. Every other page is run.
NOT_RUN_YET: dict[str, str] = {}
RUNNABLE_PAGES = [page for page in PAGES if page not in NOT_RUN_YET]

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*\{?(?P<lang>[\w.+-]*)\}?(?P<info>[^\n]*)\n"
    r"(?P<body>.*?)"
    r"^[ \t]*(?P=fence)[ \t]*$",
    re.S | re.M,
)
_PYTHON = {"python", "py", "python3", "py3"}
_COMMENT = re.compile(r"<!--(?P<text>.*?)-->", re.S)
_NOT_RUN = re.compile(r"\s*not run:(?P<reason>.*)", re.S)


@dataclass(frozen=True)
class Block:
    """One python code block of a page."""

    number: int
    line: int
    code: str
    not_run: str | None  # the reason given in a ``<!-- not run: ... -->`` comment


def python_blocks(text: str) -> list[Block]:
    """The page's python blocks, each with the ``not run`` reason written right above it.

    Raises:
        ValueError: a ``not run`` comment has no reason, or no python block follows it.
    """
    blocks: list[Block] = []
    attached: set[int] = set()
    for match in _FENCE.finditer(text):
        if match["lang"].lower() not in _PYTHON:
            continue
        reason = None
        above = text[: match.start()].rstrip()
        # the comments directly above the fence (fmt: off and not run may be stacked)
        while above.endswith("-->"):
            start = above.rfind("<!--")
            if start < 0:
                break
            comment = _COMMENT.fullmatch(above[start:])
            if comment is None:
                break
            marked = _NOT_RUN.match(comment["text"])
            if marked is not None:
                reason = " ".join(marked["reason"].split())
                if not reason:
                    raise ValueError(f"line {_line(text, start)}: 'not run:' needs a reason")
                attached.add(start)
            above = above[:start].rstrip()
        number = len(blocks) + 1
        code = textwrap.dedent(match["body"])
        blocks.append(Block(number, _line(text, match.start()), code, reason))
    for comment in _COMMENT.finditer(text):
        if _NOT_RUN.match(comment["text"]) and comment.start() not in attached:
            raise ValueError(
                f"line {_line(text, comment.start())}: a 'not run' comment must stand right "
                "above a python block"
            )
    return blocks


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def run_blocks(page: str, blocks: list[Block]) -> int:
    """Run the blocks not marked ``not run`` in one namespace; the number run."""
    namespace: dict[str, object] = {"__name__": f"docs.{page}"}
    ran = 0
    for block in blocks:
        if block.not_run is not None:
            continue
        where = f"{page} example {block.number} (line {block.line})"
        try:
            exec(compile(block.code, where, "exec"), namespace)
        except Exception as exc:
            raise AssertionError(
                f"{where} failed with {type(exc).__name__}: {exc}\n"
                f"mark it <!-- not run: why --> if it cannot run offline"
            ) from exc
        ran += 1
    return ran


def _mkdocs() -> str | None:
    found = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    return found or shutil.which("mkdocs")


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    mkdocs = _mkdocs()
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    guide = (tmp_path / "site" / "plugins" / "guide" / "index.html").read_text()
    # the worked example's code is included from examples/plugin_pigeon
    assert '<span class="nf">_call</span>' in guide, "the worked example's code is missing"
    assert "8&lt;--" not in guide
    mangled = '<span class="mi">8</span> <span class="o">&lt;</span>'
    assert mangled not in guide, "a snippet line was reformatted (--8 < --)"


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_python_examples_on_the_page_run(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unmarked python block of the page runs, in order, in one namespace."""
    for name in ("SOCIALKIT_CONFIG", "SOCIALKIT_MEDIA_DIR", "SOCIALKIT_STORE"):
        monkeypatch.delenv(name, raising=False)
    # a page may register a store URL scheme (docs/stores.md); keep it to this test
    monkeypatch.setattr(
        socialkit.schedule.stores, "_SCHEMES", dict(socialkit.schedule.stores._SCHEMES)
    )
    blocks = python_blocks((DOCS / page).read_text(encoding="utf-8"))
    run_blocks(page, blocks)


def test_the_scheduling_examples_still_run_a_year_from_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The examples run on the real clock: a moment they schedule must stay ahead of it.
    The advent calendar at 2026-12-01..24 was refused with PastGracePeriod from
    2026-12-01 on, by the test and by a reader running the page."""
    for name in ("SOCIALKIT_CONFIG", "SOCIALKIT_MEDIA_DIR", "SOCIALKIT_STORE"):
        monkeypatch.delenv(name, raising=False)
    ahead = dt.timedelta(days=366)
    monkeypatch.setattr(SystemClock, "now", lambda self: dt.datetime.now(dt.UTC) + ahead)
    blocks = python_blocks((DOCS / "scheduling.md").read_text(encoding="utf-8"))
    assert run_blocks("scheduling.md", blocks) > 0


def test_every_page_is_run_or_says_why_not() -> None:
    assert set(NOT_RUN_YET) <= set(PAGES), set(NOT_RUN_YET) - set(PAGES)
    assert {"quickstart.md", "models.md", "analytics.md", "text.md"} <= set(RUNNABLE_PAGES)


def test_the_runnable_pages_have_examples_that_run() -> None:
    pages = ["quickstart.md", "text.md", "scheduling-time.md", "errors.md", "scheduling.md"]
    for page in [*pages, "stores.md", "platforms/bluesky.md", "cli.md"]:
        blocks = python_blocks((DOCS / page).read_text(encoding="utf-8"))
        assert any(b.not_run is None for b in blocks), f"{page} runs no example"


_SAMPLE_PAGE = """
Text.

```python
x = 1
```

<!-- not run: needs a PostgreSQL server -->
```python
await connect()
```

<!-- fmt: off -->
<!-- not run: an included file -->
```python
--8<-- "examples/a.py"
```
<!-- fmt: on -->

- a list item:

  ```python
  assert x == 1
  ```

```console
$ not python
```
"""


def test_blocks_marked_not_run_are_skipped_and_others_run() -> None:
    blocks = python_blocks(_SAMPLE_PAGE)
    assert [(b.line, b.not_run) for b in blocks] == [
        (4, None),
        (9, "needs a PostgreSQL server"),
        (15, "an included file"),
        (22, None),
    ]
    assert blocks[3].code == "assert x == 1\n"
    assert run_blocks("sample.md", blocks) == 2


def test_an_unmarked_block_that_fails_fails_the_page() -> None:
    blocks = python_blocks("```python\nx = 1\n```\n\n```python\nawait connect()\n```\n")
    with pytest.raises(
        AssertionError, match=r"sample\.md example 2 \(line 5\) failed with SyntaxError"
    ):
        run_blocks("sample.md", blocks)
    blocks = python_blocks("```python\nundefined_name\n```\n")
    with pytest.raises(AssertionError, match="NameError: name 'undefined_name'"):
        run_blocks("sample.md", blocks)


@pytest.mark.parametrize(
    "page",
    [
        "<!-- not run: -->\n```python\nx\n```\n",
        "<!-- not run: a reason -->\n\nSome text.\n\n```python\nx\n```\n",
        "<!-- not run: a reason -->\n```console\n$ x\n```\n",
    ],
)
def test_a_not_run_comment_needs_a_reason_and_a_python_block(page: str) -> None:
    with pytest.raises(ValueError, match="not run"):
        python_blocks(page)


def test_every_kpi_function_is_documented_with_its_formula() -> None:
    page = (DOCS / "analytics.md").read_text(encoding="utf-8")
    for name in socialkit.analytics.__all__:
        if callable(getattr(socialkit.analytics, name)) and name[0].islower():
            assert f"{name}(" in page, f"docs/analytics.md does not show {name}()"
    for kpi in socialkit.analytics.KpiValues.model_fields:
        function = getattr(socialkit.analytics, kpi)
        assert "Formula:" in (function.__doc__ or ""), f"{kpi} has no formula in its docstring"


def test_every_standard_test_is_listed_in_the_plugin_guide() -> None:
    page = (DOCS / "plugins" / "guide.md").read_text(encoding="utf-8")
    missing = [n for n in socialkit.testing.standard_test_names() if f"`{n}`" not in page]
    assert not missing, f"docs/plugins/guide.md does not list {missing}"


def test_every_capability_switch_is_listed_in_the_plugin_guide() -> None:
    page = (DOCS / "plugins" / "guide.md").read_text(encoding="utf-8")
    for switch, _, _ in socialkit.testing.FEATURES.values():
        assert f"`{switch}`" in page, switch


def _public_names() -> dict[str, list[str]]:
    """Each public module and its ``__all__``."""
    modules = {"socialkit": list(socialkit.__all__)}
    for sub in sorted(socialkit._SUBMODULES):
        modules[f"socialkit.{sub}"] = list(importlib.import_module(f"socialkit.{sub}").__all__)
    return modules


def test_every_public_name_is_in_the_docs() -> None:
    docs = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    missing = sorted(
        {name for names in _public_names().values() for name in names if f"`{name}`" not in docs}
    )
    assert not missing, f"public names no page of docs/ mentions as `name`: {missing}"


_SECTION = re.compile(r"^### `(?P<module>socialkit[\w.]*)`\n(?P<body>.*?)(?=^##|\Z)", re.S | re.M)
_ROW = re.compile(r"^\| `(?P<name>[^`]+)` \|(?P<cells>.*)\|$", re.M)
_LINK = re.compile(r"\]\((?P<page>[^)#]*)(?:#[^)]*)?\)")


def _index() -> dict[str, list[tuple[str, list[str]]]]:
    """The API index (docs/reference.md): module -> rows of (name, other cells)."""
    page = (DOCS / "reference.md").read_text(encoding="utf-8")
    return {
        m["module"]: [
            (row["name"], [cell.strip() for cell in row["cells"].split("|")])
            for row in _ROW.finditer(m["body"])
        ]
        for m in _SECTION.finditer(page)
    }


def test_the_api_index_lists_exactly_the_public_names_of_each_module() -> None:
    modules = _public_names()
    index = _index()
    assert sorted(index) == sorted(modules)
    in_subpackages = {
        name for module, names in modules.items() if module != "socialkit" for name in names
    }
    top_level_only = [name for name in modules["socialkit"] if name not in in_subpackages]
    for module, names in modules.items():
        listed = [name for name, _ in index[module]]
        assert len(listed) == len(set(listed)), f"{module}: a name is listed twice"
        expected = top_level_only if module == "socialkit" else names
        assert sorted(listed) == sorted(expected), (
            f"docs/reference.md, {module}: missing {sorted(set(expected) - set(listed))}, "
            f"not public {sorted(set(listed) - set(expected))}"
        )
        if module == "socialkit":
            continue
        for name, cells in index[module]:
            reexported = cells[-1] == "✓"
            assert reexported == (name in modules["socialkit"]), (
                f"docs/reference.md, {module}.{name}: the 'in socialkit' mark is wrong"
            )


def test_each_name_in_the_api_index_links_to_a_page_that_shows_it() -> None:
    for module, rows in _index().items():
        for name, cells in rows:
            description, see = cells[0], cells[1]
            assert description, f"{module}.{name} has no description"
            if see == "here":
                continue
            link = _LINK.search(see)
            assert link is not None, f"{module}.{name}: {see!r} is neither a link nor 'here'"
            page = link["page"] or "reference.md"
            text = (DOCS / page).read_text(encoding="utf-8")
            mentioned = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text)
            assert mentioned, f"{module}.{name} links to {page}, which does not mention it"


_OUTPUT_CHECKED = re.compile(
    r"^<!-- output checked -->\n```console\n(?P<body>.*?)^```$", re.S | re.M
)
CHECKED_PAGES = [p for p in PAGES if _OUTPUT_CHECKED.search((DOCS / p).read_text("utf-8"))]


def console_sessions(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for each ``$`` line of the checked console blocks."""
    sessions: list[tuple[str, str]] = []
    for block in _OUTPUT_CHECKED.finditer(text):
        for chunk in re.split(r"^\$ ", block["body"], flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            sessions.append((command, output.rstrip("\n")))
    return sessions


def test_console_sessions_are_read_command_by_command() -> None:
    page = "<!-- output checked -->\n```console\n$ socialkit a\none\n\n$ socialkit b\n```\n"
    assert console_sessions(page) == [("socialkit a", "one"), ("socialkit b", "")]
    assert console_sessions("```console\n$ socialkit a\n```\n") == []  # not marked


@pytest.mark.parametrize("page", CHECKED_PAGES)
def test_console_output_on_the_page_is_what_the_command_prints(page: str, tmp_path: Path) -> None:
    sessions = console_sessions((DOCS / page).read_text(encoding="utf-8"))
    assert sessions
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALKIT_")}
    main = "import sys; from socialkit.cli import main; sys.exit(main())"
    for command, expected in sessions:
        argv = shlex.split(command)
        assert argv[0] == "socialkit", f"{page}: only socialkit commands are checked: {command}"
        done = subprocess.run(
            [sys.executable, "-c", main, *argv[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (done.stdout + done.stderr).rstrip("\n") == expected, f"{page}: $ {command}"
