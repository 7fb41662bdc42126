"""One adapter call's view of the account's repository: session, blobs, handles and records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialkit import PlatformError, Rejected, UnknownOutcome
from socialkit_bluesky._records import POST_COLLECTION, StrongRef
from socialkit_bluesky._session import ensure_session
from socialkit_bluesky._tid import tid_at
from socialkit_bluesky._xrpc import XrpcClient

if TYPE_CHECKING:
    from datetime import datetime

    from socialkit import Context, Media
    from socialkit_bluesky._session import Session
    from socialkit_bluesky._settings import BlueskySettings
    from socialkit_bluesky._tid import RecordKey

__all__ = ["MAX_BLOB_BYTES", "MAX_SCAN_PAGES", "SCAN_PAGE", "RepoClient"]

MAX_BLOB_BYTES = 2_000_000
"""The most bytes of an image blob (``app.bsky.embed.images``)."""

SCAN_PAGE = 100
"""Records per ``listRecords`` page (the method's maximum)."""
MAX_SCAN_PAGES = 20
"""The most pages read when looking for an earlier attempt's records."""

# Answers that may mean "this record key is taken" rather than "your record is wrong".
# @atproto/pds 0.5.35 answers 500 InternalServerError (an UnknownOutcome here).
_CONFLICT_CODES = frozenset({"InvalidSwap", "RecordAlreadyExists", "Conflict"})


class RepoClient:
    """The account's repository as one adapter call sees it.

    The session is loaded (or made) once per call; resolved handles are cached for the
    call. Nothing here outlives the call: the adapter instance keeps no account state.
    """

    def __init__(self, ctx: Context, settings: BlueskySettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.xrpc = XrpcClient(ctx, settings.service)
        self._session: Session | None = None
        self._handles: dict[str, str | None] = {}

    async def session(self) -> Session:
        """The account's session (stored, refreshed or created; see :func:`ensure_session`)."""
        if self._session is None:
            self._session = await ensure_session(self.ctx, self.xrpc)
        return self._session

    async def resolve_handle(self, handle: str) -> str | None:
        """The DID of ``handle``, or ``None`` when no account has it."""
        key = handle.lower()
        if key not in self._handles:
            try:
                data = await self.xrpc.query("com.atproto.identity.resolveHandle", {"handle": key})
                did = data.get("did")
                self._handles[key] = str(did) if did else None
            except Rejected as exc:
                if exc.status_code != 400:
                    raise
                self._handles[key] = None
        return self._handles[key]

    async def upload_blob(self, media: Media) -> dict[str, Any]:
        """Upload ``media`` from the media store; the blob ref to put in a record.

        Uploading the same bytes again gives the same blob ref, so a retry is harmless.
        """
        if media.size > MAX_BLOB_BYTES:
            raise Rejected(
                f"media {media.filename or media.sha256[:12]}: size {media.size} bytes "
                f"exceeds Bluesky's image limit of {MAX_BLOB_BYTES} bytes"
            )
        data = await self.ctx.read_media(media)
        session = await self.session()
        answer = await self.xrpc.procedure(
            "com.atproto.repo.uploadBlob",
            content=data,
            content_type=media.mime_type,
            token=session.access_jwt,
            write=False,
        )
        blob = answer.get("blob")
        if not isinstance(blob, dict):
            raise Rejected("Bluesky uploadBlob answer lacks 'blob'")
        return blob

    async def get_record(
        self, rkey: str, *, repo: str | None = None, collection: str = POST_COLLECTION
    ) -> dict[str, Any] | None:
        """``{"uri", "cid", "value"}`` of a record, or ``None`` when it does not exist."""
        if repo is None:
            repo = (await self.session()).did
        try:
            return await self.xrpc.query(
                "com.atproto.repo.getRecord",
                {"repo": repo, "collection": collection, "rkey": rkey},
            )
        except Rejected as exc:
            if exc.platform_code == "RecordNotFound" or exc.status_code == 404:
                return None
            raise

    async def create_post(self, key: RecordKey, record: dict[str, Any]) -> StrongRef:
        """Write ``record`` at ``key.rkey`` exactly once.

        ``createRecord`` never overwrites: when the key is taken the server refuses (a
        500 from ``@atproto/pds`` 0.5.35), and then the record at the key is read back.
        A record with this part's ``createdAt`` and text is this part, written by an
        earlier attempt; it is returned instead of writing a second one.

        Raises:
            UnknownOutcome: the answer was lost (the engine retries with the same key),
                a 5xx came and the key holds nothing yet, or the key holds another post.
        """
        session = await self.session()
        try:
            data = await self.xrpc.procedure(
                "com.atproto.repo.createRecord",
                {
                    "repo": session.did,
                    "collection": POST_COLLECTION,
                    "rkey": key.rkey,
                    "record": record,
                },
                token=session.access_jwt,
            )
        except (UnknownOutcome, Rejected) as exc:
            if exc.status_code is None:
                raise  # the answer was lost: the engine retries with the same key
            if isinstance(exc, Rejected) and exc.platform_code not in _CONFLICT_CODES:
                raise
            return await self._settle(key, record, exc)
        return _created_ref(data)

    async def _settle(
        self, key: RecordKey, record: dict[str, Any], cause: PlatformError
    ) -> StrongRef:
        try:
            existing = await self.get_record(key.rkey)
        except PlatformError:
            raise cause from None
        if existing is None:
            raise cause
        value = existing.get("value") or {}
        if value.get("createdAt") == record["createdAt"] and value.get("text") == record["text"]:
            self.ctx.logger.info(
                "bluesky: record %s already written by an earlier attempt; not writing again",
                existing.get("uri"),
            )
            return StrongRef(uri=str(existing["uri"]), cid=str(existing["cid"]))
        raise UnknownOutcome(
            f"Bluesky record key {key.rkey} already holds another post "
            f"(createdAt {value.get('createdAt')!r}); a person must decide",
            details={"uri": str(existing.get("uri"))},
        )

    async def posts_between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The account's post records whose keys (TIDs) fall between two instants, oldest first.

        Raises:
            UnknownOutcome: more than :data:`MAX_SCAN_PAGES` pages of records in the span
                (an outcome this adapter will not guess at).
        """
        session = await self.session()
        cursor = tid_at(since)
        last = tid_at(until, 1023)
        found: list[dict[str, Any]] = []
        for _ in range(MAX_SCAN_PAGES):
            page = await self.xrpc.query(
                "com.atproto.repo.listRecords",
                {
                    "repo": session.did,
                    "collection": POST_COLLECTION,
                    "limit": str(SCAN_PAGE),
                    "reverse": "true",
                    "cursor": cursor,
                },
            )
            records = page.get("records") or []
            for record in records:
                rkey = str(record.get("uri", "")).rsplit("/", 1)[-1]
                if rkey > last:
                    return found
                found.append(record)
            if len(records) < SCAN_PAGE:
                return found
            cursor = str(records[-1]["uri"]).rsplit("/", 1)[-1]
        raise UnknownOutcome(
            f"more than {MAX_SCAN_PAGES * SCAN_PAGE} posts between {since.isoformat()} and "
            f"{until.isoformat()}; cannot look for an earlier attempt's records"
        )

    async def delete_record(
        self, rkey: str, *, repo: str | None = None, collection: str = POST_COLLECTION
    ) -> None:
        """Delete a record; deleting one that is already gone is not an error."""
        session = await self.session()
        await self.xrpc.procedure(
            "com.atproto.repo.deleteRecord",
            {"repo": repo or session.did, "collection": collection, "rkey": rkey},
            token=session.access_jwt,
            write=False,
        )


def _created_ref(data: Any) -> StrongRef:
    """The record a ``createRecord`` answer names. A success answer without its ``uri``
    and ``cid`` leaves the write unknown (it probably happened): retrying with the same
    record key settles it."""
    if isinstance(data, dict):
        uri, cid = data.get("uri"), data.get("cid")
        if isinstance(uri, str) and uri and isinstance(cid, str) and cid:
            return StrongRef(uri=uri, cid=cid)
    raise UnknownOutcome(
        "Bluesky com.atproto.repo.createRecord answered success without the record's "
        "uri and cid; the write may have happened"
    )
