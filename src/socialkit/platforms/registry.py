"""Loading plugins and finding platforms: a small typed facade over pluggy."""

from __future__ import annotations

import difflib
import inspect
import itertools
import logging
import os
import re
import threading
import traceback
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from socialkit import hookspecs
from socialkit.errors import PluginError, UnknownPlatform
from socialkit.models.content import _PLATFORM as PLATFORM_NAME
from socialkit.platforms.base import CONTRACT, CONTRACT_MIN, Platform, undelivered_capabilities
from socialkit.platforms.capabilities import Capabilities

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

__all__ = [
    "PluginClash",
    "PluginFailure",
    "PluginInfo",
    "Registry",
    "get_registry",
    "reset_registry",
]

log = logging.getLogger("socialkit.plugins")

_BUILTIN_DISTRIBUTION = "socialkit-engine"
"""The distribution socialkit ships in: its entry points are the built-in platforms."""


@attrs.frozen(kw_only=True)
class PluginFailure:
    """A plugin that could not be used, and why.

    Attributes:
        plugin: the entry-point (or object) name.
        distribution: the distribution that provides it, when known.
        stage: ``import``, ``register`` or ``contract``.
        error: a one-line description of the error.
        detail: the traceback, for ``--debug``.
    """

    plugin: str
    distribution: str | None
    stage: str
    error: str
    detail: str = ""


@attrs.frozen(kw_only=True)
class PluginInfo:
    """A platform as it was registered: its class and where it came from.

    ``builtin`` is true for the platforms socialkit itself ships (``feed``): no plugin can
    take their names.
    """

    name: str
    platform: type[Platform]
    plugin: str
    distribution: str | None
    version: str | None
    builtin: bool = False


@attrs.frozen(kw_only=True)
class PluginClash:
    """Two plugins registering the same platform name: the registry kept one, left the
    other out, and says so (``socialkit platforms`` prints it; it is logged as a warning).

    A built-in platform always wins; between two plugins, the one that loads first (by
    entry-point name, then distribution) does.

    Attributes:
        platform: the platform name both register.
        plugin: the entry-point (or object) name of the plugin left out.
        distribution: the distribution that provides it, when known.
        kept_plugin: the plugin whose class the registry uses for ``platform``.
        kept_distribution: its distribution, when known.
        kept_builtin: whether the kept one is socialkit's own (built-in) platform.
    """

    platform: str
    plugin: str
    distribution: str | None
    kept_plugin: str
    kept_distribution: str | None
    kept_builtin: bool = False

    @property
    def message(self) -> str:
        """One line naming the platform, both plugins and their distributions."""
        left = f"plugin {self.plugin!r} ({self.distribution or '?'})"
        kept = f"plugin {self.kept_plugin!r} ({self.kept_distribution or '?'})"
        if self.kept_builtin:
            return (
                f"platform {self.platform!r} is built into socialkit ({kept}); {left} also "
                f"registers {self.platform!r} and is left out for it: rename its platform, or "
                "uninstall it"
            )
        return (
            f"platform {self.platform!r} is registered by two plugins, {kept} and {left}; "
            f"{self.kept_plugin!r} is kept (it loads first), {self.plugin!r} is left out for "
            "it: uninstall one, or leave one out with SOCIALKIT_DISABLED_PLUGINS"
        )


