"""``GET /model/accuracy``: settled scores -> per model version, regime and cohort, the metrics of ``miles evaluate``.

The numbers come from :func:`miles_core.accuracy.metrics.regime_metrics`, the function behind
``miles evaluate`` and the model card, on the same label (:mod:`miles_core.accuracy.outcomes`), so
a replay of the benchmark's val rows through the store answers with the AUROC and ECE that
``miles evaluate`` prints for them. Groups: each (model version, regime) once over every cohort
(``cohort: null``), and once per cohort the scrape recorded.

Scores of videos first seen while the model's training data was collected are left out and counted
apart: the model learned from those videos (``make run``'s catalog replays benchmark rows), so
numbers on them would flatter it. A live deployment scores videos newer than its model's data, so
this leaves nothing out there.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np
from pydantic import BaseModel, Field

from miles_core.accuracy.metrics import ECE_BINS, regime_metrics, reliability_table
from miles_core.accuracy.outcomes import DEFAULT_WINDOW, VIRAL_VELOCITY_THRESHOLD
from miles_core.config import DEFAULT_RETENTION_DAYS
from miles_core.observation import Regime
from miles_core.store import SettledScore

MAX_WINDOW_DAYS = DEFAULT_RETENTION_DAYS
"""A settled score holds YouTube's view counts, so it is kept no longer than the rest of YouTube's data."""
DEFAULT_WINDOW_DAYS = MAX_WINDOW_DAYS
LABEL_DEFINITION = (
    f"is_viral: views gained per hour between the scored stats and the first snapshot "
    f"{DEFAULT_WINDOW.min_hours:g}-{DEFAULT_WINDOW.max_hours:g} h later >= {VIRAL_VELOCITY_THRESHOLD:,.1f} "
    "(the benchmark's next-day label)"
)

EMPTY_NOTE = (
    "No score has met its outcome in this window yet: a score is counted once the same video is seen again "
    f"{DEFAULT_WINDOW.min_hours:g}-{DEFAULT_WINDOW.max_hours:g} h after the stats it was computed from."
)


def learned_until(last_training_day: str) -> datetime:
    """The end (exclusive) of the training population's last day (``population.json``'s ``last_charted``)."""
    return datetime.fromisoformat(last_training_day).replace(tzinfo=UTC) + timedelta(days=1)


class ReliabilityBin(BaseModel):
    """One of the ECE's equal-width probability bins (only bins holding scores are listed)."""

    lower: float = Field(description="Lowest probability of the bin.")
    upper: float = Field(description="Upper bound of the bin (exclusive, except 1.0).")
    n: int = Field(description="Settled scores whose probability fell in the bin.")
    mean_probability: float = Field(description="Their mean predicted probability.")
    observed_rate: float = Field(description="The share of them that went viral.")


class AccuracyGroup(BaseModel):
    """How right one model version has been in one regime (and cohort) over the window."""

    model_version: str
    regime: Regime = Field(
        description="`post_publish`: scores from a video's stats at its age then; `pre_publish`: the score of a "
        "newly seen video's text, category and timing alone."
    )
    cohort: str | None = Field(description="`top` or `fresh` as the scrape recorded it; null = every cohort together.")
    n: int = Field(description="Settled scores (a score paired with its next-day outcome).")
    positives: int = Field(description="How many of them went viral.")
    auroc: float | None = Field(description="Null while every outcome is the same class.")
    pr_auc: float | None = Field(description="Average precision (area under precision-recall); null with no positive.")
    brier: float | None = Field(description="Mean squared error of the probabilities.")
    ece: float | None = Field(description=f"Expected calibration error over {ECE_BINS} equal-width bins.")
    velocity_spearman: float | None = Field(description="Rank correlation of predicted and actual views/hour.")
    velocity_mae_log1p: float | None = Field(description="Mean absolute error of log1p(views/hour).")
    mean_age_hours: float | None = Field(description="The videos' mean age when scored (null: none known).")
    reliability: list[ReliabilityBin] = Field(
        description="The bins behind the ECE, lowest probability first: predicted against observed, bin by bin."
    )


