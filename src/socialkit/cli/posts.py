"""``socialkit validate`` and ``socialkit publish``: a post file, checked or sent now.

Exit codes: 0 when valid / published everywhere; 1 when the post is invalid or a target
failed; 2 for a usage problem (an unknown account or platform, a broken project file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialkit.cli._app import emit, fail, state

if TYPE_CHECKING:
    from socialkit.cli._targets import Target
    from socialkit.config import ProjectConfig
    from socialkit.models.account import Account
    from socialkit.models.campaign import Campaign
    from socialkit.models.content import Post
    from socialkit.models.problems import Problem
    from socialkit.platforms.publish import PublishResult

__all__ = ["register"]

FileArgument = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="A post as YAML or JSON (see docs/cli.md#post-files).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_command)
    app.command("publish")(publish_command)


def validate_command(
    file: FileArgument,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform", "-p", metavar="NAME", help="Check against a platform (repeatable)."
        ),
    ] = None,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to", "-t", metavar="ACCOUNT", help="Check for a project account (repeatable)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a post file: structure, media files, and each target's limits.

    Targets are the --to accounts and --platform names; with neither, every account in
    the project file. Every problem is listed with its field, the limit and the value.
    Exits 1 when the post is invalid.
    """
    from socialkit.cli._targets import Target, read_post, resolve_targets
    from socialkit.models.problems import Problem
    from socialkit.platforms.registry import get_registry
    from socialkit.platforms.validation import validate

    config = state().config()
    registry = get_registry()
    targets = resolve_targets(config, registry, accounts=_unique(to), platforms=_unique(platform))
    checked: list[tuple[Target | None, Problem]] = []
    if not targets:
        for account in config.accounts:
            if account.platform in registry.platforms:
                targets.append(Target(account.platform, account))
            else:
                checked.append(
                    (
                        Target(account.platform, account),
                        Problem(
                            field="(target)",
                            code="target.not_installed",
                            message="the account's platform is not installed; not checked",
                            value=account.platform,
                            severity="warning",
                        ),
                    )
                )
    found = read_post(file, config)
    checked.extend((None, problem) for problem in found.problems)
    # With errors in the file, the limits are checked on what could be read, so every
    # problem shows at once (a bad link does not hide a missing alt text).
    post = found.post or found.partial
    if post is not None:
        campaign, note = _campaign(config, post)
        if note is not None:
            checked.append((None, note))
        checked.extend((None, p) for p in _unknown_overrides(post, set(registry.platforms)))
        for target in targets:
            capabilities = registry.info(target.platform).platform.capabilities
            for problem in validate(
                post,
                capabilities,
                platform=target.platform,
                campaign=campaign,
                registry=registry,
            ):
                checked.append((target, _for_target(problem, target)))

    valid = found.post is not None and not any(p.severity == "error" for _, p in checked)
    data = {
        "file": str(file),
        "valid": valid,
        "revision": found.post.revision() if found.post is not None else None,
        "targets": [t.as_json() for t in targets],
        "problems": [_problem_json(p, t) for t, p in checked],
    }
    emit(data, as_json=as_json, text=_validate_text(file, valid, targets, checked))
    if not valid:
        raise typer.Exit(1)


