"""The recommendation flow with in-memory ports: generator choice, scoring, ranking, cache, scrape requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from miles_core.api.schemas.recommend import RecommendationRequest
from miles_core.inference.predictor import Predictor
from miles_core.observation import Regime
from miles_core.recommend.idea_scoring import HOURS_PER_WEEK, WeekScan
from miles_core.recommend.ideas import Generator, Vibe, Weekday
from miles_core.recommend.llm import LLMIdeaGenerator, LLMSettings
from miles_core.recommend.memory import InMemoryCache, InMemoryCandidates, InMemoryScrapeRequester
from miles_core.recommend.patterns import Candidate
from miles_core.recommend.service import RecommendationService
from miles_core.relevance import RELEVANCE_THRESHOLD
from tests.support.fake_llm import FakeLLMServer
from tests.support.recommend_data import (
    BEST_HOUR,
    NOW,
    SLOT_BONUS,
    TOPIC,
    FakeScorer,
    make_candidates,
    stored_embedding,
)


def build(
    scorer: Any,
    candidates: list[Candidate] | None = None,
    generator: Any = None,
    reason: str = "no_api_key",
    cache: InMemoryCache | None = None,
    histories: dict[str, list[tuple[datetime, int]]] | None = None,
) -> tuple[RecommendationService, InMemoryCache, InMemoryScrapeRequester]:
    cache = cache or InMemoryCache(clock=lambda: NOW)
    scrapes = InMemoryScrapeRequester()
    service = RecommendationService(
        candidates=InMemoryCandidates(
            {TOPIC: candidates if candidates is not None else make_candidates()}, histories=histories
        ),
        cache=cache,
        scrapes=scrapes,
        scorer=scorer,
        generator_factory=lambda: (generator, reason),  # type: ignore[arg-type,return-value]
        cache_ttl_seconds=600,
        clock=lambda: NOW,
    )
    return service, cache, scrapes


def request(**fields: Any) -> RecommendationRequest:
    return RecommendationRequest.model_validate({"topic": TOPIC, "vibe": "educational", "count": 5} | fields)


def test_fallback_answers_without_a_key_and_says_why(fake_scorer: FakeScorer) -> None:
    service, _, scrapes = build(fake_scorer)
    response = service.recommend(request())
    assert response.meta.generator is Generator.FALLBACK
    assert response.meta.generator_reason == "no_api_key"
    assert response.meta.candidates_analyzed == 3  # the candidates about the topic (conftest's word-overlap encoder)
    assert response.meta.model_version == "fake-1"
    assert response.meta.fresh_candidates is True
    assert response.meta.scrape_job_id is None
    assert scrapes.requested == []
    assert len(response.ideas) == 5
    assert [c.video_id for c in response.inspired_by] == ["vid00", "vid01", "vid04"]
    assert all(c.relevance >= RELEVANCE_THRESHOLD for c in response.inspired_by)
    assert {p.text for p in response.patterns.top_phrases[:2]} == {"full body", "home workout"}
    assert response.evidence.model_dump() == {
        "relevant_videos": 3,
        "videos_checked": 8,
        "level": "thin",
        "relevance_threshold": RELEVANCE_THRESHOLD,
        "summary": "Based on only 3 stored videos about \u201chome workouts\u201d: thin evidence, so treat the "
        "patterns as hints.",
    }


def test_videos_below_the_relevance_threshold_are_neither_inspiration_nor_patterns(fake_scorer: FakeScorer) -> None:
    """The most viral stored video of the topic's leaderboard is about something else: it is left out entirely."""
    unrelated = Candidate(
        video_id="song",
        title="Three Dog Night - Mama Told Me Not to Come",
        tags=("classic rock",),
        published_at=NOW - timedelta(days=1),
        viral_probability=0.99,
        text_embedding=stored_embedding("Three Dog Night - Mama Told Me Not to Come", ("classic rock",)),
    )
    service, _, _ = build(fake_scorer, candidates=[unrelated, *make_candidates()])
    response = service.recommend(request(count=10))
    assert "song" not in {c.video_id for c in response.inspired_by}
    assert response.evidence.videos_checked == 9
    assert response.evidence.relevant_videos == 3
    words = {w.casefold() for i in response.ideas for t in i.title_variants for w in t.title.split()}
    assert not words & {"dog", "night", "mama", "rock"}  # no title word only the unrelated video has
    assert "classic rock" not in {t.text for t in response.patterns.top_tags}


