"""Small, pure helpers for the benchmark's numbers: medians, percentiles,
ratios, epoch timings and the time a training needed to reach an accuracy.

No TensorFlow and no timing here, so ``tests/test_bench.py`` can check the
maths on tiny lists. Nothing here decides what is measured; ``bench.__main__``
does.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence


def median(values: Sequence[float]) -> float | None:
    """The median, or ``None`` for no values (a part that was skipped)."""
    values = [float(v) for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100), linear between the closest ranks, as
    ``numpy.percentile`` does by default; ``None`` for no values."""
    ordered = sorted(float(v) for v in values if v is not None)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or the
    denominator is not positive (a ratio from a part that did not run)."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return float(numerator) / float(denominator)


def epoch_summary(epoch_seconds: Sequence[float]) -> dict:
    """Per-epoch seconds -> the figures the report quotes.

    The first epoch also traces the graph and warms caches, so the steady
    figure is the median of the epochs after it (the only epoch when there is
    just one, and then ``steady_from_epoch`` says so).
    """
    seconds = [float(s) for s in epoch_seconds]
    if not seconds:
        return {"epochs": 0, "first": None, "median_after_first": None}
    steady = seconds[1:] or seconds
    return {
        "epochs": len(seconds),
        "first": seconds[0],
        "median_after_first": statistics.median(steady),
        "steady_from_epoch": 2 if len(seconds) > 1 else 1,
        "total": sum(seconds),
    }


def cumulative(values: Sequence[float]) -> list[float]:
    """Running totals: epoch seconds -> seconds from the start to each epoch's end."""
    total, out = 0.0, []
    for value in values:
        total += float(value)
        out.append(total)
    return out


def differences(totals: Sequence[float]) -> list[float]:
    """Running totals -> the steps between them (the inverse of ``cumulative``)."""
    out, previous = [], 0.0
    for total in totals:
        out.append(float(total) - previous)
        previous = float(total)
    return out


def best_epoch(accuracies: Sequence[float]) -> tuple[int, float] | None:
    """``(1-based epoch, accuracy)`` of the first epoch with the highest accuracy."""
    if not accuracies:
        return None
    best = max(accuracies)
    return list(accuracies).index(best) + 1, float(best)


def time_to_reach(
    accuracies: Sequence[float], elapsed: Sequence[float], target: float
) -> tuple[int, float] | None:
    """``(1-based epoch, seconds)`` of the first epoch whose accuracy is at least
    ``target``, with ``elapsed`` the seconds from the start to each epoch's end;
    ``None`` when no epoch got there."""
    for epoch, (accuracy, seconds) in enumerate(zip(accuracies, elapsed), start=1):
        if accuracy >= target:
            return epoch, float(seconds)
    return None


def repeat_timed(
    work: Callable[[], object], repeats: int, warmup: int = 0
) -> list[float]:
    """Seconds of ``repeats`` calls of ``work`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        work()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return seconds
