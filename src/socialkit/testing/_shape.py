"""Standard tests: the adapter class itself, its capabilities, and the guard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialkit.models.metrics import METRIC_FIELDS
from socialkit.platforms.base import AccountIdentity, undelivered_capabilities
from socialkit.platforms.capabilities import Capabilities
from socialkit.platforms.registry import Registry
from socialkit.testing._base import FEATURES, ContractBase
from socialkit.testing._guard import standard, standard_violations

if TYPE_CHECKING:
    from socialkit.testing.harness import Harness


class ShapeTests(ContractBase):
    @standard()
    def test_platform_matches_the_contract(self) -> None:
        """The registry accepts the class: a lower-case name, a supported contract number,
        Capabilities, and publish()."""
        registry = Registry(load_entry_points=False)
        registry.register(self.platform, plugin="socialkit.testing")
        assert isinstance(registry.platform(self.platform.name), self.platform)

    @standard()
    def test_capabilities_are_data(self) -> None:
        """Capabilities survive a JSON round trip and name only known metrics."""
        capabilities = self.platform.capabilities
        again = Capabilities.model_validate_json(capabilities.model_dump_json())
        assert again == capabilities, "capabilities changed in a JSON round trip"
        unknown = sorted(set(capabilities.metrics) - set(METRIC_FIELDS))
        assert not unknown, (
            f"capabilities.metrics names {unknown}, which MetricSnapshot does not have "
            f"(known: {', '.join(METRIC_FIELDS)})"
        )

    @standard()
    def test_declared_capabilities_have_their_methods(self) -> None:
        """What the capabilities promise, the adapter implements: delete, metrics, lookup.

        Platform's defaults cannot delete, report no counts and cannot look for a post;
        capabilities that say otherwise switch on standard tests that can only fail.
        """
        missing = undelivered_capabilities(self.platform)
        assert not missing, "; ".join(missing)

    @standard()
    def test_capability_switches_agree_with_the_adapter(self) -> None:
        """A switch set on the test class matches what the adapter declares."""
        wrong = []
        for switch, declared, where in FEATURES.values():
            value = getattr(type(self), switch)
            if value is not None and bool(value) != declared(self.platform):
                wrong.append(
                    f"{switch} = {value} but the adapter says {not value} ({where}); "
                    "fix the adapter, or replace the affected tests with @override('why')"
                )
        assert not wrong, "; ".join(wrong)

    @standard()
    def test_standard_tests_are_intact(self) -> None:
        """No standard test was deleted, or overridden without @override('why')."""
        problems = standard_violations(type(self))
        assert not problems, "; ".join(problems)

    @standard()
    async def test_resolve_capabilities_returns_capabilities(self, h: Harness) -> None:
        """resolve_capabilities() gives Capabilities for the account and publishes nothing."""
        before = h.published()
        resolved = await h.platform.resolve_capabilities(h.context())
        assert isinstance(resolved, Capabilities), (
            f"resolve_capabilities() returned {type(resolved).__name__}, not Capabilities"
        )
        assert h.published() == before, "resolve_capabilities() changed the platform"

    @standard()
    async def test_verify_account_says_who_the_account_is(self, h: Harness) -> None:
        """verify_account() returns None (not supported) or the account's stable identity."""
        before = h.published()
        identity = await h.platform.verify_account(h.context())
        if identity is not None:
            assert isinstance(identity, AccountIdentity)
            assert identity.platform_account_id, "platform_account_id is empty"
            assert identity.handle, "handle is empty"
        assert h.published() == before, "verify_account() changed the platform"