def _split_env(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


class Registry:
    """The plugins of one process and the platforms they registered.

    Most code uses the process-wide :func:`get_registry`. Tests build their own::

        registry = Registry(load_entry_points=False, plugins=[my_plugin_module])

    Args:
        load_entry_points: load the ``socialkit`` entry-point group (honouring
            ``SOCIALKIT_LOAD_PLUGINS`` and ``SOCIALKIT_DISABLED_PLUGINS``).
        plugins: extra plugin objects (modules) to register directly.
    """

    def __init__(self, *, load_entry_points: bool = True, plugins: Iterable[object] = ()) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self._platforms: dict[str, PluginInfo] = {}
        self._instances: dict[str, Platform] = {}
        self._lock = threading.Lock()
        self.failures: list[PluginFailure] = []
        # Two plugins registering one platform name: the one kept and the one left out.
        self.clashes: list[PluginClash] = []
        # A platform that loaded, but whose capabilities promise a method it leaves to
        # Platform's default (delete=True without delete()).
        self.capability_warnings: list[str] = []
        # A name in SOCIALKIT_LOAD_PLUGINS / _DISABLED_PLUGINS that matches no entry point:
        # a typo there silently loads nothing (or disables nothing).
        self.selection_warnings: list[str] = []
        if load_entry_points:
            self._load_entry_points()
        for plugin in plugins:
            name = getattr(plugin, "__name__", None) or repr(plugin)
            self._register_plugin(plugin, name, None, None)

    # -- loading ---------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        only = _split_env("SOCIALKIT_LOAD_PLUGINS")
        disabled = _split_env("SOCIALKIT_DISABLED_PLUGINS") or set()
        # Built-in platforms first, so that no plugin takes their names; then the others in
        # an order that does not depend on how the environment lists them.
        found = sorted(entry_points(group=hookspecs.PROJECT_NAME), key=_load_order)
        self._check_selection(only, disabled, [ep.name for ep in found])
        for ep in found:
            if (only is not None and ep.name not in only) or ep.name in disabled:
                continue
            dist = ep.dist.name if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            try:
                plugin = self._load(ep)
            except Exception as exc:
                self._fail(ep.name, dist, "import", exc)
                continue
            self._register_plugin(plugin, ep.name, dist, version, builtin=_builtin(ep))

    def _check_selection(self, only: set[str] | None, disabled: set[str], names: list[str]) -> None:
        """Warn about each name the two variables give that no entry point has (in the
        ``socialkit`` group or the ``socialkit.commands`` one, which honours them too)."""
        commands = [ep.name for ep in entry_points(group=hookspecs.COMMANDS_GROUP)]
        known = {*names, *commands}
        for variable, chosen in (
            ("SOCIALKIT_LOAD_PLUGINS", only or set()),
            ("SOCIALKIT_DISABLED_PLUGINS", disabled),
        ):
            unknown = sorted(chosen - known)
            if not unknown:
                continue
            if chosen is disabled:
                effect = "so nothing is disabled by that name"
            elif chosen & known:
                effect = "so only the others load"
            else:
                effect = "so no plugin loads, not even the built-in feed"
            message = (
                f"{variable} names {', '.join(unknown)}, which no installed plugin has, {effect} "
                f"(installed entry points: {', '.join(sorted(known)) or 'none'})"
            )
            self.selection_warnings.append(message)
            log.warning("%s", message)

    @staticmethod
    def _load(ep: EntryPoint) -> Any:
        return ep.load()

    def _register_plugin(
        self,
        plugin: object,
        name: str,
        dist: str | None,
        version: str | None,
        *,
        builtin: bool = False,
    ) -> None:
        found: list[type[Platform]] = []
        if self.manager.is_registered(plugin):
            return
        try:
            self.manager.register(plugin, name=self._free_name(name, dist))
            hook_problem = self._hook_problem(plugin)
            if hook_problem is not None:
                raise PluginError(name, hook_problem, distribution=dist)
            caller = self.manager.subset_hook_caller("register_platforms", remove_plugins=[])
            impls = [i for i in caller.get_hookimpls() if i.plugin is plugin]
            offered = {"register": found.append}
            for impl in impls:
                impl.function(**{arg: offered[arg] for arg in impl.argnames if arg in offered})
        except Exception as exc:
            self._fail(name, dist, "register", exc)
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            return
        for cls in found:
            problem = _contract_problem(cls)
            if problem is not None:
                self._fail(name, dist, "contract", PluginError(name, problem, distribution=dist))
                continue
            info = PluginInfo(
                name=cls.name,
                platform=cls,
                plugin=name,
                distribution=dist,
                version=version,
                builtin=builtin,
            )
            other = self._platforms.get(cls.name)
            if other is not None and other.platform is not cls:
                if other.plugin == name and other.distribution == dist:
                    self._fail(
                        name,
                        dist,
                        "register",
                        PluginError(
                            name,
                            f"registers two classes as platform {cls.name!r}, "
                            f"{other.platform.__qualname__} and {cls.__qualname__}; the first "
                            "is kept",
                            distribution=dist,
                        ),
                    )
                    continue
                if builtin and not other.builtin:
                    self._clash(kept=info, left_out=other)
                    self._instances.pop(cls.name, None)
                else:
                    self._clash(kept=other, left_out=info)
                    continue
            self._platforms[cls.name] = info
            self._check_capabilities(cls, name, dist)

    def _free_name(self, name: str, dist: str | None) -> str:
        """A name pluggy has not given out: two distributions may both have an entry point
        called ``name`` (their platforms then clash, or not; the plugins must both load)."""
        candidate = name
        for n in itertools.count(2):
            if self.manager.get_plugin(candidate) is None:
                return candidate
            candidate = f"{name} ({dist or '?'})" if n == 2 else f"{name} ({dist or '?'}, {n})"
        raise AssertionError("unreachable")  # pragma: no cover

    def _clash(self, *, kept: PluginInfo, left_out: PluginInfo) -> None:
        clash = PluginClash(
            platform=kept.name,
            plugin=left_out.plugin,
            distribution=left_out.distribution,
            kept_plugin=kept.plugin,
            kept_distribution=kept.distribution,
            kept_builtin=kept.builtin,
        )
        self.clashes.append(clash)
        log.warning("%s", clash.message)

    def _check_capabilities(self, cls: type[Platform], plugin: str, dist: str | None) -> None:
        """Report (not refuse) capabilities that promise a method the class lacks: the
        platform still publishes, but the engine would offer what it cannot do."""
        for problem in undelivered_capabilities(cls):
            message = f"plugin {plugin!r} ({dist or '?'}), platform {cls.name!r}: {problem}"
            self.capability_warnings.append(message)
            log.warning("%s", message)

    def _hook_problem(self, plugin: object) -> str | None:
        """Why ``plugin`` cannot work as registered: pluggy alone would load it silently."""
        specs = sorted(
            name for name, caller in vars(self.manager.hook).items() if caller.spec is not None
        )
        callers = self.manager.get_hookcallers(plugin) or []
        for caller in callers:
            close = difflib.get_close_matches(caller.name, specs, n=1) if not caller.spec else []
            if close:
                return (
                    f"{caller.name}() is not a socialkit hook, so it is never called; "
                    f"did you mean {close[0]}()?"
                )
        if callers:
            return None
        if isinstance(plugin, type) and issubclass(plugin, Platform):
            return (
                f"it is the platform class {plugin.__qualname__}; a plugin is the module whose "
                "@socialkit.hookimpl register_platforms(register) registers it (the entry "
                "point names that module)"
            )
        unmarked = [spec for spec in specs if callable(getattr(plugin, spec, None))]
        if unmarked:
            return (
                f"{unmarked[0]}() is not decorated with @socialkit.hookimpl, so it is never called"
            )
        return (
            "it has no function decorated with @socialkit.hookimpl (such as "
            "register_platforms), so it adds nothing"
        )

    def _fail(self, plugin: str, dist: str | None, stage: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        failure = PluginFailure(
            plugin=plugin,
            distribution=dist,
            stage=stage,
            error=message,
            detail="".join(traceback.format_exception(exc)),
        )
        self.failures.append(failure)
        log.warning("plugin %r (%s) skipped at %s: %s", plugin, dist or "?", stage, message)

    def register(
        self, platform: type[Platform], *, plugin: str = "<direct>", replace: bool = False
    ) -> None:
        """Register one platform class directly (tests, applications with private adapters).

        Registering the same class again changes nothing. Another class under a name that
        is taken is refused unless ``replace=True`` says it is meant (an application's own
        subclass of a plugin's adapter, a test double): silently swapping the adapter that
        publishes for an account would be a surprise.

        Args:
            platform: the :class:`Platform` subclass.
            plugin: the name shown as its source (``socialkit platforms``).
            replace: put ``platform`` in place of another class registered under its name.

        Raises:
            PluginError: the class does not match the contract, or its name is taken by
                another class and ``replace`` is false.
        """
        problem = _contract_problem(platform)
        if problem is not None:
            raise PluginError(plugin, problem)
        with self._lock:
            current = self._platforms.get(platform.name)
            if current is not None and current.platform is platform:
                return
            if current is not None and not replace:
                raise PluginError(
                    plugin,
                    f"platform {platform.name!r} is already provided by "
                    f"{current.platform.__qualname__} from {current.plugin!r}; "
                    "pass replace=True to put another class in its place",
                )
            self._platforms[platform.name] = PluginInfo(
                name=platform.name,
                platform=platform,
                plugin=plugin,
                distribution=None,
                version=None,
            )
            self._instances.pop(platform.name, None)
        self._check_capabilities(platform, plugin, None)

    # -- lookup ----------------------------------------------------------------------------

    @property
    def platforms(self) -> dict[str, PluginInfo]:
        """Registered platforms by name."""
        return dict(sorted(self._platforms.items()))

    def names(self) -> list[str]:
        """Registered platform names, sorted."""
        return sorted(self._platforms)

    def info(self, name: str) -> PluginInfo:
        """Where platform ``name`` came from; :class:`UnknownPlatform` if absent."""
        try:
            return self._platforms[name]
        except KeyError:
            raise UnknownPlatform(name, self.names()) from None

    def platform(self, name: str) -> Platform:
        """The (shared) adapter instance for platform ``name``."""
        with self._lock:
            instance = self._instances.get(name)
            if instance is None:
                instance = self._instances[name] = self.info(name).platform()
            return instance

    @property
    def hook(self) -> Any:
        """pluggy's hook relay, for notification hooks (untyped; prefer the typed helpers)."""
        return self.manager.hook

    def add_hookspecs(self, module: ModuleType | type) -> None:
        """Add hook specifications from another layer (the engine's notifications)."""
        self.manager.add_hookspecs(module)

    def register_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object (a module with hook implementations) at run time."""
        self._register_plugin(
            plugin, name or str(getattr(plugin, "__name__", repr(plugin))), None, None
        )


def _builtin(ep: EntryPoint) -> bool:
    """Whether ``ep`` is one of socialkit's own (its distribution is socialkit's)."""
    return ep.dist is not None and _normalized(ep.dist.name) == _BUILTIN_DISTRIBUTION


def _normalized(distribution: str) -> str:
    """A distribution name as PEP 503 compares it (``Socialkit_Engine`` is ``socialkit-engine``)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _load_order(ep: EntryPoint) -> tuple[bool, str, str, str]:
    dist = ep.dist.name if ep.dist is not None else ""
    return (not _builtin(ep), ep.name, _normalized(dist), ep.value)


def _contract_problem(cls: object) -> str | None:
    if isinstance(cls, Platform):
        return f"{cls!r} is an instance; register the class, register({type(cls).__name__})"
    if not isinstance(cls, type) or not issubclass(cls, Platform):
        return f"{cls!r} is not a socialkit.Platform subclass"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not PLATFORM_NAME.fullmatch(name):
        # The pattern of Post.overrides keys: a name outside it could never get an override.
        return (
            f"{cls.__name__}.name must be a lower-case letter followed by lower-case letters, "
            f"digits, '_' or '-', at most 40 characters, like 'mastodon' (got {name!r})"
        )
    contract = getattr(cls, "contract", None)
    if not isinstance(contract, int):
        return f"{cls.__name__}.contract must be an int (socialkit implements {CONTRACT})"
    if not CONTRACT_MIN <= contract <= CONTRACT:
        return (
            f"{cls.__name__} implements adapter contract {contract}; this socialkit supports "
            f"{CONTRACT_MIN}..{CONTRACT}"
        )
    if not isinstance(getattr(cls, "capabilities", None), Capabilities):
        return f"{cls.__name__}.capabilities must be a socialkit.Capabilities instance"
    if cls.publish is Platform.publish:
        return f"{cls.__name__} does not implement publish()"
    for method in _ASYNC_METHODS:
        if _plain_function(getattr(cls, method, None)):
            return (
                f"{cls.__name__}.{method}() must be a coroutine function (async def): "
                "the engine awaits it"
            )
    return None


_ASYNC_METHODS = (
    "publish",
    "delete",
    "fetch_metrics",
    "find_published",
    "refresh_credentials",
    "verify_account",
    "resolve_capabilities",
)
"""The adapter methods the engine awaits (see :class:`Platform`)."""


def _plain_function(method: object) -> bool:
    """Whether ``method`` is certainly not awaitable: not callable, or a plain ``def``
    even unwrapped.

    Other callables (a decorator's sync wrapper of an ``async def``, a mock) are given the
    benefit of the doubt.
    """
    if inspect.isfunction(method):
        return not (
            inspect.iscoroutinefunction(method)
            or inspect.iscoroutinefunction(inspect.unwrap(method))
        )
    return not callable(method)


_registry: Registry | None = None
_registry_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry, loading plugins on first use."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = Registry()
        return _registry


def reset_registry(registry: Registry | None = None) -> None:
    """Replace the process-wide registry (``None``: load again on next use). For tests."""
    global _registry
    with _registry_lock:
        _registry = registry
