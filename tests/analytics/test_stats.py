"""The distribution tails behind spike alerts and best time to post, against exact sums."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialkit.analytics._stats import poisson_upper_tail_log, student_t_quantile


def _exact_tail(k: int, lam: Fraction) -> float:
    """P(X >= k) as 1 - P(X < k), each term an exact fraction but e^-λ."""
    below = sum(lam**j / math.factorial(j) for j in range(k))
    return 1 - math.exp(-lam) * float(below)


@given(st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=400))
def test_the_poisson_tail_matches_the_sum_of_its_terms(k: int, tenths: int) -> None:
    lam = Fraction(tenths, 10)
    exact = _exact_tail(k, lam)
    if exact > 1e-6:  # 1 - (sum) loses digits below that; the log-space sum does not
        assert math.exp(poisson_upper_tail_log(k, float(lam))) == pytest.approx(exact, rel=1e-9)


def test_the_poisson_tail_stays_a_number_far_below_a_float() -> None:
    # P(X >= 6000 | 300) is about 10**-5333: exp() underflows, the log does not
    assert poisson_upper_tail_log(6000, 300.0) == pytest.approx(-12279.611, rel=1e-6)
    assert poisson_upper_tail_log(60, 3.0) == pytest.approx(math.log(2.66747373748e-55), rel=1e-9)
    assert poisson_upper_tail_log(0, 5.0) == 0.0
    assert poisson_upper_tail_log(3, 0.0) == -math.inf


@pytest.mark.parametrize(
    ("q", "df", "table"),
    [(0.9, 1, 3.0777), (0.95, 2, 2.9200), (0.95, 3, 2.3534), (0.9, 9, 1.3830), (0.975, 10, 2.2281)],
)
def test_student_t_quantiles_match_the_tables(q: float, df: int, table: float) -> None:
    assert student_t_quantile(q, df) == pytest.approx(table, abs=5e-5)
