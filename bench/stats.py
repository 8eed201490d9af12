"""Statistics of the measured samples, one definition for every benchmark: percentiles by
linear interpolation (numpy's default), missing values skipped, NaN when there are none."""

from __future__ import annotations

from collections.abc import Iterable
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
