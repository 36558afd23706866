"""Scoring ideas with the pre-publish model: the best posting time of the coming week, the best wording, a reason.

Three batched predictor calls per request, whatever ``count`` is:

1. **The week scan.** Each idea's own row at each of the 168 hourly publish times of the coming week (every
   hour of every weekday, UTC), all ideas in one call. The Predictor encodes each distinct text once per
   batch, so 168 x ``count`` rows cost ``count`` encoder rows plus the (cheap) head on every row.
2. **Every wording** of every idea (its title and 1-2 alternatives) at that idea's best time, in one call.
3. **The explanation** of each idea's best wording there (one call), from which the one-sentence reason is
   written.

So an idea's ``miles_score``, its variants' scores and its reason all describe the same thing: that
title, published at that hour of that weekday.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from miles_core.coverage import Coverage
from miles_core.observation import Observation
from miles_core.recommend.ideas import IdeaDraft, PostingTime, ScoredIdea, TitleVariant, Weekday
from miles_core.recommend.ports import IdeaScorer

if TYPE_CHECKING:  # the predictor module imports onnxruntime; scoring goes through the IdeaScorer port
    from miles_core.inference.predictor import Prediction

HOURS_PER_WEEK = 7 * 24
REASON_MIN_LOGIT = 0.05
"""A feature group that moves the viral logit by less than this is not worth naming in the reason."""
PREDICTION_FIELDS = (
    "viral_probability",
    "is_viral",
    "predicted_velocity_views_per_hour",
    "miles_score",
    "breakout_probability",
    "coverage",
)
"""What an idea takes over from the model's prediction of its best wording at its best time."""
GROUP_PHRASES = {
    "text": "what the title says",
    "lexical": "its choice of words",
    "timing": "the {slot} slot",
    "category": "its category",
    "channel": "the channel",
    "early_stats": "its early views",
}
"""How each feature group of the explanation (``miles_core.features.groups``) is named to a creator: the
sentence encoder reads meaning (``text``), the hashed n-grams read words (``lexical``). Each is singular."""


@dataclass(frozen=True)
class IdeaContext:
    """What every idea of one request shares when it is scored (from the topic's observed patterns)."""

    topic: str
    tags: tuple[str, ...]
    category_id: int | None


def week_slots(now: datetime) -> list[datetime]:
    """The 168 hourly publish times of the coming week, the first a whole hour at least one hour after ``now``.

    168 consecutive hours hold every (weekday, hour) exactly once, each at its next occurrence.
    """
    soonest = now.astimezone(UTC) + timedelta(hours=1)
    first = soonest.replace(minute=0, second=0, microsecond=0)
    if first < soonest:
        first += timedelta(hours=1)
    return [first + timedelta(hours=offset) for offset in range(HOURS_PER_WEEK)]


def slot_label(when: datetime) -> str:
    """``Tuesday 17:00 UTC``: how a slot is named in a reason."""
    return f"{list(Weekday)[when.weekday()].value.title()} {when.hour:02d}:00 UTC"


def idea_observation(idea: IdeaDraft, title: str, context: IdeaContext, when: datetime) -> Observation:
    """``idea`` worded as ``title``, planned for ``when``: a pre-publish observation (no counts)."""
    return Observation(
        title=title,
        description=idea.description,
        tags=context.tags,
        category_id=context.category_id,
        published_at=when,
        duration_seconds=float(idea.suggested_duration_seconds),
    )


TIMING_BARELY_MATTERS = 1.0
"""miles_score points: when every hour of the week scores within this of the best, timing barely matters."""


@dataclass(frozen=True)
class WeekScan:
    """One idea's scan of the week: its best slot, its worst, and the miles_score points between them."""

    best: datetime
    worst: datetime
    spread: float | None

    def timing(self) -> str:
        """How peaked the scan is, in a creator's words."""
        if self.spread is None:
            return f"Best hour of the week: {slot_label(self.best)}."
        if self.spread < TIMING_BARELY_MATTERS:
            return (
                f"Timing barely matters for this idea: every hour of the week scores within {self.spread:.1f} "
                f"points; {slot_label(self.best)} is the best by a hair."
            )
        return (
            f"Timing matters: {slot_label(self.best)} scores {self.spread:.1f} points above the weakest hour "
            f"({slot_label(self.worst)})."
        )


