"""Coverage: is this answer about the kind of video the model learned from? Checked per answer.

``in_domain``: nothing about the video falls outside the training population, as measured on the train
split (:class:`~miles_core.coverage.population.TrainingPopulation`). ``partial``: something does (a Short,
format markers, an unusually long or one-word title, many hashtags), so the score is an extrapolation; it is
still given. ``outside``: the model cannot read the video at all (a title in another language, a title
shorter than any it saw, a title of hashtags only): ``miles_score`` is withheld.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from miles_core.coverage.language_id import guess_language
from miles_core.coverage.population import (
    POSSIBLE_SHORT_MAX_SECONDS,
    SHORT_MAX_SECONDS,
    TrainingPopulation,
    hashtags_per_word,
)
from miles_core.features.format_markers import model_text
from miles_core.features.text import words
from miles_core.observation import Observation


class Coverage(StrEnum):
    """How far an answer's video lies from the training population."""

    IN_DOMAIN = "in_domain"
    PARTIAL = "partial"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class CoverageReason:
    """One way the video differs from the training population: a machine code, its level and a sentence."""

    code: str
    level: Coverage
    message: str


@dataclass(frozen=True)
class CoverageAssessment:
    """The verdict (the worst level among the reasons; ``in_domain`` without any) and what it rests on."""

    coverage: Coverage
    reasons: tuple[CoverageReason, ...]
    format_markers: tuple[str, ...]


REASON_CODES = (
    "language",
    "declared_language",
    "title_too_short",
    "title_short",
    "title_one_word",
    "title_long",
    "hashtags_only",
    "many_hashtags",
    "short_video",
    "possible_short",
    "format_markers",
    "few_views",
)
"""Every code a reason can carry (documented in the OpenAPI description of ``coverage_reasons``)."""


def _title_reasons(title: str, population: TrainingPopulation) -> list[CoverageReason]:
    chars, count = len(title), len(words(title))
    reasons = []
    if count == 0 or chars < population.title_chars.minimum:
        reasons.append(
            CoverageReason(
                "title_too_short",
                Coverage.OUTSIDE,
                f"The title has {chars} {'character' if chars == 1 else 'characters'} the model reads; "
                f"every training title had at least "
                f"{population.title_chars.minimum:.0f}, so it carries too little meaning to score.",
            )
        )
        return reasons
    if chars < population.title_chars.p01:
        reasons.append(
            CoverageReason(
                "title_short",
                Coverage.PARTIAL,
                f"The title is shorter ({chars} characters) than 99% of training titles.",
            )
        )
    if count < population.title_words.p01:
        reasons.append(
            CoverageReason(
                "title_one_word", Coverage.PARTIAL, "A one-word title is rarer than 1 in 100 training titles."
            )
        )
    if chars > population.title_chars.p99 or count > population.title_words.p99:
        reasons.append(
            CoverageReason(
                "title_long",
                Coverage.PARTIAL,
                f"The title ({chars} characters, {count} words) is longer than 99% of training titles "
                f"({population.title_chars.p99:.0f} characters, {population.title_words.p99:.0f} words).",
            )
        )
    density = hashtags_per_word(title)
    if density > population.hashtags_per_word.maximum:
        reasons.append(
            CoverageReason(
                "hashtags_only",
                Coverage.OUTSIDE,
                "The title is mostly hashtags, more than any training title; the model cannot read it as a title.",
            )
        )
    elif density > population.hashtags_per_word.p99:
        reasons.append(
            CoverageReason(
                "many_hashtags", Coverage.PARTIAL, "The title has more hashtags per word than 99% of training titles."
            )
        )
    return reasons


def _language_reasons(
    title: str, declared: str | None, population: TrainingPopulation, languages: list[str]
) -> list[CoverageReason]:
    reasons = []
    if declared is not None and declared.split("-")[0].lower() not in languages:
        reasons.append(
            CoverageReason(
                "declared_language",
                Coverage.OUTSIDE,
                f"The audio language {declared!r} is not one the model learned from ({', '.join(languages)}).",
            )
        )
    guess = guess_language(title)
    if guess.english_probability < population.english_cutoff:
        reasons.append(
            CoverageReason(
                "language",
                Coverage.OUTSIDE,
                f"The title reads as {guess.language!r}, not English; the model learned from English titles only "
                "and cannot rank it.",
            )
        )
    return reasons


def _duration_reasons(seconds: float | None, population: TrainingPopulation) -> list[CoverageReason]:
    if seconds is None or seconds > POSSIBLE_SHORT_MAX_SECONDS:
        return []
    if seconds <= SHORT_MAX_SECONDS:
        return [
            CoverageReason(
                "short_video",
                Coverage.PARTIAL,
                f"A video of {seconds:.0f} s is a Short; the model learned from {population.shorts} Shorts "
                "(the Most Popular chart leaves them out), so its score is a guess.",
            )
        ]
    return [
        CoverageReason(
            "possible_short",
            Coverage.PARTIAL,
            f"A video of {seconds:.0f} s may be a Short (YouTube counts vertical videos up to 3 minutes as "
            f"Shorts); {population.up_to_three_minutes} of the {population.known_durations} training videos "
            "with a known length were this short.",
        )
    ]


def _views_reasons(views: int | None, population: TrainingPopulation) -> list[CoverageReason]:
    """A video far smaller than the chart's: the growth the model learned is that of large channels' videos."""
    floor = population.views_when_charted.p01
    if views is None or views >= floor:
        return []
    return [
        CoverageReason(
            "few_views",
            Coverage.PARTIAL,
            f"It has {views:,} views; 99% of the training videos had at least {floor:,.0f} when they first charted "
            "(mostly large channels), so its growth from here is an extrapolation.",
        )
    ]


def assess(observation: Observation, population: TrainingPopulation, languages: list[str]) -> CoverageAssessment:
    """The coverage of one answer: every check against the training population, the worst level wins."""
    text = model_text(observation)
    reasons = _title_reasons(text.title, population)
    if text.title:
        reasons += _language_reasons(text.title, observation.language, population, languages)
    reasons += _duration_reasons(observation.duration_seconds, population)
    reasons += _views_reasons(observation.view_count, population)
    if text.markers:
        reasons.append(
            CoverageReason(
                "format_markers",
                Coverage.PARTIAL,
                f"{', '.join(text.markers)} mark a format the model never saw; they were left out of the score.",
            )
        )
    levels = {reason.level for reason in reasons}
    verdict = next((level for level in (Coverage.OUTSIDE, Coverage.PARTIAL) if level in levels), Coverage.IN_DOMAIN)
    return CoverageAssessment(verdict, tuple(reasons), text.markers)
