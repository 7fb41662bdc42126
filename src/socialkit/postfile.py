"""Post files: a :class:`~socialkit.Post` written as YAML or JSON, with media named by path.

A post file holds the fields of :class:`~socialkit.Post`. Media are named by path,
relative to the post file, and are added to the media store when the file is read::

    # launch.yaml
    text: "Our spring blend is here. Roasted this week, in the shop on Saturday."
    media:
      - path: ../media/banner.png
        alt_text: "A warm orange banner with a pale stripe"
      - beans.png                     # shorthand: a path, no alt text
    link:
      url: https://example.com/spring
      title: Spring blend
      thumbnail: {path: ../media/cup.png, alt_text: "A cup from above"}
    thread:
      - text: "Tasting notes: cherry, cocoa, a long finish."
        media: [{path: ../media/cup.png, alt_text: "A cup from above"}]
    overrides:
      mastodon: {text: "Spring blend is here! #coffee"}
    campaign: spring-launch
    language: en
    tags: [launch]

A media entry is one of: a path string; ``{path, alt_text}``; ``{url, alt_text}``
(downloaded into the store); or a stored media description (``{sha256, mime_type, size,
...}``, as ``Post.model_dump()`` writes it), which must already be in the store. So the
JSON of a post (``post.model_dump_json()``) is a valid post file too.

Reading never stops at the first problem: :func:`read_post_file` returns every problem
(field, message, the value) and the post when none of them is an error. YAML is read with
YAML 1.2 booleans (``no`` stays the string ``"no"``, so ``language: no`` means Norwegian),
dates stay strings, and a key given twice is a problem rather than a silent overwrite.
A `` #`` after an unquoted text (``text: Spring is here #coffee``) starts a YAML comment,
so the hashtag is not part of the text: that is a warning naming the field and the line.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from pydantic import ValidationError

from socialkit._fieldpaths import field_path, fields_at, suggest
from socialkit.errors import InvalidPost
from socialkit.models.content import Post
from socialkit.models.media import Media
from socialkit.models.problems import Problem, has_errors

if TYPE_CHECKING:
    from socialkit.models.media_store import MediaStore

__all__ = ["PostFile", "load_post_file", "read_post_file"]

log = logging.getLogger("socialkit.postfile")

FILE_FIELD = "(file)"
"""The ``field`` of problems with the file itself (missing, not YAML, not a mapping)."""

# Where media entries may appear in a post file, as loc patterns ("*" = any key or index).
_MEDIA_LISTS: tuple[tuple[str, ...], ...] = (
    ("media",),
    ("thread", "*", "media"),
    ("overrides", "*", "media"),
    ("overrides", "*", "thread", "*", "media"),
)
_MEDIA_SINGLES: tuple[tuple[str, ...], ...] = (
    ("link", "thumbnail"),
    ("overrides", "*", "link", "thumbnail"),
)
_PATH_KEYS = frozenset({"path", "alt_text"})
_URL_KEYS = frozenset({"url", "alt_text"})
# Stands in for a media file that could not be read, so the rest of the post is still
# checked; a post with a placeholder is never returned.
_PLACEHOLDER = {"sha256": "0" * 64, "mime_type": "application/octet-stream", "size": 0}


@attrs.frozen(kw_only=True)
class PostFile:
    """A post file as read: the post, or every problem that prevented it.

    Attributes:
        path: the file.
        post: the post, when the file had no errors.
        problems: what is wrong with the file, each naming the field: errors (the post is
            ``None``) and warnings, such as a hashtag YAML read as a comment (the post is
            read all the same).
        partial: when the file has errors, the post without the fields that have them
            (and without media that could not be read), so each platform's limits can
            still be checked and every problem listed at once; ``None`` when even that
            cannot be built. Never to be published.
    """

    path: Path
    post: Post | None
    problems: tuple[Problem, ...] = ()
    partial: Post | None = None

    @property
    def ok(self) -> bool:
        """True when the file gave a post."""
        return self.post is not None


def load_post_file(path: str | Path, *, media: MediaStore | None = None) -> Post:
    """The post in ``path``; its media are added to ``media`` (the default store if omitted).

    Warnings (a hashtag YAML read as a comment) do not stop it; each is logged on the
    ``socialkit.postfile`` logger.

    Raises:
        InvalidPost: the file is missing, unreadable or not a valid post; ``problems``
            lists everything found.
    """
    found = read_post_file(path, media=media)
    if found.post is None:
        raise InvalidPost(found.problems, subject=str(found.path))
    for problem in found.problems:
        log.warning("%s: %s", found.path, problem.describe())
    return found.post


def read_post_file(path: str | Path, *, media: MediaStore | None = None) -> PostFile:
    """Read a post file; every problem is returned, nothing is raised for bad content.

    Args:
        path: a ``.yaml``/``.yml`` or ``.json`` file (other names are read as YAML, of
            which JSON is a subset).
        media: the store media files are added to; the default store when omitted.
    """
    source = Path(path)
    problems: list[Problem] = []
    data = _read_mapping(source, problems)
    if data is None:
        return PostFile(path=source, post=None, problems=tuple(problems))
    if media is None:
        from socialkit.models.media_store import default_media_store

        media = default_media_store()
    resolver = _MediaResolver(source.parent, media, problems)
    data = resolver.resolve(data)
    try:
        post = Post.model_validate(data)
    except ValidationError as exc:
        problems.extend(_structure_problems(exc))
        post = None
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
        data = {key: value for key, value in data.items() if key not in bad}
    if has_errors(problems):
        partial = _partial_post(data)
        return PostFile(path=source, post=None, problems=tuple(problems), partial=partial)
    return PostFile(path=source, post=post, problems=tuple(problems))


def _partial_post(data: dict[str, Any]) -> Post | None:
    """The post from ``data`` without the media that could not be read, or ``None``."""
    try:
        return Post.model_validate(_without_placeholders(data))
    except ValidationError:
        return None


def _without_placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_placeholders(v) for k, v in value.items() if v != _PLACEHOLDER}
    if isinstance(value, list):
        return [_without_placeholders(v) for v in value if v != _PLACEHOLDER]
    return value


def _file_problem(code: str, message: str, value: str | None = None) -> Problem:
    return Problem(field=FILE_FIELD, code=code, message=message, value=value)


def _read_mapping(source: Path, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        text = source.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is no text
    except FileNotFoundError:
        problems.append(_file_problem("file.not_found", "no such file", str(source)))
        return None
    except IsADirectoryError:
        problems.append(_file_problem("file.is_directory", "a directory, not a file", str(source)))
        return None
    except UnicodeDecodeError as exc:
        problems.append(
            _file_problem("file.encoding", f"not UTF-8 text (byte {exc.start})", str(source))
        )
        return None
    except OSError as exc:
        problems.append(_file_problem("file.unreadable", exc.strerror or str(exc), str(source)))
        return None
    duplicates: list[str] = []
    try:
        if source.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=lambda pairs: _pairs(pairs, duplicates))
        else:
            data, comments = _load_yaml(text, duplicates)
            problems.extend(comments)
    except json.JSONDecodeError as exc:
        problems.append(
            _file_problem(
                "file.syntax", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            )
        )
        return None
    except Exception as exc:  # yaml.YAMLError; imported lazily
        if type(exc).__module__.split(".")[0] != "yaml":
            raise
        problems.append(_file_problem("file.syntax", f"not valid YAML: {_yaml_error(exc)}"))
        return None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        problems.append(
            _file_problem(
                "file.not_a_mapping", f"a post file holds a mapping of post fields, this is {kind}"
            )
        )
        return None
    # A key given twice is an error, never a silent overwrite; the rest of the file is
    # still checked (with the last value), so every other problem is listed too.
    problems.extend(_file_problem("file.duplicate_key", message) for message in duplicates)
    return data


def _pairs(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            duplicates.append(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def _yaml_error(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


_yaml_loader: type | None = None


def _load_yaml(text: str, duplicates: list[str]) -> tuple[Any, list[Problem]]:
    global _yaml_loader
    import yaml

    if _yaml_loader is None:

        class PostFileLoader(yaml.SafeLoader):
            """SafeLoader with YAML 1.2 booleans, dates as strings and no duplicate keys
            (a key written twice; a key that overrides one a merge key ``<<`` brings is
            no duplicate), each duplicate noted in ``duplicates``."""

            duplicates: list[str]

            def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
                seen: set[Any] = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # "<<: *part": its keys may be overridden here
                    key = self.construct_object(key_node, deep=deep)
                    if key in seen:
                        line = key_node.start_mark.line + 1
                        self.duplicates.append(f"key {key!r} appears twice (line {line})")
                    seen.add(key)
                return super().construct_mapping(node, deep=deep)

        dropped = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}
        PostFileLoader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag not in dropped]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        PostFileLoader.add_implicit_resolver(
            "tag:yaml.org,2002:bool",
            re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
            list("tTfF"),
        )
        _yaml_loader = PostFileLoader
    loader = _yaml_loader(text)
    loader.duplicates = duplicates
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, _comments_after_text(node, text)


# Fields whose value is posted as text: a hashtag there must not vanish into a comment.
_TEXT_KEYS = frozenset(
    {"text", "first_comment", "content_warning", "alt_text", "title", "description"}
)


def _comments_after_text(root: Any, source: str) -> list[Problem]:
    """A warning for each unquoted text that a comment follows: `` #`` on its last line,
    or comment lines after it that look like the text's hashtags.

    YAML ends a plain (unquoted) scalar at `` #``, so ``text: Spring is here #coffee``
    reads as ``Spring is here``; and a line ``#coffee #spring`` after a text written over
    several lines is a comment too. Comment lines up to the next field count when they
    are indented under the text's key or start like a hashtag (``#coffee``, not
    ``# a note``). Quoted and block scalars keep the ``#``.
    """
    import yaml

    found: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(root, (), -1)]
    while stack:
        node, loc, column = stack.pop()
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in seen:  # an alias of a node already walked
                continue
            seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                if isinstance(key, yaml.ScalarNode):
                    stack.append((value, (*loc, key.value), key.start_mark.column))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(
                (item, (*loc, i), column) for i, item in reversed(list(enumerate(node.value)))
            )
        elif (
            isinstance(node, yaml.ScalarNode)
            and node.style is None
            and loc
            and loc[-1] in _TEXT_KEYS
        ):
            comment = _comment_after(source, node.end_mark, column)
            if comment is not None:
                line, text = comment
                shown = text if len(text) <= 40 else text[:39] + "…"
                found.append(
                    Problem(
                        field=field_path(loc),
                        code="yaml.comment",
                        message=(
                            f"line {line}: YAML reads {shown!r} as a comment, not as "
                            'part of the text; to keep it, quote the text ("…") or write it '
                            "as a block scalar (|)"
                        ),
                        severity="warning",
                    )
                )
    return found


_YAML_LINES = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_HASHTAG_LIKE = re.compile(r"#\w", re.UNICODE)


def _comment_after(source: str, end: Any, key_column: int) -> tuple[int, str] | None:
    """``(line, comment)`` of the first comment that follows a plain scalar ending at
    ``end`` and may hold its hashtags, or ``None``."""
    lines = iter(_YAML_LINES.split(source[end.index :]))
    rest = next(lines)
    comment = rest.lstrip(" \t")
    if rest[:1] in (" ", "\t") and comment.startswith("#"):
        return end.line + 1, comment
    if comment:
        return None  # the next token is on this line ("}", "]", ",")
    number = end.line + 1
    for line in lines:  # the lines up to the next token
        number += 1
        comment = line.lstrip(" \t")
        if not comment:
            continue
        if not comment.startswith("#"):
            return None
        if len(line) - len(comment) > key_column or _HASHTAG_LIKE.match(comment):
            return number, comment
    return None


class _MediaResolver:
    """Replaces media entries (paths, URLs, stored descriptions) with :class:`Media` data."""

    def __init__(self, base: Path, store: MediaStore, problems: list[Problem]) -> None:
        self.base = base
        self.store = store
        self.problems = problems

    def resolve(self, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = _copy(data)
        for pattern in _MEDIA_LISTS:
            for loc, container, key in _matches(out, pattern):
                items = container[key]
                if isinstance(items, list):
                    container[key] = [self._entry(item, (*loc, i)) for i, item in enumerate(items)]
        for pattern in _MEDIA_SINGLES:
            for loc, container, key in _matches(out, pattern):
                if container[key] is not None:
                    container[key] = self._entry(container[key], loc)
        return out

    def _problem(
        self, loc: tuple[str | int, ...], code: str, message: str, value: Any = None
    ) -> None:
        self.problems.append(
            Problem(field=field_path(loc), code=code, message=message, value=_scalar(value))
        )

    def _entry(self, item: Any, loc: tuple[str | int, ...]) -> Any:
        if isinstance(item, str):
            item = {"path": item}
        if not isinstance(item, dict):
            self._problem(
                loc,
                "media.entry",
                "a media entry is a path or a mapping with path (or url) and alt_text",
                item,
            )
            return _PLACEHOLDER
        if "sha256" in item:
            return self._stored(item, loc)
        if "path" in item:
            return self._from_path(item, loc)
        if "url" in item:
            return self._from_url(item, loc)
        self._problem(
            loc, "media.entry", "a media entry needs 'path' (or 'url'); keys: " + _keys(item)
        )
        return _PLACEHOLDER

    def _check_keys(self, item: dict[str, Any], allowed: frozenset[str], loc: Any) -> bool:
        ok = True
        for key in item:
            if key not in allowed:
                hint = suggest(str(key), allowed) or f" (keys: {', '.join(sorted(allowed))})"
                self._problem((*loc, str(key)), "media.unknown_key", f"unknown key{hint}")
                ok = False
        alt = item.get("alt_text")
        if alt is not None and not isinstance(alt, str):
            self._problem((*loc, "alt_text"), "media.alt_text", "alt_text must be text", alt)
            ok = False
        return ok

    def _from_path(self, item: dict[str, Any], loc: tuple[str | int, ...]) -> Any:
        ok = self._check_keys(item, _PATH_KEYS, loc)
        raw = item["path"]
        where = (*loc, "path")
        if not isinstance(raw, str) or not raw.strip():
            self._problem(where, "media.path", "path must be a file name", raw)
            return _PLACEHOLDER
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.base / path
        if not path.exists():
            self._problem(where, "media.not_found", f"no such file: {path}", raw)
            return _PLACEHOLDER
        if not path.is_file():
            self._problem(where, "media.not_a_file", f"not a regular file: {path}", raw)
            return _PLACEHOLDER
        if not os.access(path, os.R_OK):
            self._problem(where, "media.unreadable", f"not readable: {path}", raw)
            return _PLACEHOLDER
        try:
            media = self.store.put_path(path, alt_text=item.get("alt_text"))
        except OSError as exc:
            self._problem(
                where, "media.unreadable", f"cannot read {path}: {exc.strerror or exc}", raw
            )
            return _PLACEHOLDER
        except ValueError as exc:  # refused by the store (too large)
            self._problem(where, "media.refused", str(exc), raw)
            return _PLACEHOLDER
        return media.model_dump() if ok else _PLACEHOLDER

    def _from_url(self, item: dict[str, Any], loc: tuple[str | int, ...]) -> Any:
        ok = self._check_keys(item, _URL_KEYS, loc)
        url = item["url"]
        where = (*loc, "url")
        if not isinstance(url, str) or not re.match(r"^https?://", url, re.IGNORECASE):
            self._problem(where, "media.url", "url must be an http(s) address", url)
            return _PLACEHOLDER
        try:
            media = self.store.put_url(url, alt_text=item.get("alt_text"))
        except (OSError, ValueError) as exc:  # a failed download, a refused size
            self._problem(where, "media.download", str(exc), url)
            return _PLACEHOLDER
        return media.model_dump() if ok else _PLACEHOLDER

    def _stored(self, item: dict[str, Any], loc: tuple[str | int, ...]) -> Any:
        try:
            media = Media.model_validate(item)
        except ValidationError:
            return item  # the post's own validation names the bad field
        if not self.store.contains(media.sha256):
            self._problem(
                (*loc, "sha256"),
                "media.not_in_store",
                f"not in the media store {self.store!r}",
                media.sha256,
            )
            return _PLACEHOLDER
        return item


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _matches(
    data: Any, pattern: tuple[str, ...], loc: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], Any, str | int]]:
    """Every (loc, container, key) where ``pattern`` leads to an existing value."""
    head, rest = pattern[0], pattern[1:]
    keys: list[str | int]
    if head == "*":
        if isinstance(data, dict):
            keys = list(data)
        elif isinstance(data, list):
            keys = list(range(len(data)))
        else:
            return []
    elif isinstance(data, dict) and head in data:
        keys = [head]
    else:
        return []
    found = []
    for key in keys:
        if not rest:
            found.append(((*loc, key), data, key))
        else:
            found.extend(_matches(data[key], rest, (*loc, key)))
    return found


def _keys(item: dict[str, Any]) -> str:
    return ", ".join(repr(k) for k in item) or "none"


def _scalar(value: Any) -> int | float | str | bool | None:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:199] + "…"
    return None


def _structure_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        kind = error["type"]
        message = error["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            allowed = fields_at(Post, loc[:-1])
            hint = suggest(str(loc[-1]), allowed) if allowed else ""
            known = f" (fields: {', '.join(allowed)})" if allowed and not hint else ""
            message = f"unknown field{hint}{known}"
        value = None if kind == "extra_forbidden" else _scalar(error.get("input"))
        problems.append(
            Problem(
                field=field_path(loc) or "(post)",
                code=f"structure.{kind}",
                message=message,
                value=value,
            )
        )
    return problems
