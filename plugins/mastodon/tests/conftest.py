"""Fixtures for the Mastodon adapter's tests, and the OpenAPI check every exchange goes through.

Every request the adapter sends to the fake server is checked against the operation the
Mastodon OpenAPI 3.1 schema (``schema/schema.json``, a copy of mastodon-openapi, MIT)
declares for its method and path: path and query parameters, headers, and the request
body with unknown properties refused, so a misspelt field name fails. Every response is
checked against that operation's response schema for its status code, including the
``X-RateLimit-*`` headers.

Two readings of the schema, both written down here: the generator turns the documented
"text, or media, or a poll" into a ``oneOf`` whose branches overlap (text *and* media
matches two), so request ``oneOf`` is read as ``anyOf`` with each branch closed; and it
types the ``Idempotency-Key`` header as ``object`` where the documentation says "any
arbitrary string", so header parameters are checked as non-empty strings.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from socialkit_mastodon import Mastodon, MediaPolling
from socialkit_mastodon.testing import FakeMastodon, parse_multipart

import socialkit

SCHEMA_PATH = Path(__file__).parent / "schema" / "schema.json"
_ROOT = "urn:mastodon-openapi"
_TRANSPORT_HEADERS = frozenset(
    {
        "host",
        "accept",
        "accept-encoding",
        "connection",
        "user-agent",
        "content-length",
        "content-type",
        "authorization",
    }
)

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2216bc80000000049454e44ae426082"
)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$", value))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class OpenApi:
    """The Mastodon OpenAPI document, with checks for requests and responses."""

    def __init__(self, path: Path = SCHEMA_PATH) -> None:
        self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.registry: Registry[Any] = Registry().with_resource(
            _ROOT, Resource(contents=self.document, specification=DRAFT202012)
        )
        self._routes: list[tuple[str, re.Pattern[str]]] = []
        for template in self.document["paths"]:
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self._routes.append((template, re.compile(regex)))
        # literal paths before templated ones (verify_credentials before {id})
        self._routes.sort(key=lambda item: item[0].count("{"))
        self.checked: list[tuple[str, str, int]] = []

    # -- lookup ----------------------------------------------------------------------------

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for template, regex in self._routes:
            if regex.fullmatch(path):
                operations = self.document["paths"][template]
                op = operations.get(method.lower())
                if op is None:
                    raise AssertionError(f"{method} {template} is not an operation of the schema")
                return template, op
        raise AssertionError(f"{method} {path}: no such path in the Mastodon schema")

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            node = self._at(node["$ref"])
        return node

    def _follow(self, pointer: str) -> tuple[str, Any]:
        node = self._at("#" + pointer)
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            pointer = node["$ref"].lstrip("#")
            node = self._at(node["$ref"])
        return pointer, node

    def _at(self, ref: str) -> Any:
        node: Any = self.document
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validator(self, schema: Any, *, formats: bool = False) -> jsonschema.Draft202012Validator:
        checker = FORMATS if formats else None
        return jsonschema.Draft202012Validator(
            schema, registry=self.registry, format_checker=checker
        )

    def ref(self, pointer: str) -> dict[str, Any]:
        """A schema that points into the document (``/components/schemas/Status``)."""
        return {"$ref": f"{_ROOT}#{pointer}"}

    def strict(self, schema: Any, *, in_all_of: bool = False, depth: int = 0) -> Any:
        """``schema`` inlined, with every object closed and request ``oneOf`` read as ``anyOf``."""
        if depth > 20:
            raise AssertionError("request schema nests too deep to inline")
        if isinstance(schema, list):
            return [self.strict(s, depth=depth + 1) for s in schema]
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            target = copy.deepcopy(self._at(schema["$ref"]))
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.strict(merged, in_all_of=in_all_of, depth=depth + 1)
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "properties":
                out[key] = {n: self.strict(s, depth=depth + 1) for n, s in value.items()}
            elif key == "allOf":
                out[key] = [self.strict(s, in_all_of=True, depth=depth + 1) for s in value]
            elif key in ("oneOf", "anyOf"):
                out["anyOf"] = [self.strict(s, depth=depth + 1) for s in value]
            elif key == "items":
                out[key] = self.strict(value, depth=depth + 1)
            else:
                out[key] = value
        if not in_all_of and ("properties" in out or "allOf" in out):
            out.setdefault("unevaluatedProperties", False)
        return out

    # -- requests --------------------------------------------------------------------------

    def check_request(self, request: httpx.Request) -> tuple[str, dict[str, Any]]:
        """Raise ``AssertionError`` unless ``request`` is what its operation declares."""
        method, path = request.method, request.url.path
        template, op = self.operation(method, path)
        where = f"{method} {template}"
        declared = {(p["in"], p["name"]): p for p in map(self.resolve, op.get("parameters", []))}
        query = httpx.QueryParams(request.url.query)
        for name in query:
            param = declared.get(("query", name))
            if param is None:
                raise AssertionError(f"{where}: query parameter {name!r} is not declared")
            for value in query.get_list(name):
                self._check_value(where, f"query {name}", param.get("schema", {}), value)
        for (place, name), param in declared.items():
            if place == "query" and param.get("required") and name not in query:
                raise AssertionError(f"{where}: required query parameter {name!r} missing")
        for header in request.headers:
            if header.lower() in _TRANSPORT_HEADERS:
                continue
            match = [
                p
                for (place, n), p in declared.items()
                if place == "header" and n.lower() == header.lower()
            ]
            if not match:
                raise AssertionError(f"{where}: header {header!r} is not declared")
            if not request.headers[header].strip():
                raise AssertionError(f"{where}: header {header!r} is empty")
        needs_token = bool(op.get("security")) and any(op["security"])
        if needs_token and not request.headers.get("authorization", "").startswith("Bearer "):
            raise AssertionError(f"{where} needs OAuth2 ({op['security']}); no bearer token")
        self._check_body(where, op, request)
        return template, op

    def _check_value(self, where: str, what: str, schema: dict[str, Any], raw: str) -> None:
        kind = schema.get("type")
        value: Any = raw
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", raw):
                raise AssertionError(f"{where}: {what} must be an integer (got {raw!r})")
            value = int(raw)
        elif kind == "boolean":
            if raw not in ("true", "false"):
                raise AssertionError(f"{where}: {what} must be true or false (got {raw!r})")
            value = raw == "true"
        errors = list(self.validator(schema, formats=True).iter_errors(value))
        if errors:
            raise AssertionError(f"{where}: {what}: {errors[0].message}")

    def _check_body(self, where: str, op: dict[str, Any], request: httpx.Request) -> None:
        body_spec = self.resolve(op.get("requestBody"))
        if not request.content:
            if body_spec and body_spec.get("required"):
                raise AssertionError(f"{where}: the request body is required")
            return
        if not body_spec:
            raise AssertionError(f"{where} takes no request body")
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
        media = body_spec["content"].get(content_type)
        if media is None:
            raise AssertionError(
                f"{where}: body type {content_type!r} not declared ({sorted(body_spec['content'])})"
            )
        schema = self.strict(media["schema"])
        if content_type == "multipart/form-data":
            fields = parse_multipart(request)
            instance: dict[str, Any] = {}
            for name, (filename, declared_type, data) in fields.items():
                prop = schema.get("properties", {}).get(name, {})
                if prop.get("format") == "binary":
                    if not filename or not declared_type:
                        raise AssertionError(
                            f"{where}: file field {name!r} needs a name and a type"
                        )
                    instance[name] = f"<{len(data)} bytes>"
                else:
                    instance[name] = data.decode("utf-8")
        else:
            instance = json.loads(request.content)
        errors = sorted(self.validator(schema, formats=True).iter_errors(instance), key=str)
        if errors:
            detail = "; ".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:3])
            raise AssertionError(f"{where}: request body does not match the schema: {detail}")

    # -- responses -------------------------------------------------------------------------

    def check_response(
        self, template: str, op: dict[str, Any], method: str, response: httpx.Response
    ) -> None:
        """Raise ``AssertionError`` unless ``response`` is declared for its status code."""
        where = f"{method} {template} -> {response.status_code}"
        code = str(response.status_code)
        if code not in op["responses"]:
            code = "default"
        if code not in op["responses"]:
            raise AssertionError(f"{where}: status not declared ({sorted(op['responses'])})")
        self.checked.append((method, template, response.status_code))
        pointer, spec = self._follow(
            _pointer("", "paths", template, method.lower(), "responses", code)
        )
        for name, header in (spec.get("headers") or {}).items():
            header = self.resolve(header)
            if name in response.headers:
                self._check_value(
                    where, f"header {name}", header.get("schema", {}), response.headers[name]
                )
        content = (spec.get("content") or {}).get("application/json")
        if content is None:
            return
        body = json.loads(response.content)
        schema = self.ref(pointer + "/" + _pointer("content", "application/json", "schema"))
        self.check_entity(schema, body, where)

    def check_entity(self, schema: Any, body: Any, where: str) -> None:
        errors = sorted(self.validator(schema).iter_errors(body), key=str)
        if errors:
            detail = "; ".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:3])
            raise AssertionError(f"{where}: response does not match the schema: {detail}")

    def wrap(
        self, handler: Callable[[httpx.Request], httpx.Response]
    ) -> Callable[[httpx.Request], httpx.Response]:
        """A ``MockTransport`` handler that checks each exchange around ``handler``."""

        def checked(request: httpx.Request) -> httpx.Response:
            template, op = self.check_request(request)
            response = handler(request)
            response.read()
            self.check_response(template, op, request.method, response)
            return response

        return checked


_OPENAPI: OpenApi | None = None


@pytest.fixture(scope="session")
def openapi() -> OpenApi:
    global _OPENAPI
    if _OPENAPI is None:
        _OPENAPI = OpenApi()
    return _OPENAPI


@pytest.fixture
def fresh_openapi() -> OpenApi:
    """An :class:`OpenApi` of this test alone (its ``checked`` list starts empty)."""
    return OpenApi()


class Clock:
    """A settable clock (aware UTC)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class Recorder:
    """What the adapter told the engine through its context."""

    def __init__(self) -> None:
        self.rate_limits: list[socialkit.RateLimitReport] = []
        self.checkpoints: list[tuple[int, socialkit.PostRef]] = []
        self.claimed: set[str] = set()
        self.sleeps: list[float] = []

    async def checkpoint(self, part: int, ref: socialkit.PostRef) -> None:
        self.checkpoints.append((part, ref))

    async def is_claimed(self, post_id: str) -> bool:
        return post_id in self.claimed


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def server(clock: Clock) -> FakeMastodon:
    return FakeMastodon(clock=clock)


