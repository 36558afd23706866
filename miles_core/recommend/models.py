"""Data shapes of the recommendation flow: request, candidates, patterns, ideas, response.

Kept in one module so the HTTP handler, the LLM client, the fallback generator and the cache all
agree on one definition. Everything that crosses a trust boundary (the request body, the LLM's
output, a cached response read back from storage) is a pydantic model with ``extra="forbid"`` so
an unexpected field is an error, not silently carried along.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from miles_core.api.fields import TopicField, integer
from miles_core.coverage import Coverage
from miles_core.relevance import EvidenceLevel

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


class RecommendationRequest(BaseModel):
    """Body of ``POST /recommendations``. Unknown fields are rejected (typos must not be ignored).

    Field types are the API's shared strict ones (:mod:`miles_core.api.fields`): ``count`` is a JSON
    integer, ``topic`` is refused with control or bidirectional characters and arrives canonical.
    """

    model_config = ConfigDict(extra="forbid")

    topic: TopicField = Field(examples=["home workouts"])
    vibe: Vibe = Field(default=Vibe.EDUCATIONAL, description="Tone of the ideas.")
    count: Annotated[int, integer(MIN_COUNT, MAX_COUNT)] = Field(
        default=DEFAULT_COUNT, description=f"How many ideas to return ({MIN_COUNT}-{MAX_COUNT})."
    )


class Candidate(BaseModel):
    """A recent, already-scored real video of a topic, as the recommender needs it.

    Titles, tags and channel names are scraped, untrusted text: they are only ever *data*.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    video_id: str
    title: str
    tags: tuple[str, ...] = ()
    duration_seconds: float | None = None
    published_at: datetime | None = None
    viral_probability: float | None = None
    predicted_velocity_views_per_hour: float | None = None
    channel_id: str | None = None
    channel_title: str | None = None
    category_id: int | None = None
    view_count: int | None = None
    observed_at: datetime | None = None
    """When ``view_count`` was observed."""
    text_embedding: bytes | None = Field(default=None, exclude=True, repr=False)
    """The model's stored embedding of the video's text (``miles_core.relevance``); never serialised."""
    relevance: float | None = None
    """Cosine of the video's embedding with the topic's; set when the recommender measured it."""


class CountShare(BaseModel):
    """One frequent item: how many analyzed titles contain it and which share that is."""

    text: str
    count: int
    share: float


class Distribution(BaseModel):
    """Robust summary of a numeric property (quartiles; ``None`` when nothing was measured)."""

    n: int
    median: float | None
    p25: float | None
    p75: float | None


class HourCount(BaseModel):
    hour_utc: int
    count: int


class Patterns(BaseModel):
    """What the topic's top-scored recent candidates have in common, computed from data only."""

    candidates_analyzed: int
    top_words: list[CountShare]
    top_phrases: list[CountShare]
    top_tags: list[CountShare]
    title_chars: Distribution
    title_words: Distribution
    duration_seconds: Distribution
    posting_hours_utc: list[HourCount] = Field(
        description="When the analyzed videos were published (observed, most frequent first). Each idea's one "
        "suggested time is its `best_posting_time`, from the model's scan of the week."
    )
    hooks: dict[str, float] = Field(description="Share of titles using each hook: number, question, emoji, ...")
    style: dict[str, float] = Field(description="Share of titles with each style trait: all-caps word, ...")
    dominant_category_id: int | None


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


class InspiredBy(BaseModel):
    """A real video the ideas were derived from (shown so the creator can judge the inspiration).

    Only videos about the topic (relevance at or above ``miles_core.relevance.RELEVANCE_THRESHOLD``).
    """

    video_id: str
    title: str
    relevance: float = Field(description="Cosine of the video's text embedding with the topic's (model encoder).")
    channel_title: str | None
    viral_probability: float | None
    predicted_velocity_views_per_hour: float | None
    published_at: datetime | None
    duration_seconds: float | None
    url: str
    view_count: int | None = Field(description="Views at Miles' latest observation.")
    age_hours: float | None = Field(description="Hours between publishing and Miles' latest observation.")
    views_per_hour: float | None = Field(
        description="Views gained per hour between the first and the latest snapshot Miles stored (None with one)."
    )
    snapshots: int = Field(ge=0, description="How many snapshots of the video Miles stored.")
    channel_videos: int = Field(
        ge=1, description="Videos of the same channel among the topic's stored videos (this one included)."
    )
    channel_multiple: float | None = Field(
        description="Lifetime views per hour over the median of the channel's stored videos; only with 3 or more."
    )


class Evidence(BaseModel):
    """How much the recommendation stands on: stored videos about the topic."""

    relevant_videos: int = Field(ge=0, description="Stored videos of the topic whose relevance passed the threshold.")
    videos_checked: int = Field(ge=0, description="Stored videos of the topic whose relevance was measured.")
    level: EvidenceLevel = Field(description="none (0 relevant videos: generic ideas), thin (1-4) or good (5+).")
    relevance_threshold: float = Field(description="Cosine with the topic at or above which a video counts.")
    summary: str = Field(description="The same, in a sentence for the creator.")


class Meta(BaseModel):
    """How the answer was produced."""

    generator: Generator
    generator_reason: str = Field(description="Why this generator answered, e.g. 'llm_ok', 'no_api_key'.")
    cached: bool
    candidates_analyzed: int
    fresh_candidates: bool = Field(description="False when no candidate of the topic was recent enough.")
    scrape_job_id: str | None = Field(description="Set when a scrape job was requested for the topic.")
    model_version: str
    topic: str
    vibe: Vibe
    count: int
    generated_at: datetime


class RecommendationResponse(BaseModel):
    """Body returned by ``POST /recommendations``; also what is cached."""

    model_config = ConfigDict(extra="forbid")

    ideas: list[ScoredIdea]
    inspired_by: list[InspiredBy]
    evidence: Evidence
    patterns: Patterns
    meta: Meta


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
