"""Two distribution tails, in pure Python (the package imports nothing heavier than pydantic).

- :func:`poisson_upper_tail_log`: ``log P(X ≥ k)`` for ``X ~ Poisson(λ)``, by summing the
  probability mass in log space (no underflow: a tail of ``1e-400`` is still a number).
- :func:`student_t_quantile`: the ``q`` quantile of Student's t with a whole number of
  degrees of freedom, from the closed-form distribution function (Abramowitz and Stegun
  26.7.3 and 26.7.4) and bisection.
"""

from __future__ import annotations

import math

__all__ = ["poisson_upper_tail_log", "student_t_quantile"]

_RELATIVE = 1e-17  # below a double's precision: adding more terms changes nothing


def poisson_upper_tail_log(k: int, lam: float) -> float:
    """``log P(X ≥ k)`` for ``X ~ Poisson(lam)``; ``-inf`` when the tail is 0."""
    if k <= 0:
        return 0.0
    if lam <= 0:
        return -math.inf
    if k > lam:
        # P(X = j) falls for every j ≥ k > λ: sum from k up, relative to P(X = k).
        log_first = -lam + k * math.log(lam) - math.lgamma(k + 1)
        total = term = 1.0
        j = k
        while term > total * _RELATIVE:
            j += 1
            term *= lam / j
            total += term
        return log_first + math.log(total)
    # k ≤ λ: the tail is large (about a half or more); 1 − P(X ≤ k − 1), summed from
    # k − 1 down, where the terms fall again.
    log_last = -lam + (k - 1) * math.log(lam) - math.lgamma(k)
    total = term = 1.0
    for j in range(k - 1, 0, -1):
        term *= j / lam
        total += term
        if term <= total * _RELATIVE:
            break
    below = math.exp(log_last) * total
    return math.log1p(-below) if below < 1 else -math.inf


def _t_two_sided(t: float, df: int) -> float:
    """``P(|T| ≤ t)`` for Student's t with ``df`` degrees of freedom (``t ≥ 0``)."""
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    if df % 2:
        series, term = 0.0, math.cos(theta)
        for i in range(1, (df - 1) // 2 + 1):
            series += term
            term *= cos2 * (2 * i) / (2 * i + 1)
        return (2 / math.pi) * (theta + math.sin(theta) * series) if df > 1 else 2 * theta / math.pi
    series, term = 0.0, 1.0
    for i in range(1, df // 2 + 1):
        series += term
        term *= cos2 * (2 * i - 1) / (2 * i)
    return math.sin(theta) * series


def student_t_quantile(q: float, df: int) -> float:
    """The ``q`` quantile of Student's t with ``df ≥ 1`` degrees of freedom, ``0.5 ≤ q < 1``."""
    target = 2 * q - 1  # P(|T| ≤ t) at the quantile
    low, high = 0.0, 1.0
    while _t_two_sided(high, df) < target:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if _t_two_sided(middle, df) < target:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return (low + high) / 2
