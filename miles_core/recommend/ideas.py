"""Ideas: what a generator (LLM or fallback) drafts and what scoring turns it into.

The LLM client, the fallback generator, the scorer and the API response share these definitions.
Everything that crosses a trust boundary (the LLM's output, a cached response read back from
storage) is a pydantic model with ``extra="forbid"`` so an unexpected field is an error, not
silently carried along. The request and response bodies are :mod:`miles_core.api.schemas.recommend`;
candidates and patterns are :mod:`miles_core.recommend.patterns`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from miles_core.coverage import Coverage

MIN_COUNT = 1
MAX_COUNT = 10
DEFAULT_COUNT = 5

MAX_IDEA_TITLE_CHARS = 100
"""YouTube's own title limit."""
MAX_HOOK_CHARS = 200
MAX_IDEA_DESCRIPTION_CHARS = 1000
MAX_REASONING_CHARS = 600
MIN_IDEA_DURATION_SECONDS = 5
MAX_IDEA_DURATION_SECONDS = 180
"""Shorts may run up to three minutes."""


class Vibe(StrEnum):
    """The tone a creator wants. Each value steers both the LLM prompt and the fallback templates."""

    EDUCATIONAL = "educational"
    """Teach one concrete thing: how-to, explainer, myth-busting."""
    FUNNY = "funny"
    """Comedy, skits, relatable humour."""
    INSPIRING = "inspiring"
    """Transformation, motivation, before/after."""
    DRAMATIC = "dramatic"
    """Tension, reveals, stakes, storytime."""
    CHILL = "chill"
    """Calm, aesthetic, satisfying, ASMR-adjacent."""
    HYPE = "hype"
    """Energy, challenges, records, reactions."""


class Generator(StrEnum):
    """Which generator produced the ideas of a response."""

    LLM = "llm"
    FALLBACK = "fallback"


Title = Annotated[str, Field(min_length=3, max_length=MAX_IDEA_TITLE_CHARS)]
MIN_ALTERNATIVE_TITLES = 1
MAX_ALTERNATIVE_TITLES = 2
"""Each idea brings 1-2 other titles for the same video, so the model ranks 2-3 wordings of it."""