class AccuracyReport(BaseModel):
    """Every settled score of the window, grouped; the page's "how right Miles has been"."""

    window_days: int
    since: datetime = Field(description="Scores settled at or after this moment are counted.")
    current_model_version: str = Field(description="The model this function serves now.")
    label: str = Field(description="What counts as an outcome, exactly as the benchmark defines it.")
    n: int = Field(description="Settled scores in the window, every group together; 0 = nothing to measure yet.")
    groups: list[AccuracyGroup] = Field(
        description="Newest model version first; per (model version, regime) one group over every cohort "
        "(`cohort: null`), then one per cohort. Empty when `n` is 0."
    )
    from_training_period: int = Field(
        default=0,
        description="Settled scores left out of `n`: videos first seen before the end of the model's training "
        "data (`learned_until`), which it learned from.",
    )
    learned_until: datetime | None = Field(default=None, description="Where the model's training data ends.")
    note: str | None = Field(description="Why there is nothing to measure yet, or what was left out.")


def _group(key: tuple[str, str, str | None], scores: list[SettledScore]) -> AccuracyGroup:
    labels = np.array([float(s.is_viral) for s in scores])
    probabilities = np.array([s.score.viral_probability for s in scores])
    true_log = np.array([math.log1p(max(s.velocity_views_per_hour, 0.0)) for s in scores])
    predicted_log = np.array([math.log1p(s.score.predicted_velocity_views_per_hour) for s in scores])
    metrics = regime_metrics(labels, probabilities, true_log, predicted_log)
    ages = [s.score.age_hours for s in scores if s.score.age_hours is not None]
    model_version, regime, cohort = key
    return AccuracyGroup(
        model_version=model_version,
        regime=Regime(regime),
        cohort=cohort,
        n=len(scores),
        positives=int(labels.sum()),
        auroc=metrics["auroc"],
        pr_auc=metrics["pr_auc"],
        brier=metrics["brier"],
        ece=metrics["ece"],
        velocity_spearman=metrics["velocity_spearman"],
        velocity_mae_log1p=metrics["velocity_mae_log1p"],
        mean_age_hours=round(sum(ages) / len(ages), 3) if ages else None,
        reliability=[ReliabilityBin.model_validate(row) for row in reliability_table(labels, probabilities)],
    )


def accuracy_report(
    settled: Iterable[SettledScore],
    *,
    window_days: int,
    since: datetime,
    current_model_version: str,
    learned_until: datetime | None = None,
) -> AccuracyReport:
    """Group the window's settled scores and measure each group (newest model version first).

    Scores observed before ``learned_until`` (the model's training data) are counted apart, not measured.
    """
    grouped: dict[tuple[str, str, str | None], list[SettledScore]] = defaultdict(list)
    total = learned = 0
    for item in settled:
        score = item.score
        if learned_until is not None and score.observed_at < learned_until:
            learned += 1
            continue
        total += 1
        grouped[(score.model_version, score.regime, None)].append(item)
        if score.cohort is not None:
            grouped[(score.model_version, score.regime, score.cohort)].append(item)
    latest: dict[str, datetime] = {}
    for (model_version, _, _), items in grouped.items():
        newest = max(item.settled_at for item in items)
        latest[model_version] = max(latest.get(model_version, newest), newest)
    order = sorted(grouped, key=lambda k: (-latest[k[0]].timestamp(), k[0], k[1], k[2] or ""))
    return AccuracyReport(
        window_days=window_days,
        since=since,
        current_model_version=current_model_version,
        label=LABEL_DEFINITION,
        n=total,
        groups=[_group(key, grouped[key]) for key in order],
        from_training_period=learned,
        learned_until=learned_until,
        note=_note(total, learned, learned_until),
    )


def _note(measured: int, learned: int, until: datetime | None) -> str | None:
    if not learned or until is None:
        return None if measured else EMPTY_NOTE
    left_out = (
        f"{learned} settled scores are of videos first seen before {until:%Y-%m-%d}, inside the data the model "
        "learned from, so they are left out: numbers on them would flatter it."
    )
    return left_out if measured else f"{left_out} {EMPTY_NOTE}"
