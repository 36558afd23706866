"""What each number of an answer means, in sentences a small channel can read.

The scores compare a video with the population the model learned from (large channels on the Most Popular
chart), so a number alone misleads: a predicted 4,000 views/hour is that population's typical first day,
not a 2,000-subscriber channel's, and "breakout 96 %" next to "score 11" reads as a contradiction unless
someone says that the two answer different questions. Every answer carries these sentences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from miles_core.observation import Regime

if TYPE_CHECKING:
    from miles_core.inference.predictor import Prediction

BREAKOUT_GROWTH = 2.3
"""``is_viral_rel``: views grow by at least e^0.8413 ~ 2.3x over the next ~24 h (benchmark README)."""
HIGH_BREAKOUT = 0.5
LOW_SCORE = 50.0


def _score(prediction: Prediction) -> str:
    if prediction.miles_score is None:
        reason = prediction.coverage_reasons[0].message if prediction.coverage_reasons else ""
        return f"No score: the model cannot read this video. {reason}".strip()
    seen_as = (
        "as ideas, before they were posted"
        if prediction.regime is Regime.PRE_PUBLISH
        else "with their early views, as this one"
    )
    return (
        f"{prediction.miles_score:g}/100: more likely to trend than {prediction.miles_score:g}% of the videos the "
        f"model was checked on, seen {seen_as}. Those are videos that reached YouTube's Most Popular chart, "
        f"so the score compares this video with them, not with your channel's other videos."
    )


def _velocity(prediction: Prediction) -> str:
    rate = f"{prediction.predicted_velocity_views_per_hour:,.0f} views per hour"
    if prediction.regime is Regime.PRE_PUBLISH:
        return (
            f"{rate} over the first day is what a typical video of the model's training population (large "
            "channels on the Most Popular chart) with this title would get, not what your channel will get: "
            "without a channel's own history the model cannot know its audience."
        )
    return f"{rate}: the model's expectation for this video over the next 24 hours, from its views and age."


def _breakout(prediction: Prediction) -> str | None:
    if prediction.breakout_probability is None:
        return None
    views = "its views, once posted," if prediction.regime is Regime.PRE_PUBLISH else "its current views"
    return (
        f"{prediction.breakout_probability:.0%} chance to grow to at least {BREAKOUT_GROWTH}x {views} "
        "within a day. It is a rate of growth, not a size: it is high for a video with few views (a small count "
        "multiplies easily) and means the same for a small channel as for a large one."
    )


def _agreement(prediction: Prediction) -> str | None:
    breakout, score = prediction.breakout_probability, prediction.miles_score
    if breakout is None or score is None or breakout < HIGH_BREAKOUT or score >= LOW_SCORE:
        return None
    return (
        "A high breakout chance next to a low score is not a contradiction: the score asks whether the video will "
        "reach the chart's large absolute view rates, breakout whether it will multiply its own views. A video "
        "with few views can easily do the second without the first."
    )


def meanings(prediction: Prediction) -> dict[str, str]:
    """Per number of the answer (``miles_score``, velocity, breakout; ``agreement`` when two seem to disagree)."""
    sentences = {
        "miles_score": _score(prediction),
        "predicted_velocity_views_per_hour": _velocity(prediction),
        "breakout_probability": _breakout(prediction),
        "agreement": _agreement(prediction),
    }
    return {name: sentence for name, sentence in sentences.items() if sentence is not None}
