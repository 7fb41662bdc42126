"""A fake social platform served over HTTP on 127.0.0.1, misbehaving on purpose.

Run as ``python -m tests.postgres.chaos_platform SEED``; it prints ``PORT <n>`` and serves
until killed. Three platforms live under one server, differing in what they promise:

* ``/keyed`` honours ``Idempotency-Key``: a repeated key returns the post already made.
* ``/lookup`` ignores keys, but ``GET /lookup/posts?key=…`` finds a post by the key it
  was sent with (the adapter reconciles by looking).
* ``/blind`` ignores keys and cannot be searched: an unknown outcome needs a person.

``POST /<platform>/posts`` misbehaves at random (seeded): 503 before doing anything,
429 with ``Retry-After``, or — after the post was made — a 500, or a response held back
past the client's timeout. ``GET /ledger`` returns every post ever made, in order:
the ground truth the test checks (duplicates would show here).
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PLATFORMS = ("keyed", "lookup", "blind")
BEFORE_503 = 0.06  # refused before anything happened
RATE_LIMITED = 0.05  # 429, Retry-After: 1
AFTER_500 = 0.04  # the post was made, then a 500
HELD_BACK = 0.04  # the post was made, the answer comes after the client gave up
HOLD_SECONDS = 1.5
LOOKUP_503 = 0.05


class Ledger:
    def __init__(self, seed: int) -> None:
        self.lock = threading.Lock()
        self.posts: list[dict[str, Any]] = []
        self.rng = random.Random(seed)

    def roll(self) -> float:
        with self.lock:
            return self.rng.random()

    def create(self, platform: str, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        with self.lock:
            if platform == "keyed" and key is not None:
                for post in self.posts:
                    if post["platform"] == platform and post["key"] == key:
                        return post
            post = {
                "id": f"{platform}-{len(self.posts) + 1}",
                "platform": platform,
                "key": body.get("key"),
                "publication": body.get("publication"),
                "account": body.get("account"),
                "text": body.get("text"),
                "at": time.time(),
            }
            self.posts.append(post)
            return post

    def find(self, platform: str, key: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.posts if p["platform"] == platform and p["key"] == key]


class Handler(BaseHTTPRequestHandler):
    ledger: Ledger
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        # The client may have given up waiting: that is the point of HELD_BACK.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if parts == ["ledger"]:
            with self.ledger.lock:
                self._reply(200, list(self.ledger.posts))
            return
        if len(parts) == 2 and parts[0] in ("keyed", "lookup") and parts[1] == "posts":
            if self.ledger.roll() < LOOKUP_503:
                self._reply(503, {"error": "unavailable"})
                return
            key = parse_qs(url.query).get("key", [""])[0]
            self._reply(200, self.ledger.find(parts[0], key))
            return
        self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        parts = self.path.strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if len(parts) != 2 or parts[0] not in PLATFORMS or parts[1] != "posts":
            self._reply(404, {"error": "not found"})
            return
        roll = self.ledger.roll()
        if roll < BEFORE_503:
            self._reply(503, {"error": "overloaded, try later"})
            return
        if roll < BEFORE_503 + RATE_LIMITED:
            self._reply(429, {"error": "slow down"}, {"Retry-After": "1"})
            return
        post = self.ledger.create(parts[0], body, self.headers.get("Idempotency-Key"))
        after = self.ledger.roll()
        if after < AFTER_500:
            self._reply(500, {"error": "internal error"})
            return
        if after < AFTER_500 + HELD_BACK:
            time.sleep(HOLD_SECONDS)
        self._reply(200, {"id": post["id"]})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that timed out or were SIGKILLed hang up mid-request; expected


def main(seed: int) -> None:
    Handler.ledger = Ledger(seed)
    server = Server(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