def test_a_video_without_a_stored_embedding_is_not_evidence(fake_scorer: FakeScorer) -> None:
    unscored = [c.model_copy(update={"text_embedding": None}) for c in make_candidates()]
    service, _, scrapes = build(fake_scorer, candidates=unscored)
    response = service.recommend(request())
    assert response.evidence.videos_checked == 0
    assert response.evidence.level == "none"
    assert response.inspired_by == []
    assert scrapes.requested == [TOPIC]


def test_ideas_are_scored_pre_publish_at_the_best_slot_and_ranked_by_probability(fake_scorer: FakeScorer) -> None:
    service, _, _ = build(fake_scorer)
    response = service.recommend(request(count=6))
    probabilities = [idea.viral_probability for idea in response.ideas]
    assert probabilities == sorted(probabilities, reverse=True)
    assert len(set(probabilities)) > 1  # the order is not trivially the generation order
    assert [idea.rank for idea in response.ideas] == [1, 2, 3, 4, 5, 6]
    for idea in response.ideas:
        assert idea.viral_probability == pytest.approx(min(len(idea.title) / 100.0, 0.9) + SLOT_BONUS)
        best = idea.best_posting_time
        assert (best.weekday.value, best.hour_utc, best.slots_scanned) == ("tuesday", BEST_HOUR, HOURS_PER_WEEK)
        assert idea.planned_published_at == NOW + timedelta(days=1, hours=5)  # NOW is Monday 12:00 UTC
        assert best.viral_probability == idea.viral_probability
    # Three batched calls whatever the count: every idea at every slot of the week, every wording at its
    # idea's best slot, the winners explained.
    assert fake_scorer.calls == [
        (6 * HOURS_PER_WEEK, False),
        (sum(len(i.title_variants) for i in response.ideas), False),
        (6, True),
    ]
    for observation in fake_scorer.seen:
        assert observation.regime is Regime.PRE_PUBLISH
        assert observation.view_count is None
        assert observation.category_id == 26  # the relevant videos (vid00, vid01, vid04) are mostly category 26
    assert all("home workouts" in observation.tags for observation in fake_scorer.seen)
    scanned_titles = [observation.title for observation in fake_scorer.seen[: 6 * HOURS_PER_WEEK]]
    assert len(set(scanned_titles)) == 6  # each idea's own title, not a shared stand-in


def test_each_idea_is_titled_by_its_best_scoring_wording(fake_scorer: FakeScorer) -> None:
    service, _, _ = build(fake_scorer)
    for idea in service.recommend(request(count=5)).ideas:
        variants = idea.title_variants
        assert 2 <= len(variants) <= 3
        assert variants[0].title == idea.title
        assert [v.viral_probability for v in variants] == sorted((v.viral_probability for v in variants), reverse=True)
        assert len({v.title.casefold() for v in variants}) == len(variants)
        assert sum(v.original for v in variants) == 1
        assert idea.miles_score == variants[0].miles_score


def test_each_idea_has_a_reason_from_the_explanation(fake_scorer: FakeScorer) -> None:
    service, _, _ = build(fake_scorer)
    idea = service.recommend(request(count=1)).ideas[0]
    assert idea.contributions == {"text": 0.4, "timing": SLOT_BONUS, "category": -0.2}
    assert idea.reason == "What the title says and the Tuesday 17:00 UTC slot lift it most; its category holds it back."
    assert fake_scorer.calls[-1] == (1, True)
    assert "home workouts videos" in idea.reasoning  # which pattern it uses, from which videos, kept


def test_fallback_response_is_deterministic(fake_scorer: FakeScorer) -> None:
    first, _, _ = build(fake_scorer)
    second, _, _ = build(FakeScorer())
    assert first.recommend(request()).model_dump() == second.recommend(request()).model_dump()


