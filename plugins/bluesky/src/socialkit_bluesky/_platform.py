"""The Bluesky adapter: posts, threads, images, link cards and first comments on any PDS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialkit import (
    AccountIdentity,
    Platform,
    Receipt,
    Rejected,
    UnknownOutcome,
    Unsupported,
    validate,
)
from socialkit_bluesky._capabilities import CAPABILITIES
from socialkit_bluesky._client import RepoClient
from socialkit_bluesky._facets import build_facets
from socialkit_bluesky._metrics import fetch_post_metrics
from socialkit_bluesky._reconcile import (
    EarlierRecord,
    find_earlier_records,
    records_at_derived_keys,
)
from socialkit_bluesky._records import (
    AtUri,
    StrongRef,
    external_embed,
    images_embed,
    language_problems,
    languages,
    post_record,
)
from socialkit_bluesky._session import renew_session
from socialkit_bluesky._settings import BlueskySettings
from socialkit_bluesky._tid import derive_record_key
from socialkit_bluesky._xrpc import XrpcClient

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from socialkit import (
        Capabilities,
        Context,
        Credentials,
        Draft,
        DraftPart,
        MetricSnapshot,
        PostRef,
    )
    from socialkit_bluesky._tid import RecordKey

__all__ = ["Bluesky"]

MAX_THUMB_BYTES = 1_000_000
"""The most bytes of a link card thumbnail (``app.bsky.embed.external``)."""
COMMENT_SUFFIX = "#first-comment"


class Bluesky(Platform):
    """Publishes to Bluesky, or to any AT Protocol PDS, with an app password.

    Account settings: ``service`` (default ``https://bsky.social``), ``appview`` and
    ``web_url`` (see :class:`~socialkit_bluesky.BlueskySettings`). Credentials:
    ``app_password`` (and optionally ``identifier``); the adapter stores the session it
    makes (``access_jwt``, ``refresh_jwt``, ``did``, ``handle``) through the provider.

    Exactly once: each part's record key (a TID) and ``createdAt`` are derived from its
    idempotency key and the publication's first attempt, and records are written with
    ``createRecord``, which never overwrites; an attempt that finds its record already
    there returns it instead of writing a second one.
    """

    name = "bluesky"
    title = "Bluesky"
    contract = 1
    capabilities = CAPABILITIES

    async def resolve_capabilities(self, ctx: Context) -> Capabilities:
        """The class capabilities; without an AppView the account reports no metrics."""
        if BlueskySettings.of(ctx.account).appview is None:
            return self.capabilities.model_copy(update={"metrics": frozenset()})
        return self.capabilities

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, draft: Draft, ctx: Context) -> Receipt:
        """Publish every part of ``draft`` (a thread of replies), then the first comment.

        Parts in ``ctx.published_parts`` are kept; each new part is checkpointed as soon
        as the server accepts it. A retry (``ctx.attempt > 1``) first looks for records an
        earlier attempt wrote and keeps them. Nothing is sent when the draft breaks a limit.
        """
        self._preflight(draft, ctx)
        settings = BlueskySettings.of(ctx.account)
        repo = RepoClient(ctx, settings)
        anchor = self._anchor(ctx)
        refs = [await self._strong_ref(repo, ref) for ref in ctx.published_parts]
        keys = {index: ctx.idempotency_key(index) for index in range(len(draft.parts))}
        comment_key = keys[0] + COMMENT_SUFFIX
        earlier: dict[str, EarlierRecord] = {}
        if ctx.attempt > 1:
            wanted = {keys[i]: draft.parts[i].text for i in range(len(refs), len(draft.parts))}
            if draft.first_comment:
                wanted[comment_key] = draft.first_comment
            earlier = await find_earlier_records(repo, ctx, wanted)
        for index in range(len(refs), len(draft.parts)):
            found = earlier.get(keys[index])
            if found is not None:
                ref = found.ref
            else:
                key = derive_record_key(keys[index], anchor, offset_ms=index)
                reply = (refs[0], refs[-1]) if refs else None
                record = await self._record(repo, draft, draft.parts[index], index, key, reply)
                ref = await repo.create_post(key, record)
            refs.append(ref)
            await ctx.checkpoint(index, self._post_ref(settings, ref))
        comment = None
        if draft.first_comment:
            found = earlier.get(comment_key)
            if found is not None:
                comment = found.ref
            else:
                key = derive_record_key(comment_key, anchor, offset_ms=len(draft.parts))
                record = post_record(
                    draft.first_comment,
                    key.created_at,
                    facets=await build_facets(draft.first_comment, repo.resolve_handle),
                    langs=languages(draft),
                    reply=(refs[0], refs[0]),
                )
                comment = await repo.create_post(key, record)
        return self._receipt(settings, ctx, refs, comment, ctx.now())

    @staticmethod
    def _anchor(ctx: Context) -> datetime:
        # The first attempt's instant fixes every record key of the publication.
        return ctx.first_attempt_at or ctx.now()

    def _preflight(self, draft: Draft, ctx: Context) -> None:
        """Refuse a draft that breaks a limit, before anything is sent."""
        problems = [
            problem
            for problem in validate(draft, ctx.capabilities or self.capabilities)
            if problem.severity == "error"
        ]
        lines = [problem.describe() for problem in problems]
        # A malformed 'langs' option is refused here, not by the PDS after uploads or part 1.
        lines.extend(language_problems(draft))
        thumbnail = draft.link.thumbnail if draft.link is not None else None
        if thumbnail is not None and _has_card(draft) and thumbnail.size > MAX_THUMB_BYTES:
            lines.append(
                "link.thumbnail.size: file is too large (bytes) "
                f"(limit {MAX_THUMB_BYTES}, value {thumbnail.size})"
            )
        if lines:
            raise Rejected(
                "draft does not fit Bluesky; nothing was sent: " + "; ".join(lines),
                details={"problems": [problem.describe() for problem in problems]},
            )

    async def _strong_ref(self, repo: RepoClient, ref: PostRef) -> StrongRef:
        known = StrongRef.from_post_ref(ref)
        if known is not None:
            return known
        uri = AtUri.parse(ref.id)
        found = await repo.get_record(uri.rkey, repo=uri.repo, collection=uri.collection)
        if found is None:
            raise UnknownOutcome(f"checkpointed part {ref.id} is no longer on Bluesky")
        return StrongRef(uri=str(found["uri"]), cid=str(found["cid"]))

    async def _record(
        self,
        repo: RepoClient,
        draft: Draft,
        part: DraftPart,
        index: int,
        key: RecordKey,
        reply: tuple[StrongRef, StrongRef] | None,
    ) -> dict[str, Any]:
        embed: dict[str, Any] | None = None
        if part.media:
            blobs = [(await repo.upload_blob(media), media) for media in part.media]
            embed = images_embed(blobs)
        elif index == 0 and draft.link is not None and _has_card(draft):
            link = draft.link
            thumb = await repo.upload_blob(link.thumbnail) if link.thumbnail else None
            embed = external_embed(link, thumb)
        return post_record(
            part.text,
            key.created_at,
            facets=await build_facets(part.text, repo.resolve_handle),
            langs=languages(draft),
            reply=reply,
            embed=embed,
        )

    @staticmethod
    def _post_ref(settings: BlueskySettings, ref: StrongRef) -> PostRef:
        uri = ref.at_uri
        return ref.post_ref(settings.post_url(uri.repo, uri.rkey))

    def _receipt(
        self,
        settings: BlueskySettings,
        ctx: Context,
        refs: Sequence[StrongRef],
        comment: StrongRef | None,
        published_at: datetime,
    ) -> Receipt:
        return Receipt(
            platform=self.name,
            account_id=ctx.account.id,
            parts=tuple(self._post_ref(settings, ref) for ref in refs),
            first_comment=self._post_ref(settings, comment) if comment is not None else None,
            published_at=published_at,
        )

    # -- reconciliation, deletion, metrics, accounts ----------------------------------------

    async def find_published(self, draft: Draft, ctx: Context) -> Receipt | None:
        """The records this publication's attempts wrote, at their derived keys.

        With ``ctx.first_attempt_at`` each part's key is derived again and read with
        ``getRecord``; when a key holds nothing, the posts written since the first attempt
        are listed and matched by the keys' signatures (records written under another
        anchor).

        ``None`` when its first part is not there. When only the first parts of a thread
        are there, a receipt of those parts: the later ones certainly are not (each part
        is written only after the one before it exists), and the engine sends them after
        the found ones. When every part is there but the first comment is not, the parts
        are checkpointed and ``None`` is returned, so that publishing again resumes after
        them and writes only the comment (a receipt of every part would settle the
        publication without it). Records another publication claims are never returned.
        """
        settings = BlueskySettings.of(ctx.account)
        repo = RepoClient(ctx, settings)
        keys = [ctx.idempotency_key(index) for index in range(len(draft.parts))]
        placed = {
            key: (part.text, index)
            for index, (key, part) in enumerate(zip(keys, draft.parts, strict=True))
        }
        comment_key = keys[0] + COMMENT_SUFFIX
        if draft.first_comment:
            placed[comment_key] = (draft.first_comment, len(draft.parts))
        # The keys the first attempt derived, read directly; a listing of the repository
        # only when they are not all there (a record written under another anchor).
        found = await records_at_derived_keys(repo, ctx, placed)
        if len(found) < len(placed):
            wanted = {key: text for key, (text, _) in placed.items()}
            found = await find_earlier_records(repo, ctx, wanted)
        refs: list[StrongRef] = []
        for key in keys:
            if key not in found:
                break
            refs.append(found[key].ref)
        if not refs:
            return None
        published_at = found[keys[0]].created_at or ctx.now()
        if len(refs) < len(keys):
            return self._receipt(settings, ctx, refs, None, published_at)
        comment = found.get(comment_key)
        if draft.first_comment and comment is None:
            for index, ref in enumerate(refs):
                if index >= len(ctx.published_parts):
                    await ctx.checkpoint(index, self._post_ref(settings, ref))
            return None
        return self._receipt(settings, ctx, refs, comment.ref if comment else None, published_at)

    async def delete(self, receipt: Receipt, ctx: Context) -> None:
        """Delete the first comment and every part, last first (``deleteRecord``)."""
        repo = RepoClient(ctx, BlueskySettings.of(ctx.account))
        refs = list(receipt.parts)
        if receipt.first_comment is not None:
            refs.append(receipt.first_comment)
        for ref in reversed(refs):
            try:
                uri = AtUri.parse(ref.id)
            except ValueError:
                raise Rejected(f"not a Bluesky record reference: {ref.id!r}") from None
            await repo.delete_record(uri.rkey, repo=uri.repo, collection=uri.collection)

    async def fetch_metrics(
        self, receipts: Sequence[Receipt], ctx: Context
    ) -> list[MetricSnapshot]:
        """Like, repost, reply and quote counts from the AppView (``app.bsky.feed.getPosts``).

        Raises:
            Unsupported: no AppView is configured: a bare PDS keeps no counts, and
                reporting zeros would be wrong.
        """
        settings = BlueskySettings.of(ctx.account)
        if settings.appview is None:
            raise Unsupported(
                f"metrics are unavailable for Bluesky account {ctx.account.id!r}: its service "
                f"{settings.service} is a bare PDS with no AppView; set the account setting "
                "'appview' (for example https://public.api.bsky.app) to collect them"
            )
        return await fetch_post_metrics(
            XrpcClient(ctx, settings.service), settings.appview, receipts, ctx
        )

    async def refresh_credentials(self, ctx: Context) -> Credentials:
        """A new session after :class:`~socialkit.AuthExpired` (the engine holds the lock).

        ``refreshSession`` with the stored refresh token; when that token is dead,
        ``createSession`` with the app password.

        Raises:
            NeedsReauth: the app password is missing, wrong or revoked.
        """
        xrpc = XrpcClient(ctx, BlueskySettings.of(ctx.account).service)
        session = await renew_session(xrpc, ctx.account, ctx.credentials)
        return session.store_in(ctx.credentials)

    async def verify_account(self, ctx: Context) -> AccountIdentity:
        """Log in (or reuse the session) and say who the account is: its DID and handle.

        The DID is the account's stable id; the handle can change.
        """
        repo = RepoClient(ctx, BlueskySettings.of(ctx.account))
        session = await repo.session()
        who = await repo.xrpc.query("com.atproto.server.getSession", token=session.access_jwt)
        did = str(who.get("did") or session.did)
        handle = str(who.get("handle") or session.handle)
        display_name = None
        profile = await repo.get_record("self", repo=did, collection="app.bsky.actor.profile")
        if profile is not None:
            name = (profile.get("value") or {}).get("displayName")
            display_name = str(name) if name else None
        return AccountIdentity(platform_account_id=did, handle=handle, display_name=display_name)


def _has_card(draft: Draft) -> bool:
    link = draft.link
    return link is not None and bool(link.title or link.description or link.thumbnail)
