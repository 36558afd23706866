"""Request and response schemas of the prediction API (``POST /predict``, ``POST /predict/batch``).

They live in ``miles_core`` rather than in the handler so other functions (recommend scores its
ideas in pre-publish mode) and clients' tests can reuse them; turning requests into results is
:mod:`miles_core.inference.request_scoring`. The request is stricter than
:class:`~miles_core.observation.Observation`: counts must be JSON integers (``"12"``, ``1.5`` and
``true`` are refused, not coerced), cross-field rules are reported on the field they concern,
and every field documents its unit, because the OpenAPI document is generated from these models.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from miles_core.api.fields import URL_PATTERN, Trimmed, integer, single_line, text
from miles_core.coverage import Coverage
from miles_core.coverage.assess import REASON_CODES
from miles_core.observation import (
    MAX_DESCRIPTION_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_TITLE_CHARS,
    Observation,
    Regime,
)

MAX_BATCH_ITEMS = 64
"""Items per ``POST /predict/batch`` call: ~0.3 s of scoring on 2 vCPU, well inside the API's 29 s timeout."""
MAX_COUNT = 10**13
MAX_VARIANTS = 5
"""Extra candidate titles per item: enough to compare wordings, few enough that a full batch stays fast."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future ``observed_at`` may be (client clocks drift); later is refused."""


CROSS_FIELD_ERROR = "cross_field"
"""Error ``type`` of a rule between fields or against the clock (likes <= views, views need an age,
not in the future): the JSON schema cannot state these, so the field descriptions do, and the contract
fuzzer (tests/e2e/test_api_contract.py) treats exactly this type as "valid by the schema, refused by rule"."""


TIMESTAMP_RANGE_ERROR = "timestamp_range"
"""A timestamp whose UTC form has no year 1-9999 (a schema ``date-time`` does not say so)."""
RULES_BEYOND_THE_SCHEMA = frozenset({CROSS_FIELD_ERROR, TIMESTAMP_RANGE_ERROR})