def best_slots(scorer: IdeaScorer, ideas: Sequence[IdeaDraft], context: IdeaContext, now: datetime) -> list[WeekScan]:
    """Each idea's publish time of the coming week that the model scores highest (earliest on a tie), and its worst.

    One predictor call for all ideas: every idea's draft title at each of the 168 slots.
    """
    slots = week_slots(now)
    batch = [idea_observation(idea, idea.title, context, when) for idea in ideas for when in slots]
    predictions = scorer.predict(batch)
    scans = []
    for index in range(len(ideas)):
        row = predictions[index * len(slots) : (index + 1) * len(slots)]
        best = max(range(len(slots)), key=lambda s: (row[s].viral_probability, -s))
        worst = min(range(len(slots)), key=lambda s: (row[s].viral_probability, s))
        points = [p.miles_score for p in row if p.miles_score is not None]
        spread = round(max(points) - min(points), 1) if len(points) == len(row) else None
        scans.append(WeekScan(slots[best], slots[worst], spread))
    return scans


def reason_sentence(contributions: dict[str, float], when: datetime) -> str:
    """One sentence from the explanation: the groups that lift the score most and the one that holds it back."""

    def name(group: str) -> str:
        return GROUP_PHRASES.get(group, group).format(slot=slot_label(when))

    ranked = sorted(contributions.items(), key=lambda item: (-item[1], item[0]))
    lifts = [name(group) for group, value in ranked if value >= REASON_MIN_LOGIT][:2]
    drags = [name(group) for group, value in reversed(ranked) if value <= -REASON_MIN_LOGIT][:1]
    lifted = f"{' and '.join(lifts)} {'lift' if len(lifts) > 1 else 'lifts'} it most" if lifts else ""
    if lifts and drags:
        sentence = f"{lifted}; {drags[0]} holds it back"
    elif lifts:
        sentence = lifted
    elif drags:
        sentence = f"nothing lifts it much; {drags[0]} holds it back"
    else:
        sentence = f"no single part moves it much: title, words and the {slot_label(when)} slot are near typical"
    return sentence[0].upper() + sentence[1:] + "."


COVERAGE_ORDER = {Coverage.IN_DOMAIN: 0, Coverage.PARTIAL: 1, Coverage.OUTSIDE: 2}
"""Wordings and ideas rank by coverage first: a number the model cannot stand behind never outranks one it can."""


def _variant_key(item: tuple[str, Prediction]) -> tuple[int, float, float, str]:
    title, prediction = item
    return (
        COVERAGE_ORDER[prediction.coverage],
        -prediction.viral_probability,
        -prediction.predicted_velocity_views_per_hour,
        title,
    )


def score_ideas(
    scorer: IdeaScorer, ideas: Sequence[IdeaDraft], context: IdeaContext, now: datetime
) -> list[ScoredIdea]:
    """Every idea at its best slot of the week, worded by its best title, explained, and ranked (best first)."""
    scans = best_slots(scorer, ideas, context, now)
    slots = [scan.best for scan in scans]
    wordings = [(index, title) for index, idea in enumerate(ideas) for title in idea.titles]
    predictions = scorer.predict([idea_observation(ideas[i], title, context, slots[i]) for i, title in wordings])
    ranked_titles: list[list[tuple[str, Prediction]]] = [[] for _ in ideas]
    for (index, title), prediction in zip(wordings, predictions, strict=True):
        ranked_titles[index].append((title, prediction))
    for titles in ranked_titles:
        titles.sort(key=_variant_key)
    winners = [
        idea_observation(idea, titles[0][0], context, when)
        for idea, titles, when in zip(ideas, ranked_titles, slots, strict=True)
    ]
    explained = scorer.predict(winners, explain=True)
    order = sorted(range(len(ideas)), key=lambda i: _variant_key(ranked_titles[i][0]))
    scored = []
    for rank, i in enumerate(order, start=1):
        idea, (title, best), when = ideas[i], ranked_titles[i][0], slots[i]
        contributions = explained[i].contributions or {}
        scored.append(
            ScoredIdea(
                **idea.model_dump(exclude={"title", "alternative_titles"}),
                **{name: getattr(best, name) for name in PREDICTION_FIELDS},
                title=title,
                rank=rank,
                planned_published_at=when,
                best_posting_time=PostingTime(
                    weekday=list(Weekday)[when.weekday()],
                    hour_utc=when.hour,
                    miles_score=best.miles_score,
                    viral_probability=best.viral_probability,
                    slots_scanned=HOURS_PER_WEEK,
                    week_spread=scans[i].spread,
                    timing=scans[i].timing(),
                ),
                title_variants=[
                    TitleVariant(
                        title=variant,
                        miles_score=prediction.miles_score,
                        viral_probability=prediction.viral_probability,
                        coverage=prediction.coverage,
                        coverage_reasons=[reason.message for reason in prediction.coverage_reasons],
                        original=variant == idea.title,
                    )
                    for variant, prediction in ranked_titles[i]
                ],
                reason=reason_sentence(contributions, when),
                coverage_reasons=[reason.message for reason in best.coverage_reasons],
                contributions=contributions,
            )
        )
    return scored