def test_second_identical_call_is_served_from_cache(fake_scorer: FakeScorer) -> None:
    service, cache, _ = build(fake_scorer)
    first = service.recommend(request(topic="Home  Workouts"))
    second = service.recommend(request(topic=" home workouts "))
    assert first.meta.cached is False
    assert second.meta.cached is True
    assert second.ideas == first.ideas
    assert cache.puts == 1
    assert len(fake_scorer.calls) == 3  # scored once (scan, wordings, explanation)
    other = service.recommend(request(count=4))
    assert other.meta.cached is False  # count is part of the key


def test_cache_expires(fake_scorer: FakeScorer) -> None:
    now = [NOW]
    cache = InMemoryCache(clock=lambda: now[0])
    service, _, _ = build(fake_scorer, cache=cache)
    service.recommend(request())
    now[0] = NOW + timedelta(seconds=601)
    assert service.recommend(request()).meta.cached is False


def test_no_candidates_requests_a_scrape_and_still_answers(fake_scorer: FakeScorer) -> None:
    service, _, scrapes = build(fake_scorer, candidates=[])
    response = service.recommend(request(topic="Underwater Basket Weaving"))
    assert scrapes.requested == ["underwater basket weaving"]
    assert response.meta.scrape_job_id == "job-1"
    assert response.meta.fresh_candidates is False
    assert response.meta.candidates_analyzed == 0
    assert response.inspired_by == []
    assert len(response.ideas) == 5  # ideas from the topic alone, still scored
    assert response.evidence.level == "none"
    assert response.evidence.summary.startswith(
        "Miles has no stored videos about \u201cunderwater basket weaving\u201d yet (0 checked), so these ideas "
        "are generic"
    )
    assert response.evidence.summary.endswith("A scrape of the topic was requested; ask again in a few minutes.")
    assert all(i.reasoning.startswith("Generic idea:") for i in response.ideas)
    assert all("Underwater Basket Weaving" in i.title for i in response.ideas)


def test_only_stale_candidates_requests_a_scrape_and_uses_what_exists(fake_scorer: FakeScorer) -> None:
    stale = make_candidates(age=timedelta(days=60))
    service, _, scrapes = build(fake_scorer, candidates=stale)
    response = service.recommend(request())
    assert scrapes.requested == [TOPIC]
    assert response.meta.fresh_candidates is False
    assert response.meta.candidates_analyzed == 3
    assert response.inspired_by[0].video_id == "vid00"


def test_llm_ideas_are_scored_by_the_real_model(predictor: Predictor) -> None:
    with FakeLLMServer("good") as server:
        generator = LLMIdeaGenerator.create("sk-test", server.base_url, LLMSettings(model="m"))
        service, _, _ = build(predictor, generator=generator, reason="llm_ok")
        response = service.recommend(request(count=3, vibe=Vibe.HYPE))
    assert response.meta.generator is Generator.LLM
    assert response.meta.generator_reason == "llm_ok"
    assert response.meta.model_version == predictor.version
    assert all(idea.title.startswith("LLM idea") for idea in response.ideas)
    probabilities = [idea.viral_probability for idea in response.ideas]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    for idea in response.ideas:  # the real model's explanation and scores reach every idea
        assert idea.miles_score is not None
        assert 0.0 <= idea.miles_score <= 100.0
        assert set(idea.contributions) >= {"text", "timing"}
        assert idea.reason.endswith(".")
        assert len(idea.title_variants) == 3
        assert idea.title_variants[0].title == idea.title
        assert idea.planned_published_at.weekday() == list(Weekday).index(idea.best_posting_time.weekday)


@pytest.mark.parametrize(("mode", "reason"), [("malformed", "llm_malformed_json"), ("refuse", "llm_refused")])
def test_llm_failure_falls_back_and_says_why(fake_scorer: FakeScorer, mode: str, reason: str) -> None:
    with FakeLLMServer(mode) as server:
        generator = LLMIdeaGenerator.create("sk-test", server.base_url, LLMSettings(model="m"))
        service, cache, _ = build(fake_scorer, generator=generator, reason="llm_ok")
        response = service.recommend(request())
    assert response.meta.generator is Generator.FALLBACK
    assert response.meta.generator_reason == reason
    assert not any(idea.title.startswith("LLM idea") for idea in response.ideas)
    (entry,) = cache.entries.values()
    assert entry[0] - NOW.timestamp() <= 120  # a degraded answer is cached briefly