def _timestamp(value: Any) -> Any:
    """Only ISO 8601 strings: numbers would be read as Unix time, a guess we refuse to make."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 timestamp string with timezone, e.g. 2026-05-01T12:00:00Z")
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp needs a timezone, e.g. 2026-05-01T12:00:00Z or +02:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable UTC moment
        raise PydanticCustomError(
            TIMESTAMP_RANGE_ERROR, "timestamp is outside 0001-01-01 - 9999-12-31 once converted to UTC"
        ) from None


def _rule(message: str) -> PydanticCustomError:
    return PydanticCustomError(CROSS_FIELD_ERROR, message)


Timestamp = Annotated[datetime, BeforeValidator(_timestamp), AfterValidator(_aware_utc)]
Count = Annotated[int, integer(0, MAX_COUNT)]
Title = Annotated[
    str,
    single_line(MAX_TITLE_CHARS, f"Video title, 1-{MAX_TITLE_CHARS} characters; trimmed, no control characters."),
    Trimmed,
]
Tag = Annotated[str, single_line(MAX_TAG_CHARS, f"One tag, 1-{MAX_TAG_CHARS} characters."), Trimmed]


class PredictRequest(BaseModel):
    """One published video (with early stats) or one idea (text only) to score.

    With ``view_count`` the request is scored in the post-publish regime and ``published_at`` is
    required (views are only meaningful at a known age). Without counts it is an idea
    (pre-publish regime); ``published_at`` then means the planned publish time.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "I tried the 5 AM routine for 30 days #shorts",
                    "tags": ["morning routine", "productivity"],
                    "category_id": 22,
                    "duration_seconds": 41,
                    "published_at": "2026-05-01T14:00:00Z",
                    "observed_at": "2026-05-01T17:00:00Z",
                    "view_count": 12500,
                    "like_count": 900,
                    "comment_count": 45,
                }
            ]
        },
    )

    title: Title = Field(description=f"Video title, 1-{MAX_TITLE_CHARS} characters after trimming whitespace.")
    variants: list[Title] = Field(
        default_factory=list,
        max_length=MAX_VARIANTS,
        description=(
            f"Up to {MAX_VARIANTS} other candidate titles for the same video (same rules as `title`), scored with "
            "everything else unchanged; the answer ranks them with `title` and names the best. Each must differ "
            "from `title` and from each other, ignoring case and surrounding spaces."
        ),
    )
    description: Annotated[str, text(MAX_DESCRIPTION_CHARS, "Video description.")] = Field(
        default="", description=f"Video description, at most {MAX_DESCRIPTION_CHARS} characters."
    )
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_TAGS,
        description=f"Tags, at most {MAX_TAGS}, each 1-{MAX_TAG_CHARS} chars.",
    )
    category_id: Annotated[int, integer(1, 99)] | None = Field(
        default=None, description="YouTube category id (integer 1-99, e.g. 22 = People & Blogs). Absent = unknown."
    )
    language: (
        Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", max_length=20, strict=True)] | None
    ) = Field(default=None, description="Audio language as a BCP-47 tag, e.g. `en` or `pt-BR`.")
    channel_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", strict=True)] | None = Field(
        default=None, description="YouTube channel id (e.g. `UC...`); known channels get their learned prior."
    )
    channel_follower_count: Count | None = Field(
        default=None,
        description=f"Channel subscribers (integer count, 0-{MAX_COUNT}). Accepted and stored; not a model feature "
        "yet: the training data has no subscriber counts, so a model cannot learn what one means.",
    )
    thumbnail_url: Annotated[str, Field(pattern=URL_PATTERN, max_length=2000, strict=True)] | None = Field(
        default=None, description="Thumbnail URL (http/https). Accepted for compatibility; not a model feature."
    )
    duration_seconds: Annotated[float, Field(ge=0, le=7 * 24 * 3600, strict=True, allow_inf_nan=False)] | None = Field(
        default=None,
        description="Video length in seconds (0-604800). Accepted and stored; not a model feature yet: 24 of "
        "4,588 training videos carry a length, too few to learn what one means.",
    )
    published_at: Timestamp | None = Field(
        default=None,
        description="Publish time, ISO 8601 with timezone (UTC offset). Required with stats; "
        "for an idea, the planned publish time.",
    )
    observed_at: Timestamp | None = Field(
        default=None,
        description="When the stats were read, ISO 8601 with timezone. Default: the time of the request. "
        "Must not be before `published_at` nor in the future.",
    )
    view_count: Count | None = Field(
        default=None,
        description=f"Views at `observed_at` (integer count, 0-{MAX_COUNT}). Present = post-publish regime; "
        "needs `published_at` (not in the future).",
    )
    like_count: Count | None = Field(
        default=None, description="Likes at `observed_at` (integer count, <= `view_count`). Needs `view_count`."
    )
    explain: bool = Field(
        default=False,
        strict=True,
        description=(
            "Also return `contributions`: how much each feature group moved the viral logit. The text is "
            "encoded once, as for a plain prediction; only the small head runs again, on 7x the rows "
            "(`make bench` states the cost in ms per item)."
        ),
    )
    comment_count: Count | None = Field(
        default=None, description="Comments at `observed_at` (integer count). Needs `view_count`."
    )

    @field_validator("variants")
    @classmethod
    def _distinct_variants(cls, value: list[str], info: ValidationInfo) -> list[str]:
        """A repeated wording would be ranked against itself; the schema cannot say "ignoring case", so it is a rule."""
        seen = {str(info.data["title"]).casefold()} if "title" in info.data else set()
        for variant in value:
            if variant.casefold() in seen:
                raise _rule(f"variant {variant!r} repeats the title or another variant")
            seen.add(variant.casefold())
        return value

    @field_validator("observed_at")
    @classmethod
    def _observed_after_published(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return value
        published = info.data.get("published_at")
        if published is not None and value < published:
            raise _rule("observed_at is before published_at")
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise _rule("observed_at is in the future")
        return value

    @field_validator("view_count")
    @classmethod
    def _views_need_age(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        if "published_at" in info.data and info.data["published_at"] is None:
            raise _rule("view_count needs published_at: views mean nothing without the video's age")
        published = info.data.get("published_at")
        if published is not None and info.data.get("observed_at") is None and published > datetime.now(UTC):
            raise _rule("published_at is in the future, so the video cannot have views yet")
        return value

    @field_validator("like_count", "comment_count")
    @classmethod
    def _within_views(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        if "view_count" not in info.data:  # view_count itself failed; its error is already reported
            return value
        views = info.data["view_count"]
        if views is None:
            raise _rule(f"{info.field_name} needs view_count (stats are scored together)")
        if info.field_name == "like_count" and value > views:
            raise _rule(f"like_count ({value}) is greater than view_count ({views})")
        return value

    def to_observation(self, now: datetime | None = None) -> Observation:
        """The canonical observation; ``observed_at`` defaults to ``now`` when stats are given."""
        observed_at = self.observed_at
        if observed_at is None and self.view_count is not None:
            observed_at = now or datetime.now(UTC)
        return Observation(
            title=self.title,
            description=self.description,
            tags=tuple(self.tags),
            category_id=self.category_id,
            language=self.language,
            channel_id=self.channel_id,
            channel_follower_count=self.channel_follower_count,
            thumbnail_url=self.thumbnail_url,
            duration_seconds=self.duration_seconds,
            published_at=self.published_at,
            observed_at=observed_at,
            view_count=self.view_count,
            like_count=self.like_count,
            comment_count=self.comment_count,
        )


COVERAGE_DESCRIPTION = (
    "How far this video lies from the population the model learned from (`GET /model`: `population`). "
    "`in_domain`: nothing about it falls outside that population. `partial`: something does (a Short, format "
    "markers, an unusually long or one-word title, many hashtags), so the score is an extrapolation. `outside`: "
    "the model cannot read it (a title in another language, a title shorter than any it saw, hashtags only): "
    "`miles_score` is null; `viral_probability` is still given, for integrators, and means little."
)


class CoverageReasonResult(BaseModel):
    """One way the video differs from the training population."""

    code: str = Field(description=f"Machine code, one of: {', '.join(f'`{code}`' for code in REASON_CODES)}.")
    level: Coverage = Field(description="`partial` or `outside`: what this reason alone makes the answer.")
    message: str = Field(description="The reason in a sentence a creator reads.")


class VariantResult(BaseModel):
    """The model's answer for one extra candidate title of an item (everything else as in the item)."""

    title: str = Field(description="The variant title, as sent (trimmed).")
    rank: int = Field(ge=1, description="Its place among the item's `title` and all its variants (1 = best).")
    viral_probability: float = Field(ge=0, le=1, description="As `viral_probability`, for this title.")
    is_viral: bool = Field(description="`viral_probability >= threshold`.")
    predicted_velocity_views_per_hour: float = Field(ge=0, description="As the item's, for this title.")
    breakout_probability: float | None = Field(default=None, ge=0, le=1, description="As the item's, for this title.")
    miles_score: float | None = Field(
        default=None, ge=0, le=100, description="As the item's, for this title (null when `outside`)."
    )
    coverage: Coverage = Field(default=Coverage.IN_DOMAIN, description="As the item's, for this title.")
    coverage_reasons: list[CoverageReasonResult] = Field(
        default_factory=list, description="As the item's, for this title: why it is not `in_domain`."
    )


class BatchPredictRequest(BaseModel):
    """Up to :data:`MAX_BATCH_ITEMS` videos or ideas, scored together (one model call)."""

    model_config = ConfigDict(extra="forbid")

    items: list[PredictRequest] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS, description=f"1-{MAX_BATCH_ITEMS} items; answers keep this order."
    )


class PredictionResult(BaseModel):
    """The model's answer for one item."""

    model_config = ConfigDict(protected_namespaces=())

    viral_probability: float = Field(
        ge=0, le=1, description="Calibrated probability (0-1) that the video reaches the model's 'viral' label."
    )
    is_viral: bool = Field(description="`viral_probability >= threshold`.")
    threshold: float = Field(ge=0, le=1, description="Decision threshold used for `is_viral` (from the model card).")
    predicted_velocity_views_per_hour: float = Field(
        ge=0, description="Predicted average growth over the next 24 h, in views per hour."
    )
    regime: Regime = Field(
        description="`post_publish` when views and age were given, else `pre_publish` (text/timing only)."
    )
    model_version: str = Field(description="Version of the model that answered.")
    breakout_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description=(
            "Calibrated probability (0-1) that the video at least ~2.3x its views over the next ~24 h (the "
            "benchmark's `is_viral_rel`). Size-independent: it means something for a small channel too."
        ),
    )
    miles_score: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description=(
            "0-100: the percentile of this prediction's viral probability among the same regime's predictions "
            "on the model's validation videos (real videos that reached a trending list). 50 = a typical such "
            "video; 90 = better than nine in ten of them. Null when `coverage` is `outside`: the model cannot "
            "read such a video, and a number would rank it among videos it is not like."
        ),
    )
    coverage: Coverage = Field(default=Coverage.IN_DOMAIN, description=COVERAGE_DESCRIPTION)
    coverage_reasons: list[CoverageReasonResult] = Field(
        default_factory=list, description="Why the answer is not `in_domain` (empty when it is)."
    )
    format_markers: list[str] = Field(
        default_factory=list,
        description="Format hashtags found in the title, tags or description (`#shorts`, `#fyp`, `#viral`...), "
        "lower case: taken out of what the model reads, so they never move a score.",
    )
    contributions: dict[str, float] | None = Field(
        default=None,
        description=(
            "Only with `explain: true`. Per feature group (`text`, `lexical`, `early_stats`, `timing`, "
            "`category`, `channel`): the viral logit minus the logit with that group unknown (the masking the "
            "model is trained with). Positive = the group raised the score."
        ),
    )
    warnings: list[str] = Field(
        default_factory=list, description="What a person must read with this answer: each coverage reason's sentence."
    )
    meaning: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "What each number means, in sentences a creator reads: `miles_score` (what it compares with), "
            "`predicted_velocity_views_per_hour` (before posting: the training population's typical video, not "
            "this channel), `breakout_probability` (growth by a factor, high for few views), and `agreement` "
            "when a high breakout chance sits next to a low score."
        ),
    )
    variants: list[VariantResult] | None = Field(
        default=None, description="Only with `variants`: each variant's scores, in request order, ranked with `title`."
    )
    best_title: str | None = Field(
        default=None,
        description="Only with `variants`: the title (`title` or a variant) scored highest (`title` on a tie).",
    )


