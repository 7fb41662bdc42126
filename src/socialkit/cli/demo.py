"""``socialkit demo``: publish the sample campaign to the local ``feed`` platform.

Needs no account, credentials or network. The sample campaign lives in
``examples/campaign/`` (its project file names the accounts and the campaign; ``posts/``
holds one post file each); everything the demo writes goes under ``./socialkit-demo/``:

    socialkit-demo/
        .socialkit-demo        marks the directory as the demo's (a re-run replaces it)
        media/                 the content-addressed media store
        feed/<handle>/         each feed account: posts/, media/, feed.atom, index.html

The demo is a sequence of steps over a :class:`SampleCampaign` and a :class:`DemoLayout`.
Publishing is one step (:func:`publish_now_step`, every post right now, in file order);
a step that queues the posts into the accounts' posting slots and lets the scheduling
engine publish them on an accelerated clock has the same signature and takes its place
in :func:`run_demo`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer

from socialkit.cli._app import emit

if TYPE_CHECKING:
    from socialkit.config import ProjectConfig
    from socialkit.models.account import Account
    from socialkit.models.content import Post
    from socialkit.models.media_store import LocalMediaStore
    from socialkit.platforms.publish import PublishResult

__all__ = [
    "DemoLayout",
    "DemoStep",
    "Published",
    "SampleCampaign",
    "find_sample_campaign",
    "publish_now_step",
    "register",
    "run_demo",
]

MARKER = ".socialkit-demo"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)


def demo_command(
    directory: Annotated[
        Path,
        typer.Option("--dir", metavar="DIR", help="Where to write everything."),
    ] = Path("socialkit-demo"),
    campaign: Annotated[
        Path | None,
        typer.Option(
            "--campaign",
            metavar="DIR",
            help="A sample campaign directory (default: examples/campaign of the checkout).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Publish a sample campaign to the local feed platform; no account or network needed.

    Writes everything under ./socialkit-demo/ and prints where the showcase page and the
    Atom feed are. Running it again starts the demo directory afresh.
    """
    sample = SampleCampaign.load(campaign or find_sample_campaign())
    layout = DemoLayout(directory.resolve())
    published = run_demo(sample, layout)
    emit(
        _report_json(sample, layout, published),
        as_json=as_json,
        text=_report_text(sample, layout, published),
    )
    if not all(p.result.ok for p in published):
        raise typer.Exit(1)


# -- the sample campaign and where the demo writes ----------------------------------------------


def find_sample_campaign() -> Path:
    """``examples/campaign`` of the checkout socialkit runs from, or of the current directory.

    Raises:
        ConfigError: neither exists (an installed wheel has no examples: pass --campaign).
    """
    from socialkit.errors import ConfigError

    checkout = Path(__file__).resolve().parents[3]
    candidates = [checkout / "examples" / "campaign", Path.cwd() / "examples" / "campaign"]
    for candidate in candidates:
        if (candidate / "socialkit.toml").is_file() and (candidate / "posts").is_dir():
            return candidate
    raise ConfigError(
        "the sample campaign (examples/campaign) was not found next to socialkit or in the "
        "current directory; run from a checkout or pass --campaign DIR"
    )


@attrs.frozen
class SampleCampaign:
    """A campaign directory: ``socialkit.toml`` (accounts, campaign) and ``posts/*.yaml``."""

    root: Path
    config: ProjectConfig
    posts: tuple[Path, ...]

    @classmethod
    def load(cls, root: Path) -> SampleCampaign:
        """Read the project file and list the post files (sorted by name).

        Raises:
            ConfigError: no project file, a broken one, or no posts.
        """
        from socialkit.config import CONFIG_FILENAME, load_config
        from socialkit.errors import ConfigError

        config = load_config(root / CONFIG_FILENAME)
        posts = tuple(
            sorted(p for p in (root / "posts").glob("*") if p.suffix in (".yaml", ".yml", ".json"))
        )
        if not posts:
            raise ConfigError(f"{root / 'posts'}: no post files (*.yaml, *.yml, *.json)")
        return cls(root=root, config=config, posts=posts)

    def feed_accounts(self) -> list[Account]:
        """The campaign's accounts on the ``feed`` platform."""
        from socialkit.errors import ConfigError

        accounts = [a for a in self.config.accounts if a.platform == "feed"]
        if not accounts:
            raise ConfigError(f"{self.config.path}: the sample campaign has no feed account")
        return accounts


