"""``socialkit platforms``: installed platforms and broken plugins."""

from __future__ import annotations

from typing import Annotated

import typer

from socialkit.cli._app import emit


def register(app: typer.Typer) -> None:
    @app.command("platforms")
    def platforms(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """List installed platforms, where they come from, and plugins that failed to load."""
        from socialkit.platforms.registry import get_registry

        registry = get_registry()
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
        emit(
            {"platforms": rows, "broken": broken},
            as_json=as_json,
            text="\n".join(lines) or "no platforms installed",
        )