def _unknown_overrides(post: Post, installed: set[str]) -> list[Problem]:
    """A warning for each ``overrides`` key that names no installed platform: a typo
    (``mastadon``) leaves the override unused, and the post goes out unchanged."""
    import difflib

    from socialkit.models.problems import Problem

    found = []
    for name in post.overrides:
        if name in installed:
            continue
        close = difflib.get_close_matches(name, sorted(installed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(installed)) or "none"
        found.append(
            Problem(
                field=f"overrides.{name}",
                code="overrides.unknown_platform",
                message=(
                    f"no installed platform is called {name!r}, so this override applies "
                    f"to no account{hint} (installed: {known})"
                ),
                severity="warning",
            )
        )
    return found


def _refuse_unapproved(config: ProjectConfig, post: Post, accounts: list[Account]) -> None:
    """``publish`` sends at once, with no one to approve: refused (exit 2, nothing sent)
    for an account the project's ``[approval]`` requires approval for."""
    policy = config.approval.policy()
    campaign = post.campaign
    held = [
        account.id
        for account in accounts
        if policy.approvals_required(post, account, campaign=campaign, requested=None) > 0
    ]
    if held:
        raise fail(
            f"--to: {', '.join(held)} {'needs' if len(held) == 1 else 'need'} approval "
            "before a post goes out ([approval] in the project file), and publish sends at "
            "once: schedule it instead (`socialkit schedule FILE --to ACCOUNT --at TIME`), "
            "to be approved; nothing was sent",
            code=2,
        )


def publish_command(
    file: FileArgument,
    to: Annotated[
        list[str],
        typer.Option(
            "--to", "-t", metavar="ACCOUNT", help="A project account to publish to (repeatable)."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Publish a post file now to one or more accounts of the project.

    Each account is validated first and only valid ones are sent to; one account's
    failure does not stop the others. Exits 1 when the post is invalid or any account
    failed. For retries, rate limits and exactly-once delivery, schedule it instead.
    """
    from socialkit.cli._targets import read_post, resolve_targets
    from socialkit.platforms.publish import publish_now
    from socialkit.platforms.registry import get_registry

    config = state().config()
    registry = get_registry()
    targets = resolve_targets(config, registry, accounts=_unique(to))
    found = read_post(file, config)
    if found.post is None:
        data = {
            "file": str(file),
            "published": False,
            "problems": [_problem_json(p, None) for p in found.problems],
            "results": [],
        }
        emit(
            data,
            as_json=as_json,
            text=_validate_text(file, False, [], [(None, p) for p in found.problems]),
        )
        raise typer.Exit(1)
    campaign, note = _campaign(config, found.post)
    # Warnings about the file (a hashtag YAML read as a comment) and the campaign.
    notes = [*found.problems, *([note] if note else [])]
    accounts = [t.account for t in targets if t.account is not None]
    _refuse_unapproved(config, found.post, accounts)
    results = publish_now(
        found.post,
        accounts,
        credentials=config.credential_provider(),
        campaign=campaign,
        media=config.media_store(),
        registry=registry,
    )
    rows = [_result_json(result, target) for result, target in zip(results, targets, strict=True)]
    data = {
        "file": str(file),
        "revision": found.post.revision(),
        "published": all(r.ok for r in results),
        "problems": [_problem_json(p, None) for p in notes],
        "results": rows,
    }
    lines = [_problem_line(p, None) for p in notes]
    for result, target in zip(results, targets, strict=True):
        lines.extend(_result_lines(result, target))
    emit(data, as_json=as_json, text="\n".join(lines))
    if not all(r.ok for r in results):
        raise typer.Exit(1)


# -- helpers ---------------------------------------------------------------------------------


def _unique(values: list[str] | None) -> list[str]:
    return list(dict.fromkeys(values or ()))


def _campaign(config: ProjectConfig, post: Post) -> tuple[Campaign | None, Problem | None]:
    """The project's campaign the post names, or a warning that it is not there."""
    from socialkit.models.problems import Problem

    if post.campaign is None:
        return None, None
    for campaign in config.campaigns:
        if campaign.id == post.campaign:
            return campaign, None
    return None, Problem(
        field="campaign",
        code="campaign.unknown",
        message="not a campaign of the project file; its UTM parameters are not applied",
        value=post.campaign,
        severity="warning",
    )


def _for_target(problem: Problem, target: Target) -> Problem:
    account = target.account.id if target.account else None
    return problem.model_copy(update={"platform": target.platform, "account": account})


def _problem_json(problem: Problem, target: Target | None) -> dict[str, Any]:
    data = problem.model_dump(mode="json")
    if target is not None:
        data["platform"] = target.platform
        data["account"] = target.account.id if target.account else None
    return data


def _problem_line(problem: Problem, target: Target | None) -> str:
    from socialkit.cli._targets import problem_line

    return problem_line(problem, target)


def _validate_text(
    file: Path,
    valid: bool,
    targets: list[Target],
    checked: list[tuple[Target | None, Problem]],
) -> str:
    from socialkit.cli._targets import summary

    verdict = "valid" if valid else "invalid"
    where = f" for {', '.join(t.label for t in targets)}" if targets else ""
    if valid and not targets:
        where = (
            " (no targets, so only the file and its media were checked: give --to or --platform)"
        )
    counted = [p for _, p in checked]
    tail = f": {summary(counted)}" if counted else ""
    lines = [f"{file}: {verdict}{where}{tail}"]
    lines.extend(_problem_line(p, t) for t, p in checked)
    return "\n".join(lines)


def _result_json(result: PublishResult, target: Target) -> dict[str, Any]:
    error = None
    if result.error is not None:
        error = {"type": type(result.error).__name__, "message": str(result.error)}
    return {
        "account": result.account.id,
        "platform": result.account.platform,
        "ok": result.ok,
        "receipt": result.receipt.model_dump(mode="json") if result.receipt else None,
        "error": error,
        "problems": [_problem_json(p, target) for p in result.problems],
    }


def _result_lines(result: PublishResult, target: Target) -> list[str]:
    from socialkit.errors import InvalidPost

    if result.ok and result.receipt is not None:
        receipt = result.receipt
        parts = len(receipt.parts)
        where = receipt.url or receipt.ref.id
        lines = [f"{target.label}: published {where} ({parts} part{'s' if parts != 1 else ''})"]
    elif isinstance(result.error, InvalidPost):
        lines = [f"{target.label}: not sent, the post is invalid here"]
    else:
        error = result.error
        lines = [f"{target.label}: failed: {type(error).__name__}: {error}"]
    lines.extend(_problem_line(p, target) for p in result.problems)
    return lines