def test_week_slots_hold_every_weekday_and_hour_once_at_their_next_occurrence() -> None:
    from miles_core.recommend.idea_scoring import week_slots

    slots = week_slots(NOW + timedelta(minutes=20))
    assert slots[0] == NOW + timedelta(hours=2)  # the first whole hour at least one hour away
    assert len({(s.weekday(), s.hour) for s in slots}) == HOURS_PER_WEEK == len(slots)
    assert slots[-1] - slots[0] == timedelta(hours=HOURS_PER_WEEK - 1)
    assert week_slots(NOW)[0] == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("contributions", "sentence"),
    [
        ({"text": -0.3, "lexical": 0.01}, "Nothing lifts it much; what the title says holds it back."),
        ({"timing": 0.2, "text": 0.01}, "The Monday 13:00 UTC slot lifts it most."),
        ({"text": 0.01}, "No single part moves it much"),
        ({"timing": 0.3, "channel": -2.0}, "The Monday 13:00 UTC slot lifts it most; the channel holds it back."),
    ],
)
def test_the_reason_names_what_lifts_and_what_holds_back(contributions: dict[str, float], sentence: str) -> None:
    from miles_core.recommend.idea_scoring import reason_sentence

    assert reason_sentence(contributions, NOW + timedelta(hours=1)).startswith(sentence)


@pytest.mark.parametrize(
    ("spread", "sentence"),
    [
        (0.4, "Timing barely matters for this idea: every hour of the week scores within 0.4 points; "),
        (6.2, "Timing matters: Tuesday 17:00 UTC scores 6.2 points above the weakest hour (Sunday 03:00 UTC)."),
    ],
)
def test_the_posting_time_says_how_peaked_the_week_is(spread: float, sentence: str) -> None:
    tuesday, sunday = datetime(2026, 5, 5, 17, tzinfo=UTC), datetime(2026, 5, 10, 3, tzinfo=UTC)
    scan = WeekScan(best=tuesday, worst=sunday, spread=spread)
    assert scan.timing().startswith(sentence)


def test_every_idea_has_one_posting_time(fake_scorer: FakeScorer) -> None:
    service, _, _ = build(fake_scorer)
    for idea in service.recommend(request()).ideas:
        document = idea.model_dump()
        assert "suggested_posting_hour_utc" not in document
        assert idea.best_posting_time.week_spread == 0.0  # the fake's miles_score ignores the slot
        assert idea.best_posting_time.timing.startswith("Timing barely matters")


def test_each_inspiration_carries_views_age_growth_and_its_channel_multiple(fake_scorer: FakeScorer) -> None:
    history = {"vid00": [(NOW - timedelta(hours=25), 400), (NOW - timedelta(hours=1), 1000)]}
    service, _, _ = build(fake_scorer, histories=history)
    cards = {card.video_id: card for card in service.recommend(request()).inspired_by}
    first = cards["vid00"]
    assert (first.view_count, first.age_hours, first.snapshots) == (1000, 42.0, 2)
    assert first.views_per_hour == 25.0  # (1000 - 400) views over the 24 h between its snapshots
    # Channel 0 has three stored videos (vid00, vid03, vid06): lifetime views/hour 23.8, 95.2, 170.7.
    assert first.channel_videos == 3
    assert first.channel_multiple == round((1000 / 42) / (4000 / 42), 2)
    # Channel 1 has vid01, vid04, vid07 too; a channel with fewer than three stored videos gets no multiple.
    lonely = make_candidates()[:2]
    service, _, _ = build(FakeScorer(), candidates=lonely)
    (card,) = [c for c in service.recommend(request()).inspired_by if c.video_id == "vid00"]
    assert (card.channel_videos, card.channel_multiple, card.views_per_hour, card.snapshots) == (1, None, None, 0)