@attrs.frozen
class DemoLayout:
    """The demo's own directory and what goes where inside it."""

    root: Path

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def feed_root(self) -> Path:
        return self.root / "feed"

    def feed_dir(self, account: Account) -> Path:
        from socialkit.platforms.feed import feed_directory

        return self.feed_root / feed_directory({}, account.handle).name

    def media_store(self) -> LocalMediaStore:
        from socialkit.models.media_store import LocalMediaStore

        return LocalMediaStore(self.media_dir)

    def account(self, account: Account) -> Account:
        """``account`` writing its feed inside the demo directory."""
        settings = {**account.settings, "directory": str(self.feed_dir(account))}
        return account.model_copy(update={"settings": settings})

    def prepare(self) -> None:
        """Create the directory, or empty the feeds of an earlier demo run.

        Raises:
            ConfigError: the directory exists, is not empty, and is not the demo's.
        """
        from socialkit.errors import ConfigError

        marker = self.root / MARKER
        foreign = self.root.exists() and not marker.exists()
        if foreign and (not self.root.is_dir() or any(self.root.iterdir())):
            raise ConfigError(
                f"{self.root} exists and was not made by `socialkit demo`; "
                "remove it or choose another directory with --dir"
            )
        shutil.rmtree(self.feed_root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        marker.write_text("made by `socialkit demo`; safe to delete\n", encoding="utf-8")


# -- steps --------------------------------------------------------------------------------------


@attrs.frozen
class Published:
    """One post file's outcome on one account."""

    post_file: Path
    result: PublishResult


DemoStep = Callable[["SampleCampaign", "DemoLayout"], "list[Published]"]
"""A way of getting the sample campaign's posts onto its accounts."""


def publish_now_step(sample: SampleCampaign, layout: DemoLayout) -> list[Published]:
    """Publish every sample post now to every feed account, one post after another.

    Posts go out in file order, so the feed lists them in that order.
    """
    from socialkit.platforms.publish import publish_now

    accounts = [layout.account(a) for a in sample.feed_accounts()]
    store = layout.media_store()
    posts = _load_posts(sample, store)
    clock = _SecondApart()
    published = []
    for path, post in posts:
        campaign = _campaign(sample.config, post)
        for result in publish_now(post, accounts, campaign=campaign, media=store, clock=clock):
            published.append(Published(post_file=path, result=result))
        clock.advance()
    return published


class _SecondApart:
    """The current time, but at least a second after the previous post's.

    The feed orders entries by their publication second; posts published in one burst
    would otherwise share it and lose the campaign's order.
    """

    def __init__(self) -> None:
        self._floor: datetime | None = None
        self._last: datetime | None = None

    def __call__(self) -> datetime:
        now = datetime.now(UTC)
        if self._floor is not None and now < self._floor:
            now = self._floor
        self._last = now
        return now

    def advance(self) -> None:
        if self._last is not None:
            self._floor = self._last.replace(microsecond=0) + timedelta(seconds=1)


def run_demo(
    sample: SampleCampaign, layout: DemoLayout, step: DemoStep = publish_now_step
) -> list[Published]:
    """Prepare the demo directory and run ``step``."""
    layout.prepare()
    return step(sample, layout)


def _load_posts(sample: SampleCampaign, store: LocalMediaStore) -> list[tuple[Path, Post]]:
    """Every post file, read before anything is published; one bad file stops the demo."""
    from socialkit.postfile import load_post_file

    return [(path, load_post_file(path, media=store)) for path in sample.posts]


def _campaign(config: ProjectConfig, post: Post) -> Any:
    if post.campaign is None:
        return None
    return next((c for c in config.campaigns if c.id == post.campaign), None)


# -- the report ---------------------------------------------------------------------------------


def _sites(sample: SampleCampaign, layout: DemoLayout) -> list[dict[str, str]]:
    from socialkit.platforms.feed.site import FeedSite

    sites = []
    for account in sample.feed_accounts():
        site = FeedSite(layout.feed_dir(account), title=account.handle, author=account.handle)
        sites.append(
            {
                "account": account.id,
                "showcase": str(site.page_path),
                "atom": str(site.atom_path),
            }
        )
    return sites


def _report_json(
    sample: SampleCampaign, layout: DemoLayout, published: list[Published]
) -> dict[str, Any]:
    campaigns = [{"id": c.id, "name": c.name} for c in sample.config.campaigns]
    rows = []
    for item in published:
        result = item.result
        rows.append(
            {
                "file": item.post_file.name,
                "account": result.account.id,
                "ok": result.ok,
                "parts": len(result.receipt.parts) if result.receipt else 0,
                "url": result.receipt.url if result.receipt else None,
                "error": f"{type(result.error).__name__}: {result.error}" if result.error else None,
            }
        )
    return {
        "directory": str(layout.root),
        "campaigns": campaigns,
        "posts": rows,
        "feeds": _sites(sample, layout),
    }


def _report_text(sample: SampleCampaign, layout: DemoLayout, published: list[Published]) -> str:
    names = ", ".join(f"{c.name!r}" for c in sample.config.campaigns) or "the sample campaign"
    lines = [f"Published {names} from {sample.root} to the local feed platform:"]
    width = max(len(p.post_file.name) for p in published) if published else 0
    for item in published:
        result = item.result
        if result.ok and result.receipt is not None:
            parts = len(result.receipt.parts)
            outcome = f"{parts} part{'s' if parts != 1 else ''}"
        else:
            outcome = f"FAILED: {type(result.error).__name__}: {result.error}"
        lines.append(f"  {item.post_file.name:<{width}}  {result.account.id}  {outcome}")
    lines.append(f"Everything is under {layout.root}")
    for site in _sites(sample, layout):
        lines.append(f"  showcase page ({site['account']}): {site['showcase']}")
        lines.append(f"  Atom feed ({site['account']}):     {site['atom']}")
    lines.append(f"Open {Path(_sites(sample, layout)[0]['showcase']).as_uri()} in a browser.")
    return "\n".join(lines)
