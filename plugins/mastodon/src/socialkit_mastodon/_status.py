"""The body of ``POST /api/v1/statuses`` for one part of a draft.

Post options the adapter reads (``Post.options``, or ``PlatformOverride.options`` for
Mastodon alone):

``visibility``
    ``public``, ``unlisted``, ``private`` or ``direct``; the account setting
    ``visibility`` is the default, and the server's own default applies when neither is set.
``sensitive``
    ``true`` marks the status and its media as sensitive.
``poll``
    ``{"options": ["yes", "no"], "expires_in": 86400, "multiple": false,
    "hide_totals": false}`` — on the first part only, and never with media.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from socialkit import Rejected
from socialkit.text import grapheme_count

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from socialkit import Draft
    from socialkit_mastodon._capabilities import PollLimits

__all__ = ["VISIBILITIES", "Poll", "StatusOptions", "status_body"]

VISIBILITIES = ("public", "unlisted", "private", "direct")


def _reject(field: str, problem: str, *, limit: object = None, value: object = None) -> Rejected:
    details: dict[str, Any] = {"field": field, "problem": problem}
    shown: list[str] = []
    if limit is not None:
        details["limit"] = limit
        shown.append(f"limit {limit}")
    if value is not None:
        details["value"] = value
        shown.append(f"got {value!r}")
    suffix = f" ({', '.join(shown)})" if shown else ""
    return Rejected(f"mastodon: {field}: {problem}{suffix}", details=details)


@attrs.frozen(kw_only=True)
class Poll:
    """A poll attached to the first part."""

    options: tuple[str, ...]
    expires_in: int
    multiple: bool = False
    hide_totals: bool = False

    @classmethod
    def parse(cls, raw: object) -> Poll:
        """Read ``options.poll``; :class:`Rejected` naming the field when it is malformed."""
        if not isinstance(raw, dict):
            raise _reject("options.poll", "must be an object with options and expires_in")
        choices = raw.get("options")
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise _reject("options.poll.options", "must be a list of strings")
        expires_in = raw.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int):
            raise _reject(
                "options.poll.expires_in", "must be a whole number of seconds", value=expires_in
            )
        multiple = raw.get("multiple", False)
        hide_totals = raw.get("hide_totals", False)
        for name, flag in (("multiple", multiple), ("hide_totals", hide_totals)):
            if not isinstance(flag, bool):
                raise _reject(f"options.poll.{name}", "must be true or false", value=str(flag))
        return cls(
            options=tuple(choices),
            expires_in=expires_in,
            multiple=multiple,
            hide_totals=hide_totals,
        )

    def check(self, limits: PollLimits) -> None:
        """Raise :class:`Rejected` when the poll exceeds the server's limits."""
        if len(self.options) < 2:
            raise _reject(
                "options.poll.options", "a poll needs at least 2 options", value=len(self.options)
            )
        if len(self.options) > limits.max_options:
            raise _reject(
                "options.poll.options",
                "too many poll options",
                limit=limits.max_options,
                value=len(self.options),
            )
        for i, option in enumerate(self.options):
            # the server counts grapheme clusters (a flag is one), as it does for statuses
            length = grapheme_count(option)
            if length > limits.max_characters_per_option:
                raise _reject(
                    f"options.poll.options[{i}]",
                    "poll option is too long (characters)",
                    limit=limits.max_characters_per_option,
                    value=length,
                )
            if option in self.options[:i]:
                raise _reject(
                    f"options.poll.options[{i}]",
                    "a poll cannot have the same option twice (Mastodon's rule)",
                    value=option,
                )
        if self.expires_in < limits.min_expiration:
            raise _reject(
                "options.poll.expires_in",
                "poll closes too soon (seconds)",
                limit=limits.min_expiration,
                value=self.expires_in,
            )
        if self.expires_in > limits.max_expiration:
            raise _reject(
                "options.poll.expires_in",
                "poll stays open too long (seconds)",
                limit=limits.max_expiration,
                value=self.expires_in,
            )

    def as_json(self) -> dict[str, Any]:
        """The ``poll`` object of the request body."""
        return {
            "options": list(self.options),
            "expires_in": self.expires_in,
            "multiple": self.multiple,
            "hide_totals": self.hide_totals,
        }


@attrs.frozen(kw_only=True)
class StatusOptions:
    """The Mastodon options of one draft, checked."""

    visibility: str | None = None
    sensitive: bool | None = None
    poll: Poll | None = None

    @classmethod
    def from_draft(cls, draft: Draft, settings: Mapping[str, Any]) -> StatusOptions:
        """Read and check the draft's options (account settings give defaults)."""
        options = draft.options
        visibility = options.get("visibility", settings.get("visibility"))
        if visibility is not None and visibility not in VISIBILITIES:
            raise _reject(
                "options.visibility",
                f"must be one of {', '.join(VISIBILITIES)}",
                value=str(visibility),
            )
        sensitive = options.get("sensitive")
        if sensitive is not None and not isinstance(sensitive, bool):
            raise _reject("options.sensitive", "must be true or false", value=str(sensitive))
        poll = Poll.parse(options["poll"]) if options.get("poll") is not None else None
        if poll is not None and draft.parts[0].media:
            raise _reject(
                "options.poll", "a status cannot carry both a poll and media (Mastodon's rule)"
            )
        return cls(
            visibility=visibility if isinstance(visibility, str) else None,
            sensitive=sensitive,
            poll=poll,
        )


def language_code(tag: str | None) -> str | None:
    """The ISO 639 code Mastodon takes from a BCP 47 tag (``fa-IR`` → ``fa``)."""
    if not tag:
        return None
    return tag.split("-", 1)[0].lower()


def status_body(
    draft: Draft,
    index: int,
    options: StatusOptions,
    *,
    media_ids: Sequence[str] = (),
    in_reply_to_id: str | None = None,
) -> dict[str, Any]:
    """The JSON body that creates part ``index`` of ``draft``.

    Every part carries the visibility, language, content warning and sensitivity of the
    draft; the poll goes on the first part. The text is the part's as rendered:
    :func:`socialkit.render` has already put the shared link's URL in it (Mastodon builds
    its card from the URL), and measured it there.
    """
    body: dict[str, Any] = {}
    text = draft.parts[index].text
    if text:
        body["status"] = text
    if media_ids:
        body["media_ids"] = list(media_ids)
    if index == 0 and options.poll is not None:
        body["poll"] = options.poll.as_json()
    if in_reply_to_id is not None:
        body["in_reply_to_id"] = in_reply_to_id
    if options.visibility is not None:
        body["visibility"] = options.visibility
    language = language_code(draft.language)
    if language is not None:
        body["language"] = language
    if draft.content_warning:
        body["spoiler_text"] = draft.content_warning
    if options.sensitive is not None:
        body["sensitive"] = options.sensitive
    return body
