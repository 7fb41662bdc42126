"""``socialkit auth mastodon --instance URL``: the plugin's command on socialkit's command line.

The core command line calls the ``register_commands(app)`` hook of every module in the
``socialkit.commands`` entry-point group; this distribution declares::

    [project.entry-points."socialkit.commands"]
    mastodon = "socialkit_mastodon._cli"

Loading this module imports no adapter code and no httpx (the package's names are
imported on first use), so ``socialkit --help`` stays fast; the walk-through's modules
are imported when the command runs. ``python -m socialkit_mastodon auth`` runs the same
walk-through without the socialkit command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit import hookimpl

if TYPE_CHECKING:
    import typer

__all__ = ["register_commands"]


def _auth_group(app: typer.Typer) -> typer.Typer:
    """The ``socialkit auth`` group, created if no other plugin did yet."""
    import typer

    for group in app.registered_groups:
        if group.name == "auth" and group.typer_instance is not None:
            return group.typer_instance
    auth = typer.Typer(
        name="auth", help="Connect accounts to their platforms.", no_args_is_help=True
    )
    app.add_typer(auth, name="auth")
    return auth


@hookimpl
def register_commands(app: typer.Typer) -> None:
    """Add ``socialkit auth mastodon --instance URL``."""
    import typer

    auth = _auth_group(app)

    @auth.command("mastodon")
    def auth_mastodon(
        instance: str = typer.Option(
            ..., metavar="URL", help="The server, e.g. https://mastodon.social."
        ),
        account: str = typer.Option(
            "mastodon", metavar="ID", help="socialkit's id for the account."
        ),
        secrets: str = typer.Option(
            ".socialkit/secrets.json",
            metavar="FILE",
            help="The secrets file the token is saved to (mode 0600).",
        ),
        scopes: str = typer.Option("read write", metavar="SCOPES", help="OAuth scopes to ask for."),
        client_name: str = typer.Option(
            "socialkit", metavar="NAME", help="The app name the server shows."
        ),
    ) -> None:
        """Connect a Mastodon account (OAuth 2 with PKCE): approve, paste the code, done."""
        from socialkit_mastodon._connect import main

        argv = ["auth", "--instance", instance, "--account", account, "--secrets", secrets]
        argv += ["--scopes", scopes, "--client-name", client_name]
        code = main(argv)
        if code:
            raise typer.Exit(code)
