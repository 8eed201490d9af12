"""Statistics of the measured samples, one definition for every benchmark: percentiles by
linear interpolation (numpy's default), missing values skipped, NaN when there are none; and a
trend over time (least-squares slope with its confidence interval, `trend`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


def pct(values: Iterable[float | None], q: float) -> float:
    """The `q`th percentile of the values that are present; NaN for none."""
    present = [v for v in values if v is not None]
    return float(np.percentile(present, q)) if present else float("nan")


def median(values: Iterable[float | None]) -> float:
    return pct(values, 50)


def ms(seconds: float) -> str:
    """Seconds as whole milliseconds; "n/a" for NaN (a figure that could not be measured)."""
    return "n/a" if seconds != seconds else f"{seconds * 1000:.0f}"


def both(values: Iterable[float | None]) -> str:
    """ "p50 / p95" in milliseconds."""
    kept = list(values)
    return f"{ms(pct(kept, 50))} / {ms(pct(kept, 95))}"


@dataclass
class Timing:
    """Latency samples of one kind of call, in seconds."""

    name: str
    samples: list[float]

    @property
    def mean_ms(self) -> float:
        return 1000 * float(np.mean(self.samples)) if self.samples else float("nan")

    def ms(self, percentile: float) -> float:
        return 1000 * pct(self.samples, percentile)


# --- a trend and how sure it is -----------------------------------------------------------------


def t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with `df` degrees of freedom (the finite series of Abramowitz
    and Stegun 26.7.3-4, exact for whole degrees of freedom)."""
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    total = term = 1.0
    if df % 2 == 0:
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        return math.sin(theta) * total
    if df == 1:
        return 2 * theta / math.pi
    for k in range(1, (df - 1) // 2):
        term *= c2 * (2 * k) / (2 * k + 1)
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)


def t_quantile(level: float, df: int) -> float:
    """The t with P(|T| <= t) = `level` (1.96 and up for 0.95), by bisection."""
    low, high = 0.0, 1.0
    while t_two_sided(high, df) < level:
        low, high = high, 2 * high
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if t_two_sided(mid, df) < level else (low, mid)
    return (low + high) / 2


@dataclass(frozen=True)
class Trend:
    """A least-squares line's slope (y units per x unit) and its confidence interval."""

    slope: float
    low: float  # -inf / inf: too few independent samples to bound it
    high: float
    samples: int
    effective_samples: float  # after the correction for autocorrelated residuals

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def flat(self) -> bool:
        """No slope distinguishable from zero: the interval holds 0 (unbounded, it holds
        anything: see `bounded`)."""
        return self.low <= 0 <= self.high

    def scaled(self, factor: float) -> Trend:
        """In other units (bytes per second to MB per hour: 3600 / 1e6)."""
        return Trend(self.slope * factor, self.low * factor, self.high * factor, self.samples,
                     self.effective_samples)  # fmt: skip


def trend(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> Trend:
    """Ordinary least squares of y on x, and the `level` confidence interval of its slope from
    Student's t. Samples of a time series are not independent (memory moves in steps and stays
    there), so the residuals' lag-1 autocorrelation r shrinks the sample count to
    n (1 - r) / (1 + r) for the interval (Santer et al. 2000, J. Geophys. Res. 105(D6):7337):
    without it, any step reads as a significant slope."""
    n = len(x)
    if n < 3:
        return Trend(float("nan"), -math.inf, math.inf, n, float(n))
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = xs - xs.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ (ys - ys.mean())) / sxx
    residuals = ys - ys.mean() - slope * dx
    sse = float(residuals @ residuals)
    r1 = float(residuals[1:] @ residuals[:-1]) / sse if sse > 0 else 0.0
    effective = n * (1 - r1) / (1 + r1) if r1 > 0 else float(n)
    df = math.floor(effective - 2)
    if df < 1:
        return Trend(slope, -math.inf, math.inf, n, effective)
    half = t_quantile(level, df) * math.sqrt(sse / (effective - 2) / sxx)
    return Trend(slope, slope - half, slope + half, n, effective)