@pytest.fixture
async def http(server: FakeMastodon, openapi: OpenApi) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(openapi.wrap(server.handle))
    ) as client:
        yield client


@pytest.fixture
def media_store(tmp_path: Path) -> socialkit.LocalMediaStore:
    return socialkit.LocalMediaStore(tmp_path / "media")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def platform(recorder: Recorder, clock: Clock) -> Mastodon:
    async def sleep(seconds: float) -> None:
        recorder.sleeps.append(seconds)
        clock.advance(seconds=seconds)

    return Mastodon(
        sleep=sleep, media_polling=MediaPolling(first_delay=0.5, max_delay=4.0, max_checks=6)
    )


@pytest.fixture
def account(server: FakeMastodon) -> socialkit.Account:
    return socialkit.Account(
        id="acme-mastodon",
        platform="mastodon",
        handle="@acme@mastodon.example",
        settings={"instance": server.base_url},
    )


@pytest.fixture
def make_ctx(
    server: FakeMastodon,
    http: httpx.AsyncClient,
    media_store: socialkit.LocalMediaStore,
    clock: Clock,
    recorder: Recorder,
    account: socialkit.Account,
) -> Callable[..., socialkit.Context]:
    token = server.issue_token()

    def make(**changes: Any) -> socialkit.Context:
        ctx = socialkit.Context(
            account=account,
            credentials=socialkit.Credentials().with_values(access_token=token),
            http=http,
            media=media_store,
            clock=clock,
            publication_id="pub-1",
            idempotency_keys=tuple(f"pub-1-part-{i}" for i in range(6)),
            on_rate_limit=recorder.rate_limits.append,
            on_checkpoint=recorder.checkpoint,
            is_claimed_by_other=recorder.is_claimed,
        )
        return ctx.evolve(**changes) if changes else ctx

    return make


def draft_of(
    post: socialkit.Post, capabilities: socialkit.Capabilities | None = None
) -> socialkit.Draft:
    """``post`` rendered for Mastodon (stock capabilities unless given)."""
    return socialkit.render(post, "mastodon", capabilities or Mastodon.capabilities)


@pytest.fixture
def draft() -> Callable[..., socialkit.Draft]:
    return draft_of


@pytest.fixture
def png(media_store: socialkit.LocalMediaStore) -> Callable[[str], socialkit.Media]:
    def make(alt: str) -> socialkit.Media:
        # distinct bytes per alt text, so each is its own file in the store
        return media_store.put_bytes(PNG_1x1 + alt.encode(), mime_type="image/png", alt_text=alt)

    return make