class IdeaFields(BaseModel):
    """What every idea has, drafted or scored: the video to film and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title = Field(description="Video title, at most 100 characters.")
    hook: str = Field(min_length=3, max_length=MAX_HOOK_CHARS, description="What is said/shown in the first 2 seconds.")
    description: str = Field(min_length=3, max_length=MAX_IDEA_DESCRIPTION_CHARS, description="Video description.")
    suggested_duration_seconds: int = Field(ge=MIN_IDEA_DURATION_SECONDS, le=MAX_IDEA_DURATION_SECONDS)
    reasoning: str = Field(
        min_length=3, max_length=MAX_REASONING_CHARS, description="Which observed patterns this idea uses and why."
    )


class IdeaDraft(IdeaFields):
    """One idea as a generator (LLM or fallback) proposes it, before scoring.

    This is the schema the LLM's output is validated against: every field required, no extras,
    bounded lengths and ranges. Anything else is rejected, never repaired or passed through.
    """

    alternative_titles: list[Title] = Field(
        min_length=MIN_ALTERNATIVE_TITLES,
        max_length=MAX_ALTERNATIVE_TITLES,
        description=(
            f"{MIN_ALTERNATIVE_TITLES}-{MAX_ALTERNATIVE_TITLES} other titles for the same video, each different "
            "from the title and from each other; the model ranks them all."
        ),
    )

    @model_validator(mode="after")
    def _distinct_titles(self) -> IdeaDraft:
        """A variant equal to the title (ignoring case) would be ranked against itself: refused, not dropped."""
        folded = [title.casefold() for title in (self.title, *self.alternative_titles)]
        if len(set(folded)) != len(folded):
            raise ValueError("alternative_titles must differ from the title and from each other")
        return self

    @property
    def titles(self) -> list[str]:
        """The title first, then its alternatives: every wording the model scores."""
        return [self.title, *self.alternative_titles]


class IdeaBatch(BaseModel):
    """The whole structured answer the LLM must return."""

    model_config = ConfigDict(extra="forbid")

    ideas: list[IdeaDraft] = Field(min_length=MIN_COUNT, max_length=MAX_COUNT)


class Weekday(StrEnum):
    """Day of the week, UTC (Python's ``datetime.weekday()`` order)."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class PostingTime(BaseModel):
    """The publish slot of the coming week (weekday + hour, UTC) where the model scores the idea highest."""

    weekday: Weekday = Field(description="Day of the week, UTC.")
    hour_utc: int = Field(ge=0, le=23, description="Hour of the day, UTC (the page shows it in local time too).")
    miles_score: float | None = Field(default=None, ge=0.0, le=100.0, description="The idea's miles_score there.")
    viral_probability: float = Field(ge=0.0, le=1.0, description="The idea's viral probability there.")
    slots_scanned: int = Field(
        ge=1, description="How many hourly slots of the coming week were compared (168 = every hour of every day)."
    )
    week_spread: float | None = Field(
        default=None,
        ge=0.0,
        le=100.0,
        description="miles_score points between the idea's best and worst hour of the week: how much timing matters.",
    )
    timing: str = Field(description="In words: how peaked the week's scan is (timing matters, or barely).")


class TitleVariant(BaseModel):
    """One wording of an idea's title, scored by the model at the idea's best posting time."""

    title: str
    miles_score: float | None = Field(
        default=None, ge=0.0, le=100.0, description="Null when this wording's `coverage` is `outside`."
    )
    viral_probability: float = Field(ge=0.0, le=1.0)
    coverage: Coverage = Field(default=Coverage.IN_DOMAIN, description="As the prediction API's `coverage`.")
    coverage_reasons: list[str] = Field(
        default_factory=list, description="Why this wording is not `in_domain`, in sentences (empty when it is)."
    )
    original: bool = Field(description="True for the generator's first title; the idea's `title` is the best one.")


class ScoredIdea(IdeaFields):
    """An idea with the model's pre-publish prediction, as returned to the caller.

    ``title`` is the best-scoring of the idea's wordings and every score is the model's for that title
    at ``best_posting_time`` (= ``planned_published_at``).
    """

    rank: int = Field(ge=1)
    viral_probability: float = Field(ge=0.0, le=1.0)
    is_viral: bool
    predicted_velocity_views_per_hour: float = Field(ge=0.0)
    miles_score: float | None = Field(
        default=None,
        ge=0.0,
        le=100.0,
        description=(
            "0-100: percentile of the idea's viral probability among real ideas' (pre-publish) predictions on the "
            "model's validation videos. Ranks ideas on a scale a person can read. Null when `coverage` is "
            "`outside`: `coverage_reasons` says why."
        ),
    )
    coverage: Coverage = Field(
        default=Coverage.IN_DOMAIN,
        description="As the prediction API's `coverage`, for the idea's title. Ideas are ranked `in_domain` first, "
        "then `partial`, then `outside`: a score the model cannot stand behind never outranks one it can.",
    )
    coverage_reasons: list[str] = Field(
        default_factory=list, description="Why the idea is not `in_domain`, one sentence each (empty when it is)."
    )
    breakout_probability: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Chance (0-1) that a video like this at least ~2.3x its views in a day: size-independent.",
    )
    planned_published_at: datetime = Field(
        description="Next occurrence of the best posting time (weekday + hour, UTC); what was scored."
    )
    best_posting_time: PostingTime = Field(description="Where in the coming week the model scores the idea highest.")
    title_variants: list[TitleVariant] = Field(
        description="Every wording of the title, best first (the first is `title`), scored at the best posting time."
    )
    reason: str = Field(
        max_length=MAX_REASONING_CHARS,
        description="One sentence from the model's explanation: which parts of the idea lift its score most and "
        "which hold it back (`reasoning` says which observed pattern it uses).",
    )
    contributions: dict[str, float] = Field(
        description="Per feature group, and for `duration`, how much it moved the viral logit (the logit minus the "
        "logit with that part unknown): the model's explanation behind `reason`."
    )


ReasonCode = Literal[
    "llm_ok",
    "no_api_key",
    "secret_unavailable",
    "llm_timeout",
    "llm_connection_error",
    "llm_http_error",
    "llm_refused",
    "llm_malformed_json",
    "llm_schema_invalid",
    "llm_incomplete",
    "llm_unexpected_error",
]
