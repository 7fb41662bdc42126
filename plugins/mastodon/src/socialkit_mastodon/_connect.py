"""The walk-through that connects a Mastodon account, and its command line.

``python -m socialkit_mastodon auth --instance https://mastodon.social --account acme``
registers an app on the server, shows the address to approve it at, asks for the code
the server shows, exchanges it for a token, checks whom the token belongs to, and saves
the token through a :class:`~socialkit.CredentialProvider` (a secrets file by default).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from socialkit import (
    Account,
    Context,
    CredentialProvider,
    FileCredentialProvider,
    SocialkitError,
    default_media_store,
)
from socialkit_mastodon._api import instance_url
from socialkit_mastodon._auth import (
    DEFAULT_SCOPES,
    Pkce,
    authorization_url,
    exchange_code,
    register_app,
)
from socialkit_mastodon._platform import Mastodon

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import httpx

    from socialkit import AccountIdentity

__all__ = ["connect_account", "main"]

DEFAULT_SECRETS = ".socialkit/secrets.json"


async def connect_account(
    *,
    instance: str,
    account_id: str,
    provider: CredentialProvider,
    http: httpx.AsyncClient,
    ask: Callable[[str], str],
    say: Callable[[str], None],
    client_name: str = "socialkit",
    scopes: str = DEFAULT_SCOPES,
) -> AccountIdentity:
    """Walk a person through connecting ``account_id`` on ``instance``.

    Args:
        instance: the server's address.
        account_id: socialkit's id for the account (``"acme-mastodon"``).
        provider: where the token is saved.
        http: the client to talk to the server with.
        ask: shows a prompt and returns what the person typed (``input``).
        say: shows a line to the person (``print``).
        client_name: the application name the server shows on its approval page.
        scopes: the OAuth scopes to ask for.

    Returns:
        Who the token belongs to; its ``platform_account_id`` is the account's stable id.
    """
    base = instance_url(instance)
    app = await register_app(http, base, client_name=client_name, scopes=scopes)
    pkce = Pkce.generate()
    say(f"1. Open this address, sign in to {base} and approve {client_name}:")
    say("")
    say(f"   {authorization_url(app, pkce)}")
    say("")
    code = ask("2. Paste the code the server shows: ").strip()
    if not code:
        raise SocialkitError("no code given; nothing was saved")
    credentials = await exchange_code(http, app, code, pkce)
    account = Account(
        id=account_id, platform="mastodon", handle=account_id, settings={"instance": base}
    )
    ctx = Context(account=account, credentials=credentials, http=http, media=default_media_store())
    identity = await Mastodon().verify_account(ctx)
    await provider.save(account, credentials)
    say(f"3. Connected {identity.handle} (account id {identity.platform_account_id}).")
    say("")
    say("Add the account to socialkit.toml:")
    say("")
    say("[[accounts]]")
    say(f'id = "{account_id}"')
    say('platform = "mastodon"')
    say(f'handle = "{identity.handle}"')
    say(f'platform_account_id = "{identity.platform_account_id}"')
    say(f'settings = {{ instance = "{base}" }}')
    return identity


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m socialkit_mastodon", description="socialkit's Mastodon adapter"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    auth = commands.add_parser("auth", help="connect a Mastodon account (OAuth 2 with PKCE)")
    # The same names for the values as `socialkit auth mastodon --help` and docs/cli.md.
    auth.add_argument(
        "--instance", required=True, metavar="URL", help="the server, e.g. https://mastodon.social"
    )
    auth.add_argument(
        "--account",
        default="mastodon",
        metavar="ID",
        help="socialkit's id for the account (default: mastodon)",
    )
    auth.add_argument(
        "--secrets",
        default=DEFAULT_SECRETS,
        metavar="FILE",
        help=f"the secrets file the token is saved to (mode 0600; default {DEFAULT_SECRETS})",
    )
    auth.add_argument(
        "--scopes", default=DEFAULT_SCOPES, metavar="SCOPES", help="OAuth scopes to ask for"
    )
    auth.add_argument(
        "--client-name", default="socialkit", metavar="NAME", help="the app name the server shows"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    http: httpx.AsyncClient | None = None,
    ask: Callable[[str], str] = input,
    say: Callable[[str], None] = print,
) -> int:
    """The command line; returns the exit code. ``http`` is injectable for tests."""
    import asyncio

    import httpx

    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    async def run() -> None:
        client = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        try:
            await connect_account(
                instance=args.instance,
                account_id=args.account,
                provider=FileCredentialProvider(args.secrets),
                http=client,
                ask=ask,
                say=say,
                client_name=args.client_name,
                scopes=args.scopes,
            )
        finally:
            if http is None:
                await client.aclose()

    try:
        asyncio.run(run())
    except SocialkitError as exc:
        say(f"error: {exc}")
        return 1
    except (KeyboardInterrupt, EOFError):
        say("cancelled; nothing was saved")
        return 130
    say("")
    say(f"The token was saved to {args.secrets}.")
    return 0
