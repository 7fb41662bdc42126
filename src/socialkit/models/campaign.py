"""Campaigns: a goal, dates, a budget, UTM parameters and KPI targets."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from socialkit.models._base import SocialModel, require_aware

_CURRENCY = re.compile(r"[A-Z]{3}")


def iso_currency(value: str) -> str:
    """``value`` as an upper-case ISO 4217 code; ``ValueError`` naming it otherwise."""
    value = value.strip().upper()
    if not _CURRENCY.fullmatch(value):
        raise ValueError(f"currency must be an ISO 4217 code such as 'EUR' (got {value!r})")
    return value


class Objective(StrEnum):
    """What a campaign is for."""

    AWARENESS = "awareness"
    ENGAGEMENT = "engagement"
    TRAFFIC = "traffic"
    LEADS = "leads"
    CONVERSIONS = "conversions"
    SALES = "sales"
    FOLLOWERS = "followers"
    VIDEO_VIEWS = "video_views"
    OTHER = "other"


class Money(SocialModel):
    """An amount in one currency. Amounts are :class:`~decimal.Decimal`, never float.

    Floats are refused because ``0.1 + 0.2`` is not ``0.3``; pass a string
    (``"1500.00"``), an int or a Decimal.
    """

    amount: Decimal
    currency: str

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError(
                f"amount must be a Decimal, int or string, not float (got {value!r}); "
                f"write it as a string such as {str(value)!r}"
            )
        return value

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError(f"amount must be finite (got {value})")
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        return iso_currency(value)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class UtmParameters(SocialModel):
    """UTM parameters added to a campaign's links (``utm_source`` etc.)."""

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None

    def as_query(self) -> dict[str, str]:
        """The set parameters as ``{"utm_source": ..., ...}``."""
        return {f"utm_{key}": value for key, value in self if value}


KpiName = Literal[
    "engagement_rate_by_impressions",
    "engagement_rate_by_reach",
    "engagement_rate_by_followers",
    "click_through_rate",
    "negative_feedback_rate",
    "follower_growth_rate",
    "cost_per_engagement",
    "roi",
    "roas",
    "impressions",
    "reach",
    "engagements",
    "clicks",
    "followers",
]


MONEY_KPIS: frozenset[str] = frozenset({"cost_per_engagement"})
"""The KPIs whose value is an amount of money (a :class:`KpiTarget` may name its currency)."""


class KpiTarget(SocialModel):
    """A target for one KPI: reach ``value`` (at least, or at most).

    Attributes:
        kpi: the KPI or total.
        value: the target value (a fraction for rates; an amount for
            ``cost_per_engagement``).
        direction: ``at_least`` or ``at_most``.
        currency: for a KPI that is an amount of money (``cost_per_engagement``), the
            ISO 4217 currency of ``value``; a report whose cost is in another currency
            refuses to compare them. ``None`` compares the amount in whatever currency
            the cost is. Refused on other KPIs.
    """

    kpi: KpiName
    value: Decimal
    direction: Literal["at_least", "at_most"] = "at_least"
    currency: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        return str(value) if isinstance(value, float) else value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str | None) -> str | None:
        return None if value is None else iso_currency(value)

    @model_validator(mode="after")
    def _money_only(self) -> KpiTarget:
        if self.currency is not None and self.kpi not in MONEY_KPIS:
            raise ValueError(
                f"currency is only for a target on an amount of money "
                f"({', '.join(sorted(MONEY_KPIS))}); kpi {self.kpi!r} has none "
                f"(got currency {self.currency!r})"
            )
        return self

    def met_by(self, actual: Decimal | float | None) -> bool | None:
        """Whether ``actual`` meets the target; ``None`` when nothing was measured."""
        if actual is None:
            return None
        actual_d = Decimal(str(actual))
        return actual_d >= self.value if self.direction == "at_least" else actual_d <= self.value


class Campaign(SocialModel):
    """A campaign that posts belong to.

    Attributes:
        id: an opaque id (posts name it in ``Post.campaign``).
        name: for people.
        objective: what it is for.
        starts_at, ends_at: aware datetimes; ``ends_at`` after ``starts_at``.
        budget: total budget.
        utm: UTM parameters added to every link of the campaign's posts.
        kpi_targets: the numbers the team wants to reach.
        workspace: the tenant.
    """

    id: str
    name: str
    objective: Objective = Objective.ENGAGEMENT
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    budget: Money | None = None
    utm: UtmParameters | None = None
    kpi_targets: tuple[KpiTarget, ...] = ()
    workspace: str = "default"
    description: str | None = Field(default=None, max_length=5000)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return require_aware(value, info.field_name or "campaign dates")

    @model_validator(mode="after")
    def _ordered(self) -> Campaign:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError(
                f"ends_at ({self.ends_at.isoformat()}) must be after starts_at "
                f"({self.starts_at.isoformat()})"
            )
        return self
