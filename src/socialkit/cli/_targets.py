"""What the post commands share: targets (account or platform), problem lines, post files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from socialkit.config import ProjectConfig
    from socialkit.models.account import Account
    from socialkit.models.problems import Problem
    from socialkit.platforms.registry import Registry
    from socialkit.postfile import PostFile

__all__ = ["Target", "problem_line", "project_account", "read_post", "resolve_targets", "summary"]


@attrs.frozen
class Target:
    """Where a post is checked or sent: an account of the project, or a bare platform."""

    platform: str
    account: Account | None = None

    @property
    def label(self) -> str:
        if self.account is None:
            return self.platform
        return f"{self.account.id} ({self.platform})"

    def as_json(self) -> dict[str, str | None]:
        return {"account": self.account.id if self.account else None, "platform": self.platform}


def resolve_targets(
    config: ProjectConfig,
    registry: Registry,
    *,
    accounts: Iterable[str] = (),
    platforms: Iterable[str] = (),
) -> list[Target]:
    """``--to`` accounts and ``--platform`` names as targets, in the order given.

    Raises:
        ConfigError: an account is not in the project file.
        UnknownPlatform: a platform (named, or an account's) is not installed.
    """
    from socialkit.errors import UnknownPlatform

    targets: list[Target] = []
    for account_id in accounts:
        account = project_account(config, account_id, "--to")
        try:
            registry.info(account.platform)
        except UnknownPlatform as exc:  # which account: the project file names it
            from socialkit.cli._app import fail

            raise fail(
                f"--to {account.id!r}: the account's platform {exc.name!r} is not installed "
                f"(installed: {', '.join(sorted(exc.available)) or 'none'})",
                code=2,
            ) from None
        targets.append(Target(account.platform, account))
    for name in platforms:
        registry.info(name)
        targets.append(Target(name))
    return targets


def project_account(config: ProjectConfig, account_id: str, field: str | None = None) -> Account:
    """The project's account ``account_id``.

    Raises:
        ConfigError: it is not in the project file; when no project file was found at
            all, the message says so and how to make one (the usual first mistake). With
            ``field`` (the option that gave it, ``--to``) the message starts with it.
    """
    from socialkit.errors import ConfigError

    named = f"{field}: " if field else ""
    if config.path is None and not config.accounts:
        raise ConfigError(
            f"{named}unknown account {account_id!r}: no project file was found (socialkit.toml "
            "in this directory or a parent, $SOCIALKIT_CONFIG, or --config FILE); add one with "
            f"`socialkit accounts add {account_id} --platform NAME --handle HANDLE`"
        )
    try:
        return config.account(account_id)
    except ConfigError as exc:
        raise ConfigError(f"{named}{exc}") from None


def read_post(path: Path, config: ProjectConfig) -> PostFile:
    """Read a post file, adding its media to the project's media store."""
    from socialkit.postfile import read_post_file

    return read_post_file(path, media=config.media_store())


def problem_line(problem: Problem, target: Target | None = None) -> str:
    """``  error    acme-x (x)  text: too long (limit 280, value 312)``."""
    where = f"{target.label}  " if target is not None else ""
    described = problem.model_copy(update={"platform": None}).describe()
    return f"  {problem.severity:<8} {where}{described}"


def summary(problems: Sequence[Problem]) -> str:
    """``2 errors, 1 warning``."""
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) or "no problems"
