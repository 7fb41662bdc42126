"""``socialkit demo``: a week of the sample campaign on the local ``feed`` platform.

Needs no account, credentials or network. The sample campaign lives in
``examples/campaign/`` (its project file names the accounts, their posting slots and the
campaign; ``posts/`` holds one post file each); everything the demo writes goes under
``./socialkit-demo/``:

    socialkit-demo/
        .socialkit-demo        marks the directory as the demo's (a re-run replaces it)
        socialkit.db           the scheduler's SQLite store (publications and histories)
        media/                 the content-addressed media store
        feed/<handle>/         each feed account: posts/, media/, feed.atom, index.html

The demo runs one step over a :class:`SampleCampaign` and a :class:`DemoLayout`. The
default, :func:`schedule_week_step`, adds every post to the accounts' queues (their next
free posting slots, in each account's time zone) and lets the scheduling engine publish
the campaign's first week on a clock that jumps from one due moment to the next, so the
week takes about a second. :func:`publish_now_step` (``socialkit demo --now``) publishes
every post at once instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer

from socialkit.cli._app import emit, fail, say

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
    "schedule_week_step",
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
    now: Annotated[
        bool,
        typer.Option("--now", help="Publish every post at once instead of scheduling a week."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Schedule a week of a sample campaign and publish it to the local feed platform.

    The posts go into the accounts' posting slots and the scheduling engine publishes
    them on an accelerated clock; no account or network is needed. Writes everything
    under ./socialkit-demo/ and prints where the showcase page and the Atom feed are.
    Running it again starts the demo directory afresh.
    """
    if campaign is None:
        sample = SampleCampaign.load(find_sample_campaign())
    else:
        from socialkit.errors import ConfigError

        try:
            sample = SampleCampaign.load(campaign)
        except ConfigError as exc:  # name the option and the directory given
            raise fail(
                f"--campaign: {exc} (got {str(campaign)!r}); give a sample campaign "
                "directory: a socialkit.toml and posts/*.yaml, like examples/campaign",
                code=2,
            ) from None
    layout = DemoLayout(directory.resolve())
    if now:
        step: DemoStep = publish_now_step
    else:

        def step(sample: SampleCampaign, layout: DemoLayout) -> list[Published]:
            return schedule_week_step(sample, layout, progress=None if as_json else say)

    published = run_demo(sample, layout, step)
    emit(
        _report_json(sample, layout, published),
        as_json=as_json,
        text=_report_text(sample, layout, published, scheduled=not now),
    )
    if not all(p.ok for p in published):
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

    @property
    def store_path(self) -> Path:
        return self.root / "socialkit.db"

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
            ConfigError: the directory exists, is not empty, and is not the demo's; or it
                cannot be written.
        """
        from socialkit.errors import ConfigError

        marker = self.root / MARKER
        foreign = self.root.exists() and not marker.exists()
        if foreign and (not self.root.is_dir() or any(self.root.iterdir())):
            raise ConfigError(
                f"{self.root} exists and was not made by `socialkit demo`; "
                "remove it or choose another directory with --dir"
            )
        try:
            shutil.rmtree(self.feed_root, ignore_errors=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.store_path}{suffix}").unlink(missing_ok=True)
            self.root.mkdir(parents=True, exist_ok=True)
            marker.write_text("made by `socialkit demo`; safe to delete\n", encoding="utf-8")
        except OSError as exc:  # read-only, no such parent, not allowed
            raise ConfigError(
                f"--dir: cannot write the demo into {self.root}: {exc.strerror or exc} "
                "(choose another directory with --dir)"
            ) from None


# -- steps --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Published:
    """One post file's outcome on one account.

    Attributes:
        post_file: the sample post file.
        account: the account id.
        ok: whether the post was published.
        at: when it went out (aware, UTC), if it did.
        local: the wall time and zone it was meant for (``Mon 02 Mar 09:00
            Europe/Berlin``), for scheduled posts.
        parts: how many platform posts it took (a thread has several).
        url: where to see it, when the platform gives one.
        error: what went wrong, in one line.
    """

    post_file: Path
    account: str
    ok: bool
    at: datetime | None = None
    local: str | None = None
    parts: int = 0
    url: str | None = None
    error: str | None = None

    @classmethod
    def from_result(cls, post_file: Path, result: PublishResult) -> Published:
        """From what :func:`socialkit.publish_now` returned for one account."""
        receipt = result.receipt
        return cls(
            post_file=post_file,
            account=result.account.id,
            ok=result.ok,
            at=receipt.published_at if receipt else None,
            parts=len(receipt.parts) if receipt else 0,
            url=receipt.url if receipt else None,
            error=f"{type(result.error).__name__}: {result.error}" if result.error else None,
        )


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
            published.append(Published.from_result(path, result))
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


def schedule_week_step(
    sample: SampleCampaign,
    layout: DemoLayout,
    *,
    progress: Callable[[str], object] | None = None,
) -> list[Published]:
    """Queue every sample post into the posting slots and publish the week through the engine.

    The week starts when the campaign starts (or on the coming Monday when the sample has
    no campaign). A :class:`~socialkit.ManualClock` stands in for time: the loop moves it
    to the next moment the engine has work, and the engine publishes what is due at that
    moment in each account's own time zone, exactly as a worker would in real time. Each
    post that goes out is passed to ``progress`` as one line. Anything queued beyond the
    week stays scheduled in the demo's store and is reported as not published.
    """
    from zoneinfo import ZoneInfo

    from socialkit.schedule.engine.clock import ManualClock
    from socialkit.schedule.facade import Scheduler

    accounts = [layout.account(a) for a in sample.feed_accounts()]
    store = layout.media_store()
    posts = _load_posts(sample, store)
    start = _week_start(sample)
    end = start + timedelta(days=7)
    clock = ManualClock(start)
    scheduler = Scheduler(
        f"sqlite:///{layout.store_path}",
        clock=clock,
        media=store,
        campaigns=sample.config.campaigns,
        accounts=accounts,
        workspace=sample.config.workspace,
    )
    files: dict[str, Path] = {}
    with scheduler:
        for path, post in posts:
            for publication in scheduler.queue(post, accounts):
                files[publication.id] = path
        if progress is not None:
            zone = accounts[0].timezone
            local = start.astimezone(ZoneInfo(zone))
            progress(
                f"Queued {len(files)} publications into the posting slots; playing the week "
                f"from {local:%a %d %b %Y %H:%M} {zone}:"
            )
        reported: set[str] = set()
        while (due := scheduler.next_due()) is not None and due < end:
            clock.set(max(due, clock.now()))
            scheduler.run(until_idle=True)
            for publication_id, path in files.items():
                if publication_id in reported:
                    continue
                outcome = _outcome(path, scheduler.get(publication_id))
                if outcome.ok or outcome.error:
                    reported.add(publication_id)
                    if progress is not None:
                        progress(_progress_line(outcome))
        return [_outcome(path, scheduler.get(pid)) for pid, path in files.items()]


def _week_start(sample: SampleCampaign) -> datetime:
    starts = [c.starts_at for c in sample.config.campaigns if c.starts_at is not None]
    if starts:
        return min(starts).astimezone(UTC)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 - today.weekday())


def _outcome(path: Path, publication: Any) -> Published:
    from socialkit.schedule.states import PublicationState as S

    receipt = publication.receipts[-1].receipt if publication.receipts else None
    local = f"{publication.local_time:%a %d %b %H:%M} {publication.zone}"
    published = publication.state is S.PUBLISHED and receipt is not None
    error = None
    if publication.state in (S.FAILED, S.MISSED, S.UNKNOWN, S.CANCELLED):
        reason = publication.last_error or "; ".join(str(p) for p in publication.problems)
        error = f"{publication.state.value}: {reason}" if reason else publication.state.value
    return Published(
        post_file=path,
        account=publication.account_id,
        ok=published,
        at=receipt.published_at if published and receipt else None,
        local=local,
        parts=len(receipt.parts) if published and receipt else 0,
        url=receipt.url if published and receipt else None,
        error=error,
    )


def _progress_line(item: Published) -> str:
    outcome = f"published ({_parts(item.parts)})" if item.ok else f"FAILED: {item.error}"
    return f"  {item.local}  {item.post_file.name} -> {item.account}  {outcome}"


def _parts(count: int) -> str:
    return f"{count} part{'s' if count != 1 else ''}"


def run_demo(
    sample: SampleCampaign, layout: DemoLayout, step: DemoStep = schedule_week_step
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
    rows = [
        {
            "file": item.post_file.name,
            "account": item.account,
            "ok": item.ok,
            "local_time": item.local,
            "published_at": item.at.isoformat() if item.at else None,
            "parts": item.parts,
            "url": item.url,
            "error": item.error,
        }
        for item in published
    ]
    return {
        "directory": str(layout.root),
        "store": f"sqlite:///{layout.store_path}" if layout.store_path.exists() else None,
        "campaigns": campaigns,
        "posts": rows,
        "feeds": _sites(sample, layout),
    }


def _socialkit_command() -> str:
    """How to run this socialkit again: ``socialkit`` when that name on ``PATH`` is this
    command, else the path it was started by (``.venv/bin/socialkit`` after ``make demo``,
    which puts nothing on ``PATH``), so the line the demo suggests runs when pasted."""
    import shutil
    import sys

    started = Path(sys.argv[0])
    if started.stem != "socialkit":  # python -m socialkit, or a test runner
        return "socialkit"
    found = shutil.which("socialkit")
    try:
        if found is not None and Path(found).samefile(started):
            return "socialkit"
    except OSError:
        pass
    return str(started)


def _report_text(
    sample: SampleCampaign, layout: DemoLayout, published: list[Published], *, scheduled: bool
) -> str:
    names = ", ".join(f"{c.name!r}" for c in sample.config.campaigns) or "the sample campaign"
    done = sum(p.ok for p in published)
    if scheduled:
        lines = [
            f"Scheduled {names} from {sample.root} into the posting slots; the engine "
            f"published {done} of {len(published)} in the first week on the local feed platform."
        ]
        waiting = [p for p in published if not p.ok and not p.error]
        lines += [f"  still scheduled: {p.post_file.name} for {p.local}" for p in waiting]
        lines += [f"  {p.post_file.name} -> {p.account}: {p.error}" for p in published if p.error]
        config = sample.config.path or sample.root / "socialkit.toml"
        lines.append(
            f"The store {layout.store_path} keeps every publication and its history; try\n"
            f"  {_socialkit_command()} -c {config} --store sqlite:///{layout.store_path} list"
        )
    else:
        lines = [f"Published {names} from {sample.root} to the local feed platform:"]
        width = max(len(p.post_file.name) for p in published) if published else 0
        for item in published:
            outcome = _parts(item.parts) if item.ok else f"FAILED: {item.error}"
            lines.append(f"  {item.post_file.name:<{width}}  {item.account}  {outcome}")
    lines.append(f"Everything is under {layout.root}")
    for site in _sites(sample, layout):
        lines.append(f"  showcase page ({site['account']}): {site['showcase']}")
        lines.append(f"  Atom feed ({site['account']}):     {site['atom']}")
    lines.append(f"Open {Path(_sites(sample, layout)[0]['showcase']).as_uri()} in a browser.")
    return "\n".join(lines)
