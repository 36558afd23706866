"""The benchmark's label, as one function: what happened to a video's views over the next ~24 h.

``infra/data/benchmark/README.md`` defines it and every labelled row Miles makes uses this module:
``miles export-dataset`` (its own snapshots -> training rows) and the live accuracy record (a kept
score settled by the snapshot that arrives about a day later). The thresholds are the benchmark's
train-split 80th percentiles; recomputing the label from the dev file's counts and timestamps with
them reproduces every ``is_viral`` and ``is_viral_rel`` cell (``tests/unit/accuracy/test_outcomes.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

VIRAL_VELOCITY_THRESHOLD = 26247.7
"""Views/hour: the benchmark's ``is_viral`` cut (80th percentile of its train split)."""
VIRAL_LOG_GROWTH_THRESHOLD = 0.8413
"""``ln(next/now views)``: the benchmark's ``is_viral_rel`` cut."""


@dataclass(frozen=True)
class OutcomeWindow:
    """Which later snapshot labels an earlier one: between ``min_hours`` and ``max_hours`` after it.

    The benchmark's next-day snapshots came 22.1-26.5 h after t0 (val split); 18-30 h keeps a
    daily scrape that runs a few hours early or late, and leaves out the 1 h and 48 h re-snapshots.
    """

    min_hours: float = 18.0
    max_hours: float = 30.0
    target_hours: float = 24.0

    def contains(self, hours: float) -> bool:
        return self.min_hours <= hours <= self.max_hours


DEFAULT_WINDOW = OutcomeWindow()


@dataclass(frozen=True)
class Outcome:
    """The label of one (earlier, later) pair of view counts, exactly as the benchmark defines it."""

    hours_between: float
    velocity_views_per_hour: float
    log_growth: float | None
    """``ln(later/earlier views)``; None when either count is 0 (undefined)."""

    @property
    def is_viral(self) -> bool:
        return self.velocity_views_per_hour >= VIRAL_VELOCITY_THRESHOLD

    @property
    def is_viral_rel(self) -> bool:
        """Breakout: views grew at least e^0.8413 (~2.3x); False when the growth is undefined."""
        return self.log_growth is not None and self.log_growth >= VIRAL_LOG_GROWTH_THRESHOLD


def hours_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 3600.0


def outcome(views_before: int, observed_before: datetime, views_after: int, observed_after: datetime) -> Outcome:
    """The label of views going from ``views_before`` to ``views_after`` between the two moments."""
    hours = hours_between(observed_before, observed_after)
    if hours <= 0:
        raise ValueError("the outcome snapshot must be later than the scored one")
    growth = math.log(views_after / views_before) if views_before > 0 and views_after > 0 else None
    return Outcome(hours, (views_after - views_before) / hours, growth)
