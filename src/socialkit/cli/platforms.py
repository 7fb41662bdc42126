"""``socialkit platforms``: installed platforms and broken plugins.

Exit codes: 0 when every plugin loaded; 1 when a plugin is broken, when two plugins register
the same platform name, when a platform's capabilities promise a method it lacks, or when
``SOCIALKIT_LOAD_PLUGINS`` / ``SOCIALKIT_DISABLED_PLUGINS`` names a plugin that is not there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from socialkit.cli._app import emit, say

if TYPE_CHECKING:
    from socialkit.platforms.registry import Registry


def register(app: typer.Typer) -> None:
    @app.command("platforms")
    def platforms(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """List installed platforms, where they come from, and plugins that failed to load.

        Each broken plugin is one BROKEN line (in --json, an entry of "broken"); the other
        plugins load as usual. Two plugins registering the same platform name are one CLASH
        line (in --json, an entry of "clashes"): a built-in platform keeps its name, else
        the plugin that loads first does. A name in SOCIALKIT_LOAD_PLUGINS or
        SOCIALKIT_DISABLED_PLUGINS that no plugin has, and capabilities that promise a
        method the platform lacks (delete=True without delete()), are warnings (in --json,
        entries of "warnings"). Exits 0 when every plugin loaded, 1 when a plugin is broken,
        two plugins clash or there is a warning, so a CI step can run it as a check.
        """
        registry = _registry_without_log()
        rows = []
        for name, info in registry.platforms.items():
            caps = info.platform.capabilities
            rows.append(
                {
                    "name": name,
                    "title": info.platform.title or name,
                    "plugin": info.plugin,
                    "distribution": info.distribution,
                    "version": info.version,
                    "contract": info.platform.contract,
                    "capabilities": caps.model_dump(mode="json"),
                }
            )
        broken = [
            {"plugin": f.plugin, "distribution": f.distribution, "stage": f.stage, "error": f.error}
            for f in registry.failures
        ]
        lines = []
        for name, info in registry.platforms.items():
            c = info.platform.capabilities
            lines.append(
                f"{name:<12} {info.distribution or '-':<24} text {c.text.limit} "
                f"{c.text.counting.value}, media {c.media.max_items}, threads "
                f"{'yes' if c.threads else 'no'}, idempotency {c.idempotency.value}"
            )
        for item in broken:
            lines.append(
                f"BROKEN {item['plugin']} ({item['distribution'] or '?'}) at {item['stage']}: {item['error']}"
            )
        clashes = [
            {
                "platform": c.platform,
                "plugin": c.plugin,
                "distribution": c.distribution,
                "kept_plugin": c.kept_plugin,
                "kept_distribution": c.kept_distribution,
                "kept_builtin": c.kept_builtin,
                "message": c.message,
            }
            for c in registry.clashes
        ]
        lines.extend(f"CLASH {c.message}" for c in registry.clashes)
        warnings = [*registry.selection_warnings, *registry.capability_warnings]
        for warning in warnings:
            say(f"warning: {warning}", err=True)
        emit(
            {"platforms": rows, "broken": broken, "clashes": clashes, "warnings": warnings},
            as_json=as_json,
            text="\n".join(lines) or "no platforms installed",
        )
        if broken or clashes or warnings:
            raise typer.Exit(1)


def _registry_without_log() -> Registry:
    """The process-wide registry, loaded without the registry's log line per failure.

    This command prints each failure itself (a BROKEN line); the registry's warning on
    standard error would say it a second time. Other commands keep that warning, since it
    is the only place they report a broken plugin.
    """
    import logging

    from socialkit.platforms.registry import get_registry

    def quiet(record: logging.LogRecord) -> bool:
        return False

    plugins_log = logging.getLogger("socialkit.plugins")
    plugins_log.addFilter(quiet)
    try:
        return get_registry()
    finally:
        plugins_log.removeFilter(quiet)
