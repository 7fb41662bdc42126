"""A LISTEN connection dropped silently, as a NAT gateway or firewall that forgets an idle
flow drops it: no FIN, no RST, nothing but packets that never arrive.

Run inside a network namespace of its own (``unshare -n python -m
tests.postgres.silent_drop SOCKET_DIR PORT DBNAME USER [OPTION=VALUE ...]``), so that
turning its loopback off touches nothing else on the machine. The server is reached
through its Unix socket (the file system is shared with the namespace); the store under
test connects over TCP to a forwarder on the namespace's ``127.0.0.1``, whose traffic is
what gets dropped. The options are added to that store's URL (libpq's keepalives).

Exits 0 and prints ``heard`` when the store noticed the dead connection, reconnected
and heard a publication another store added afterwards; 1 (saying where it stopped)
otherwise. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()


async def _loopback(state: str) -> None:
    """The namespace's loopback ``up`` or ``down``."""
    process = await asyncio.create_subprocess_exec("ip", "link", "set", "lo", state)
    if await process.wait() != 0:
        raise RuntimeError(f"ip link set lo {state} failed")


async def main(socket_dir: str, port: str, dbname: str, user: str, options: list[str]) -> int:
    from socialkit.schedule.stores.postgres import PostgresStore
    from tests.schedule.store_contract import POST, T0, pub

    await _loopback("up")
    unix_path = f"{socket_dir}/.s.PGSQL.{port}"

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # ended with the loop
            up_reader, up_writer = await asyncio.open_unix_connection(unix_path)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", 0)
    forward_port = server.sockets[0].getsockname()[1]
    schema = f"sk_drop_{uuid.uuid4().hex[:12]}"
    common = f"schema={schema}&clock=caller"
    busy = PostgresStore(f"postgresql://{user}@/{dbname}?host={socket_dir}&port={port}&{common}")
    extra = "".join(f"&{option}" for option in options)
    idle = PostgresStore(
        f"postgresql://{user}@127.0.0.1:{forward_port}/{dbname}?{common}&connect_timeout=2{extra}"
    )
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:
        loop.call_soon_threadsafe(woken.set)

    async def woken_within(seconds: float) -> bool:
        try:
            await asyncio.wait_for(woken.wait(), seconds)
        except TimeoutError:
            return False
        woken.clear()
        return True

    await busy.open()
    try:
        await idle.open()
        await busy.put_revision(POST, now=T0)
        idle.subscribe(wake)
        if not await idle.listening():
            print("not listening")
            return 1
        listener = idle._listener
        assert listener is not None
        # From here on, nothing sent over the namespace's loopback arrives.
        await _loopback("down")
        for _ in range(1800):  # 90 s at most
            if not listener.listening.is_set():
                break
            await asyncio.sleep(0.05)
        else:
            print("the dead LISTEN connection was not noticed within 90 s")
            return 1
        await _loopback("up")
        # Back: the listener reconnects and wakes everyone once...
        if not await woken_within(30):
            print("no wake-up after reconnecting")
            return 1
        # ... and hears other workers again.
        await busy.add([pub("a", due=T0)], now=T0)
        if not await woken_within(10):
            print("a publication added after the drop was not heard")
            return 1
        print("heard")
        return 0
    finally:
        await idle.close()
        with contextlib.suppress(Exception):
            conn = await busy.connection()
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await conn.close()
        await busy.close()
        server.close()


if __name__ == "__main__":
    socket_dir, port, dbname, user, *options = sys.argv[1:]
    sys.exit(asyncio.run(main(socket_dir, port, dbname, user, options)))
