from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from pydantic import ValidationError

import socialkit


def test_money_refuses_float_and_names_it() -> None:
    with pytest.raises(ValidationError, match="not float"):
        socialkit.Money(amount=0.1, currency="EUR")  # type: ignore[arg-type]
    money = socialkit.Money(amount="1500.10", currency="eur")
    assert money.amount == Decimal("1500.10")
    assert money.currency == "EUR"
    assert (money + socialkit.Money(amount=Decimal("0.90"), currency="EUR")).amount == Decimal(
        "1501.00"
    )
    with pytest.raises(ValueError, match="cannot add USD to EUR"):
        money + socialkit.Money(amount=1, currency="USD")


def test_money_currency_is_iso_4217_shaped() -> None:
    with pytest.raises(ValidationError, match="ISO 4217"):
        socialkit.Money(amount=1, currency="euro")


def test_campaign_dates_must_be_aware_and_ordered() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="must be after"):
        socialkit.Campaign(id="c", name="C", starts_at=start, ends_at=start)
    with pytest.raises(ValidationError, match="starts_at must be timezone-aware"):
        socialkit.Campaign(id="c", name="C", starts_at=datetime(2026, 12, 1))
    with pytest.raises(ValidationError, match="ends_at must be timezone-aware"):
        socialkit.Campaign(id="c", name="C", ends_at=datetime(2026, 12, 1))
    campaign = socialkit.Campaign(
        id="c",
        name="C",
        utm=socialkit.UtmParameters(source="mastodon", medium="social", campaign="spring"),
    )
    assert campaign.utm is not None
    assert campaign.utm.as_query() == {
        "utm_source": "mastodon",
        "utm_medium": "social",
        "utm_campaign": "spring",
    }


def test_account_validates_zone_id_and_refuses_secrets_in_settings() -> None:
    with pytest.raises(ValidationError, match="unknown IANA time zone 'Mars/Olympus'"):
        socialkit.Account(id="a", platform="feed", handle="h", timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="looks like a secret"):
        socialkit.Account(id="a", platform="feed", handle="h", settings={"access_token": "x"})
    with pytest.raises(ValidationError, match="id"):
        socialkit.Account(id="has space", platform="feed", handle="h")
    account = socialkit.Account(
        id="acme-fa",
        platform="feed",
        handle="acme",
        timezone="Asia/Tehran",
        posting_slots=[{"weekday": "sat", "time": "09:30"}],
    )
    assert account.posting_slots[0].weekday is socialkit.Weekday.SAT
    assert account.posting_slots[0].time == time(9, 30)
    assert account.zone.key == "Asia/Tehran"


def test_metric_snapshot_keeps_none_apart_from_zero() -> None:
    snap = socialkit.MetricSnapshot(
        platform="feed",
        account_id="a",
        collected_at=datetime(2026, 12, 1, tzinfo=UTC),
        likes=0,
        comments=None,
        shares=3,
    )
    assert snap.reported() == {"likes": 0, "shares": 3}
    assert snap.engagements == 3
    empty = socialkit.MetricSnapshot(
        platform="feed", account_id="a", collected_at=snap.collected_at
    )
    assert empty.engagements is None
    with pytest.raises(ValidationError):
        socialkit.MetricSnapshot(
            platform="feed", account_id="a", collected_at=snap.collected_at, likes=-1
        )


def test_credentials_never_show_their_values() -> None:
    creds = socialkit.Credentials().with_values({"access_token": "sk-very-secret-123"})
    for text in (repr(creds), str(creds), creds.model_dump_json(), f"{creds}"):
        assert "sk-very-secret-123" not in text
    assert creds.get("access_token") == "sk-very-secret-123"
    with pytest.raises(socialkit.CredentialsError, match="'refresh_token' is missing") as info:
        creds.require("refresh_token")
    assert "sk-very-secret-123" not in str(info.value)


def test_a_credentials_validation_error_does_not_show_the_value() -> None:
    with pytest.raises(ValidationError) as info:
        socialkit.Credentials(values={"access_token": ["sk-very-secret-123"]})
    assert "values.access_token" in str(info.value)
    assert "sk-very-secret-123" not in str(info.value)