class PredictResponse(PredictionResult):
    """``POST /predict`` answer."""

    processing_time_ms: float = Field(ge=0, description="Time spent in the function for this request, milliseconds.")


class BatchPredictResponse(BaseModel):
    """``POST /predict/batch`` answer: one result per input item, same order."""

    model_config = ConfigDict(protected_namespaces=())

    items: list[PredictionResult] = Field(description="One result per request item, in request order.")
    model_version: str = Field(description="Version of the model that answered.")
    processing_time_ms: float = Field(ge=0, description="Time spent in the function for the whole batch, ms.")


class LocalCatalog(BaseModel):
    """The local stack's seeded catalog (``make run``): whether recommendations have real videos to stand on."""

    ready: bool = Field(description="Every seeded video is scored: ideas stand on the whole catalog.")
    state: Literal["off", "seeding", "scoring", "ready", "partial", "failed"] = Field(
        description=(
            "`seeding`/`scoring`: recommendations answer 503 until it settles; `ready`; `partial`: the scorer "
            "did not score every video in time (ideas stand on the scored ones); `failed`: nothing was seeded and "
            "recommendations keep answering 503; `off`: started without a catalog."
        )
    )
    topics: int = Field(description="Catalog topics with seeded videos.")
    videos: int = Field(description="Seeded videos.")
    scored: int = Field(description="Seeded videos with a current score (and so a measured relevance).")
    error: str | None = Field(description="Why the catalog is `partial` or `failed`; null otherwise.")


class HealthResponse(BaseModel):
    """``GET /health`` answer (no API key needed)."""

    model_config = ConfigDict(protected_namespaces=())

    status: str = Field(description="`ok` when the model is loaded and answering.")
    model_version: str = Field(description="Version of the loaded model.")
    cold_start: bool = Field(description="True on the first request this container served.")
    catalog: LocalCatalog | None = Field(
        default=None,
        description="The local stack's seeded catalog (`make run` only); null when deployed, where there is none.",
    )
