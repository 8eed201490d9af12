"""The soak benchmark's leak check (`bench/stats.py`): Student's t quantiles and the slope of a
least-squares line with its confidence interval, on series whose answer is known."""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location(
    "bench_stats", Path(__file__).resolve().parents[2] / "bench" / "stats.py"
)
assert _spec is not None and _spec.loader is not None
stats = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = stats  # its dataclasses look their module up
_spec.loader.exec_module(stats)

# Two-sided 95% quantiles of Student's t, from the printed tables.
T_TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 5: 2.571, 10: 2.228, 30: 2.042, 120: 1.980}

SECONDS = np.arange(0, 300, 2.0)  # five minutes sampled every 2 s


@pytest.mark.parametrize(("df", "expected"), sorted(T_TABLE.items()))
def test_t_quantile_matches_the_tables(df: int, expected: float) -> None:
    assert stats.t_quantile(0.95, df) == pytest.approx(expected, abs=1e-3)


def test_a_steady_leak_is_found_and_bounded() -> None:
    """3 kB/s of growth under 200 kB of noise: the interval leaves out 0 and holds the truth."""
    noise = np.random.default_rng(7).normal(0, 2e5, SECONDS.size)
    found = stats.trend(SECONDS, 1e8 + 3e3 * SECONDS + noise)
    assert not found.flat
    assert found.low < 3e3 < found.high


def test_flat_memory_with_noise_has_no_slope() -> None:
    noise = np.random.default_rng(8).normal(0, 2e5, SECONDS.size)
    assert stats.trend(SECONDS, 1e8 + noise).flat


def test_one_step_is_not_read_as_a_slope() -> None:
    """Memory that rose once and stayed: the plain least-squares interval would exclude 0; the
    residuals' autocorrelation leaves few independent samples, and the interval holds 0."""
    noise = np.random.default_rng(9).normal(0, 2e4, SECONDS.size)
    memory = np.where(SECONDS < 150, 1e8, 1.02e8) + noise
    found = stats.trend(SECONDS, memory)
    assert found.slope > 0
    assert found.effective_samples < SECONDS.size / 10
    assert found.flat


def test_too_few_samples_leave_the_slope_unbounded() -> None:
    found = stats.trend([0.0, 1.0], [1.0, 2.0])
    assert (found.low, found.high) == (-math.inf, math.inf)
    assert not found.bounded


def test_scaled_to_mb_per_hour() -> None:
    found = stats.trend(SECONDS, 1e8 + 1e3 * SECONDS).scaled(3600 / 1e6)
    assert found.slope == pytest.approx(3.6)
    assert not found.flat
