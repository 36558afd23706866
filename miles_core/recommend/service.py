"""The recommendation flow: candidates -> patterns -> ideas (LLM or fallback) -> scores -> ranking -> cache.

Written against the protocols in :mod:`miles_core.recommend.ports`, so the HTTP handler binds it to
DynamoDB and the ONNX predictor while tests bind it to in-memory fakes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from miles_core.api.schemas.recommend import Evidence, Meta, RecommendationRequest, RecommendationResponse
from miles_core.observation import MAX_TAG_CHARS, MAX_TAGS
from miles_core.recommend.fallback import generate_fallback_ideas
from miles_core.recommend.idea_scoring import IdeaContext, score_ideas
from miles_core.recommend.ideas import MAX_REASONING_CHARS, Generator, IdeaDraft, ReasonCode, ScoredIdea, Vibe
from miles_core.recommend.inspiration import inspired_by
from miles_core.recommend.llm import LLMGenerationError
from miles_core.recommend.patterns import Candidate, Patterns, extract_patterns
from miles_core.recommend.ports import CandidateSource, IdeaScorer, ResultCache, ScrapeRequester
from miles_core.relevance import RELEVANCE_THRESHOLD, EvidenceLevel, evidence_level, is_relevant, relevance
from miles_core.topics import Topic, topic_digest

log = logging.getLogger(__name__)

CACHE_KEY_VERSION = "v3"
"""Bump when the cached response shape changes, so old entries are never read back."""
CANDIDATE_FETCH_LIMIT = 50
ANALYZED_CANDIDATES = 20
"""Patterns come from the top 20 scored fresh videos: enough for frequencies, still 'the top'."""
INSPIRED_BY_COUNT = 5
FRESH_WINDOW = timedelta(days=14)
"""Short-form trends turn over in days to weeks; older videos describe a different trend."""
DEGRADED_CACHE_TTL_SECONDS = 120
"""TTL for answers built on stale data or after an LLM failure: long enough to absorb a burst of
identical requests (and not request a scrape job each time), short enough to recover soon."""
IDEA_TAG_LIMIT = 10
REQUEST_BUDGET_SECONDS = 16.0
"""A fresh recommendation answers within 16 s, LLM failure included (API Gateway would cut it at 29 s)."""
RESPONSE_MARGIN_SECONDS = 1.0
"""Kept back from the Lambda's own remaining time for serialising and returning the response."""
FINISH_RESERVE_SECONDS = 4.0
"""Time kept back from the LLM for what follows it: fallback ideas, scoring, ranking, the cache write.
That work took 1.1 s on a 2-vCPU CI runner; with this project's 2 cores shared 3-fold, the hung-LLM handler
test took 16.2 s in all against a 13 s LLM share (``python -m infra.bench.ideas`` times the scoring part
alone: 0.06-0.16 s idle). Four seconds keeps a hung LLM inside the request budget."""


class IdeaGenerator(Protocol):
    """The LLM generator's interface (see :class:`miles_core.recommend.llm.LLMIdeaGenerator`)."""

    def generate(
        self,
        topic: str,
        vibe: Vibe,
        count: int,
        patterns: Patterns,
        candidates: Sequence[Candidate],
        deadline: float | None = None,
    ) -> list[IdeaDraft]:
        """Ideas, or :class:`LLMGenerationError`; never runs past ``deadline`` (a ``time.monotonic()`` instant)."""
        ...


GeneratorFactory = Callable[[], tuple[IdeaGenerator | None, ReasonCode]]
"""Returns the LLM generator, or ``None`` and why there is none (no key, unreadable secret)."""


def request_deadline(remaining_seconds: float | None = None) -> float:
    """The ``time.monotonic()`` instant a request started now must answer by.

    :data:`REQUEST_BUDGET_SECONDS`, or less when the invocation (``remaining_seconds``, from the Lambda
    context) has less time left than that.
    """
    budget = REQUEST_BUDGET_SECONDS
    if remaining_seconds is not None:
        budget = min(budget, remaining_seconds - RESPONSE_MARGIN_SECONDS)
    return time.monotonic() + budget


def _utcnow() -> datetime:
    return datetime.now(UTC)


