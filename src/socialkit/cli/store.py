"""``socialkit store migrate|status|prune|copy``: operating a store.

The store is ``--store URL`` or the project file's; ``copy`` names both of its stores.
Heavy imports (psycopg, the store modules) happen inside the commands.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialkit.cli._app import emit, fail, state

if TYPE_CHECKING:
    from socialkit.schedule.records import SchemaInfo
    from socialkit.schedule.stores.ops import StoreStatus

__all__ = [
    "existing_store",
    "missing_store",
    "parse_age",
    "refuse_a_directory",
    "register",
    "shown_url",
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> dt.timedelta:
    """``90d``, ``12h``, ``2w``, ``30m``, ``45s`` (or ``1d12h``) as a duration.

    Raises:
        ValueError: the text is not such a duration, with the accepted forms, or it is
            longer than 1000 years.
    """
    cleaned = text.strip().lower()
    pos = 0
    seconds = 0.0
    for match in _AGE.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned):
        raise ValueError(
            f"--older-than: must be a duration like 90d, 12h, 2w, 30m or 1d12h (got {text!r})"
        )
    if seconds <= 0:
        raise ValueError(f"--older-than: must be longer than nothing (got {text!r})")
    if seconds > _LONGEST.total_seconds():
        # Beyond it the cut-off date (now - AGE) would fall before the year 1: Python
        # cannot hold it, and the command died with an OverflowError.
        raise ValueError(
            f"--older-than: too long (got {text!r}; at most {_LONGEST.days}d, 1000 years)"
        )
    return dt.timedelta(seconds=seconds)


_LONGEST = dt.timedelta(days=365_000)


def register(app: typer.Typer) -> None:
    store = typer.Typer(
        name="store",
        help="Migrate, inspect, prune and copy the store (SQLite or PostgreSQL).",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    store.command("migrate")(migrate_command)
    store.command("status")(status_command)
    store.command("prune")(prune_command)
    store.command("copy")(copy_command)
    app.add_typer(store, name="store")


def shown_url(url: str) -> str:
    """``url`` as the commands print it: no password, but the PostgreSQL schema kept
    (two stores in one database differ only by it)."""
    from socialkit.schedule.stores import mask_url

    if url.partition("://")[0].lower() in ("postgresql", "postgres"):
        from socialkit.schedule.stores._postgres_url import parse_postgres_url

        return parse_postgres_url(url).display
    return mask_url(url)


def missing_store(url: str) -> str | None:
    """Why ``url`` names no store (a SQLite file that does not exist, a PostgreSQL schema
    without the store's tables), or None when the store is there."""
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        from socialkit.schedule.stores.sqlite import SqliteStore

        path = SqliteStore(url).path
        if str(path) != ":memory:" and not path.exists():
            return f"no SQLite store at {path} (got {shown_url(url)})"
    elif scheme in ("postgresql", "postgres"):
        from socialkit._runtime import run_sync

        if run_sync(_postgres_version(url)) == 0:
            from socialkit.schedule.stores._postgres_url import parse_postgres_url

            schema = parse_postgres_url(url).schema
            return (
                f"no store in schema {schema!r} at {shown_url(url)} "
                "(create one with `socialkit store migrate`)"
            )
    return None


def refuse_a_directory(url: str, what: str) -> str:
    """``url``, refused (exit 2) when it is a SQLite URL naming a directory: SQLite cannot
    open it, and said only "unable to open database file" as an unexpected error. Also
    refused: ``sqlite:///:memory:``, a database inside one process, gone when the command
    ends (what was scheduled on it vanished, and ``store status`` failed on its missing
    tables)."""
    if url.partition("://")[0].lower() == "sqlite":
        from socialkit.schedule.stores.sqlite import SqliteStore

        path = SqliteStore(url).path
        if str(path) == ":memory:":
            raise fail(
                f"{what}: {shown_url(url)} is a SQLite database inside one process, gone "
                "when the command ends; name a SQLite file (sqlite:///socialkit.db) or give "
                "a postgresql:// store",
                code=2,
            )
        if path.is_dir():
            raise fail(
                f"{what}: {path} is a directory, not a SQLite store file (got "
                f"{shown_url(url)}); name the file, e.g. sqlite:///{path / 'socialkit.db'}",
                code=2,
            )
    return url


def existing_store(url: str, what: str, *, hint: str | None = None) -> str:
    """``url``, refused (exit 2) when it names a store that is not there: opening it would
    create an empty store, and a typo would then look like a store with nothing in it.

    ``hint`` ends the error line (how such a store comes to be)."""
    refuse_a_directory(url, what)
    missing = missing_store(url)
    if missing is not None:
        raise fail(f"{what}: {missing}" + (f"; {hint}" if hint else ""), code=2)
    return url


async def _postgres_version(url: str) -> int:
    """The schema version of the PostgreSQL store at ``url`` (0: there is none)."""
    from socialkit.schedule.stores._postgres_schema import read_schema
    from socialkit.schedule.stores.postgres import PostgresStore

    conn = await PostgresStore(url).connection()
    try:
        version, _ = await read_schema(conn)
    finally:
        await conn.close()
    return version


def _schema_json(info: SchemaInfo) -> dict[str, int]:
    return {
        "version": info.version,
        "min_compatible": info.min_compatible,
        "code_version": info.code_version,
    }


# -- migrate ------------------------------------------------------------------------------


def migrate_command(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Migrate even when live workers run code the new schema is not compatible "
            "with (they stop claiming at their next beat).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Bring the store's schema up to this version of socialkit."""
    from socialkit._runtime import run_sync
    from socialkit.schedule.stores.ops import migrate_store

    url = refuse_a_directory(state().store_url(), "store")
    before, after = run_sync(migrate_store(url, force=force))
    if before.version == after.version:
        text = f"schema {after.version} is current (compatible from {after.min_compatible})"
    else:
        text = (
            f"migrated from schema {before.version} to {after.version} "
            f"(compatible from {after.min_compatible})"
        )
    emit({"before": _schema_json(before), "after": _schema_json(after)}, as_json=as_json, text=text)


# -- status -------------------------------------------------------------------------------


def _ago(now: dt.datetime, then: dt.datetime) -> str:
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"


def _status_text(status: StoreStatus) -> str:
    now = status.now
    info = status.schema
    lines = [
        f"store     {status.url}",
        f"schema    {info.version} (compatible from {info.min_compatible}; "
        f"this socialkit: {info.code_version})",
        f"now       {now.isoformat()}",
    ]
    due = f"due now   {status.due_now}"
    if status.oldest_due is not None:
        due += f" (oldest due {status.oldest_due.isoformat()}, {_ago(now, status.oldest_due)})"
    lines.append(due)
    nxt = status.next_due
    if nxt is None:
        lines.append("next due  nothing")
    else:
        # next_due covers metric collection and rules too, not only publications: say so
        # when it is past and no publication is due (it reads as a contradiction otherwise).
        what = (
            "; metric collection or rule work, no publication"
            if nxt <= now and not status.due_now
            else ""
        )
        lines.append(f"next due  {nxt.isoformat()} ({_ago(now, nxt)}{what})")
    states = "  ".join(f"{k} {v}" for k, v in status.counts.items() if v) or "no publications"
    lines.append(f"states    {states}")
    lines.append(f"person    {status.needs_person} waiting for a person")
    lines.append(f"workers   {len(status.workers)} live (from {status.workers_from})")
    for w in status.workers:
        seen = w.get("last_seen")
        where = f"  {w['host']} pid {w['pid']}" if "host" in w else ""
        when = f"  last seen {_ago(now, seen)}" if isinstance(seen, dt.datetime) else ""
        lines.append(f"  {w['id']}{where}{when}  in flight {w['in_flight']}")
    if not status.paused:
        lines.append("paused    nothing")
    for p in status.paused:
        what = "everything" if p.kind == "all" else f"{p.kind} {p.value}"
        why = f": {p.reason}" if p.reason else ""
        lines.append(f"paused    {what} in {p.workspace} (by {p.actor}){why}")
    return "\n".join(lines)


def status_command(as_json: JsonOption = False) -> None:
    """Counts by state, due work, live workers and pause switches."""
    from socialkit._runtime import run_sync
    from socialkit.schedule.stores.ops import store_status

    status = run_sync(store_status(existing_store(state().store_url(), "store")))
    emit(status.as_json(), as_json=as_json, text=_status_text(status))


# -- prune --------------------------------------------------------------------------------


def prune_command(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Remove publications that finished (published, failed, missed, cancelled, "
            "deleted) longer ago than this, e.g. 90d, 12h, 2w.",
        ),
    ],
    metrics: Annotated[
        bool,
        typer.Option("--metrics", help="Also remove metric snapshots collected before then."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete finished publications (with their receipts, events and metric tasks), old
    events and unused revisions; metric snapshots stay unless --metrics."""
    from socialkit._runtime import run_sync
    from socialkit.schedule.stores.ops import prune_store

    try:
        age = parse_age(older_than)
    except ValueError as exc:
        raise fail(str(exc), code=2) from None
    url = existing_store(state().store_url(), "store")
    removed = run_sync(prune_store(url, age, metrics=metrics, dry_run=dry_run))
    verb = "would remove" if dry_run else "removed"
    details = ", ".join(f"{n} {table}" for table, n in removed.items() if n) or "nothing"
    emit(
        {"dry_run": dry_run, "older_than_s": age.total_seconds(), "removed": removed},
        as_json=as_json,
        text=f"{verb} {details}",
    )


# -- copy ---------------------------------------------------------------------------------


def copy_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The store to copy from (URL).")],
    target: Annotated[
        str, typer.Argument(metavar="TARGET", help="An empty store to copy into (URL).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Copy a whole store into an empty one (from SQLite to PostgreSQL, say).

    Stop the workers first: the source is read from one snapshot, so anything written
    after the copy starts stays behind.
    """
    from socialkit._runtime import run_sync
    from socialkit.schedule.stores.ops import copy_store

    source = existing_store(source, "SOURCE")
    copied: dict[str, Any] = run_sync(copy_store(source, refuse_a_directory(target, "TARGET")))
    details = ", ".join(f"{n} {table}" for table, n in copied.items() if n) or "nothing"
    emit(
        {"source": shown_url(source), "target": shown_url(target), "copied": copied},
        as_json=as_json,
        text=f"copied {details}\nfrom {shown_url(source)}\nto   {shown_url(target)}",
    )