def cache_key(request: RecommendationRequest, model_version: str) -> str:
    """Key per (topic, vibe, count) and model version (a new model must not serve old scores)."""
    topic = topic_digest(request.topic)
    return f"recommend:{CACHE_KEY_VERSION}:{model_version}:{topic}:{request.vibe.value}:{request.count}"


def _probability_key(candidate: Candidate) -> tuple[float, str]:
    score = candidate.viral_probability
    return (-(score if score is not None else -1.0), candidate.video_id)


class RecommendationService:
    """Answers one recommendation request; stateless apart from its collaborators."""

    def __init__(
        self,
        *,
        candidates: CandidateSource,
        cache: ResultCache,
        scrapes: ScrapeRequester,
        scorer: IdeaScorer,
        generator_factory: GeneratorFactory,
        cache_ttl_seconds: int,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.candidates = candidates
        self.cache = cache
        self.scrapes = scrapes
        self.scorer = scorer
        self.generator_factory = generator_factory
        self.cache_ttl_seconds = cache_ttl_seconds
        self.clock = clock

    def recommend(self, request: RecommendationRequest, deadline: float | None = None) -> RecommendationResponse:
        """Cached answer when there is one, else a freshly generated, scored and ranked one.

        ``deadline`` (a ``time.monotonic()`` instant) is when the caller needs the answer; the LLM gets
        what is left of it minus :data:`FINISH_RESERVE_SECONDS`, so its failure still leaves time to answer.
        """
        key = cache_key(request, self.scorer.version)
        cached = self._cached(key)
        if cached is not None:
            return cached
        response, degraded = self._generate(request, deadline)
        ttl = min(self.cache_ttl_seconds, DEGRADED_CACHE_TTL_SECONDS) if degraded else self.cache_ttl_seconds
        if ttl > 0:
            self.cache.put(key, response.model_dump(mode="json"), ttl)
        return response

    def _cached(self, key: str) -> RecommendationResponse | None:
        document = self.cache.get(key)
        if document is None:
            return None
        try:
            response = RecommendationResponse.model_validate(document)
        except ValidationError:
            # A cache entry from an older shape is a miss, not an error.
            log.warning("ignoring unreadable cache entry %s", key)
            return None
        response.meta.cached = True
        return response

    def _relevant_candidates(self, topic: Topic) -> tuple[list[Candidate], list[Candidate]]:
        """The topic's stored videos that are about it (by meaning), best scored first, and every one measured.

        A video without a stored embedding (not scored yet) cannot be measured and is not evidence.
        """
        found = self.candidates.top_candidates(topic, CANDIDATE_FETCH_LIMIT)
        if not found:
            return [], []
        scores = relevance(self.scorer.topic_embedding(topic), [c.text_embedding for c in found])
        measured = [c.model_copy(update={"relevance": s}) for c, s in zip(found, scores, strict=True) if s is not None]
        return sorted((c for c in measured if is_relevant(c.relevance)), key=_probability_key), measured

    def _select_candidates(self, relevant: list[Candidate], now: datetime) -> tuple[list[Candidate], bool]:
        """The top-scored fresh relevant candidates, or (when none is fresh) the best relevant ones that exist."""
        fresh = [c for c in relevant if c.published_at is not None and now - c.published_at <= FRESH_WINDOW]
        if fresh:
            return fresh[:ANALYZED_CANDIDATES], True
        return relevant[:ANALYZED_CANDIDATES], False

    def _request_scrape(self, topic: Topic) -> str | None:
        try:
            return self.scrapes.request_scrape(topic)
        except Exception:
            # The answer is still useful without the job; the failure is logged, not hidden.
            log.exception("could not request a scrape job for topic")
            return None

    def _ideas(
        self,
        request: RecommendationRequest,
        patterns: Patterns,
        analyzed: Sequence[Candidate],
        deadline: float | None,
    ) -> tuple[list[IdeaDraft], Generator, ReasonCode]:
        generator, reason = self.generator_factory()
        if generator is not None:
            llm_deadline = None if deadline is None else deadline - FINISH_RESERVE_SECONDS
            try:
                ideas = generator.generate(
                    request.topic, request.vibe, request.count, patterns, analyzed, deadline=llm_deadline
                )
                return ideas, Generator.LLM, "llm_ok"
            except LLMGenerationError as failure:
                log.warning("LLM failed, using fallback: %s", failure)
                reason = failure.reason
            except Exception:
                log.exception("unexpected LLM error, using fallback")
                reason = "llm_unexpected_error"
        ideas = generate_fallback_ideas(request.topic, request.vibe, request.count, patterns, analyzed)
        return ideas, Generator.FALLBACK, reason

    def _score(
        self, request: RecommendationRequest, ideas: Sequence[IdeaDraft], patterns: Patterns, now: datetime
    ) -> list[ScoredIdea]:
        """Score every idea in pre-publish mode (no counts) at its best time and wording, ranked best first."""
        all_tags = [request.topic, *(t.text for t in patterns.top_tags)]
        tags = tuple(dict.fromkeys(tag[:MAX_TAG_CHARS] for tag in all_tags))[: min(IDEA_TAG_LIMIT, MAX_TAGS)]
        context = IdeaContext(topic=request.topic, tags=tags, category_id=patterns.dominant_category_id)
        return score_ideas(self.scorer, ideas, context, now)

    def _generate(self, request: RecommendationRequest, deadline: float | None) -> tuple[RecommendationResponse, bool]:
        now = self.clock()
        relevant, measured = self._relevant_candidates(request.topic)
        analyzed, fresh = self._select_candidates(relevant, now)
        job_id = None if fresh else self._request_scrape(request.topic)
        evidence = _evidence(request.topic, len(relevant), len(measured), job_id)
        patterns = extract_patterns(analyzed)
        ideas, generator, reason = self._ideas(request, patterns, analyzed, deadline)
        if evidence.level is EvidenceLevel.NONE and generator is Generator.LLM:
            ideas = [_generic(idea) for idea in ideas]
        scored = self._score(request, ideas, patterns, now)
        response = RecommendationResponse(
            ideas=scored,
            inspired_by=inspired_by(analyzed[:INSPIRED_BY_COUNT], measured, self.candidates.view_history),
            evidence=evidence,
            patterns=patterns,
            meta=Meta(
                generator=generator,
                generator_reason=reason,
                cached=False,
                candidates_analyzed=len(analyzed),
                fresh_candidates=fresh,
                scrape_job_id=job_id,
                model_version=self.scorer.version,
                topic=request.topic,
                vibe=request.vibe,
                count=request.count,
                generated_at=now,
            ),
        )
        degraded = not fresh or reason not in ("llm_ok", "no_api_key")
        return response, degraded


GENERIC_NOTE = "Generic idea: Miles has no stored videos about this topic yet, so no observed pattern backs it. "


def _generic(idea: IdeaDraft) -> IdeaDraft:
    """An LLM idea written without evidence says so (the fallback's generic ideas say it themselves)."""
    if idea.reasoning.startswith(GENERIC_NOTE):
        return idea
    reasoning = (GENERIC_NOTE + idea.reasoning)[:MAX_REASONING_CHARS]
    return idea.model_copy(update={"reasoning": reasoning})


def _evidence(topic: str, relevant: int, checked: int, scrape_job_id: str | None) -> Evidence:
    """What the answer stands on, as counts and as a sentence."""
    level = evidence_level(relevant)
    if level is EvidenceLevel.NONE:
        summary = (
            f"Miles has no stored videos about \u201c{topic}\u201d yet ({checked} checked), so these ideas are "
            "generic: no observed pattern backs them."
        )
        if scrape_job_id is not None:
            summary += " A scrape of the topic was requested; ask again in a few minutes."
    elif level is EvidenceLevel.THIN:
        summary = (
            f"Based on only {relevant} stored video{'s' if relevant > 1 else ''} about \u201c{topic}\u201d: "
            "thin evidence, so treat the patterns as hints."
        )
    else:
        summary = f"Based on {relevant} stored videos about \u201c{topic}\u201d."
    return Evidence(
        relevant_videos=relevant,
        videos_checked=checked,
        level=level,
        relevance_threshold=RELEVANCE_THRESHOLD,
        summary=summary,
    )
