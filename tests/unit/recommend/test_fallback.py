"""The fallback generator is deterministic, data-driven and always returns valid ideas."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from miles_core.recommend.fallback import display_case, generate_fallback_ideas
from miles_core.recommend.ideas import MAX_COUNT, IdeaDraft, Vibe
from miles_core.recommend.patterns import Candidate, extract_patterns


def test_same_input_same_ideas(candidates: list[Candidate]) -> None:
    patterns = extract_patterns(candidates)
    first = generate_fallback_ideas("home workouts", Vibe.EDUCATIONAL, 5, patterns, candidates)
    second = generate_fallback_ideas(
        "home workouts", Vibe.EDUCATIONAL, 5, extract_patterns(list(candidates)), list(candidates)
    )
    assert first == second
    assert len(first) == 5


@pytest.mark.parametrize("vibe", list(Vibe))
@pytest.mark.parametrize("count", [1, 4, MAX_COUNT])
def test_every_vibe_gives_count_distinct_valid_ideas(candidates: list[Candidate], vibe: Vibe, count: int) -> None:
    ideas = generate_fallback_ideas("home workouts", vibe, count, extract_patterns(candidates))
    assert len(ideas) == count
    assert len({i.title.casefold() for i in ideas}) == count
    for idea in ideas:
        IdeaDraft.model_validate(idea.model_dump())  # within every schema bound


def test_ideas_use_the_patterns_and_name_the_videos(candidates: list[Candidate]) -> None:
    patterns = extract_patterns(candidates)
    ideas = generate_fallback_ideas("home workouts", Vibe.EDUCATIONAL, 5, patterns, candidates)
    # The topic as a creator reads it, then the recurring phrase of the videos as a second subject.
    assert "Home Workouts" in ideas[0].title
    assert any("Home Workout " in i.title or i.title.endswith("Home Workout") for i in ideas[1:]), ideas
    assert {i.suggested_duration_seconds for i in ideas} == {38}
    assert all("Keep it around 38 s" in i.reasoning for i in ideas)
    # Number hooks are the most common hook in the data, so a number template comes first, and its
    # reasoning names how many videos use one and which.
    assert any(ch.isdigit() for ch in ideas[0].title)
    assert "a number in the title, like 4 of the 8 home workouts videos" in ideas[0].reasoning
    assert "\u201cNo Gym? 5 Home Workout Moves" in ideas[0].reasoning
    assert all("%" not in i.reasoning and "default" not in i.reasoning for i in ideas)


def test_without_relevant_videos_the_ideas_say_they_are_generic() -> None:
    ideas = generate_fallback_ideas("skincare for men", Vibe.EDUCATIONAL, 5, extract_patterns([]))
    assert all(i.reasoning.startswith("Generic idea: Miles has no stored videos about skincare for men") for i in ideas)
    assert all("Skincare for Men" in i.title for i in ideas), [i.title for i in ideas]
    assert all("Keep it around" not in i.reasoning for i in ideas)


@pytest.mark.parametrize("vibe", list(Vibe))
def test_no_idea_is_a_part_2_of_another(vibe: Vibe, candidates: list[Candidate]) -> None:
    for patterns, videos in ((extract_patterns(candidates), candidates), (extract_patterns([]), [])):
        ideas = generate_fallback_ideas("home workouts", vibe, MAX_COUNT, patterns, videos)
        assert not any("(part" in t.casefold() for i in ideas for t in i.titles)
        # Near-duplicates differ by a number only ("3 Mistakes" / "5 Mistakes"): none in one answer.
        shapes = {re.sub(r"\d+", "#", i.title.casefold()) for i in ideas}
        assert len(shapes) == MAX_COUNT


LENGTH = re.compile(r"(?<!under )\b(\d+|an?)\s+(?:\w+,?\s+){0,2}?(seconds?|minutes?|hours?)\b", re.IGNORECASE)
"""A stated length: "60 Cozy Minutes", "a Slow, Cozy Hour" ("under a minute" is a bound, not a length)."""
SECONDS_PER = {"second": 1, "minute": 60, "hour": 3600}


@pytest.mark.parametrize("vibe", list(Vibe))
def test_no_wording_promises_a_longer_video_than_the_suggested_length(vibe: Vibe, candidates: list[Candidate]) -> None:
    """The page shows "Length: 30 s" beside the title: "60 Cozy Minutes of ..." over it reads as a contradiction."""
    for patterns, videos in ((extract_patterns(candidates), candidates), (extract_patterns([]), [])):
        for idea in generate_fallback_ideas("home workouts", vibe, MAX_COUNT, patterns, videos):
            for text in (*idea.titles, idea.description, idea.hook):
                for number, unit in LENGTH.findall(text):
                    seconds = int(number if number.isdigit() else 1) * SECONDS_PER[unit.casefold().rstrip("s")]
                    assert seconds <= idea.suggested_duration_seconds, (text, idea.suggested_duration_seconds)


def test_vibes_give_different_ideas(candidates: list[Candidate]) -> None:
    patterns = extract_patterns(candidates)
    titles = {
        vibe: {i.title for i in generate_fallback_ideas("home workouts", vibe, 4, patterns, candidates)}
        for vibe in Vibe
    }
    for vibe in Vibe:
        for other in Vibe:
            assert vibe is other or not titles[vibe] & titles[other]


@pytest.mark.parametrize(
    ("topic", "titles", "shown"),
    [
        ("skincare for men", (), "Skincare for Men"),
        ("iphone tips", ("My iPhone setup", "iPhone 16 review", "IPHONE HACKS"), "iPhone Tips"),
        ("nba highlights", ("NBA top 10", "Best NBA dunks"), "NBA Highlights"),
        ("minecraft", ("MINECRAFT but…", "Minecraft hardcore", "Minecraft SMP"), "Minecraft"),
    ],
)
def test_the_topic_is_cased_as_the_videos_write_it(topic: str, titles: tuple[str, ...], shown: str) -> None:
    assert display_case(topic, titles) == shown


def test_a_phrase_without_a_topic_word_is_never_a_subject() -> None:
    """A tag like a rapper's name ("42 dugg") on two cooking videos once made "How to Get Better at 42 Dugg Cooking"."""
    videos = [
        Candidate(video_id=f"v{i}", title=f"Cooking pasta night {i}", tags=("42 dugg", "max the meat guy", "cooking"))
        for i in range(3)
    ]
    ideas = generate_fallback_ideas("cooking", Vibe.EDUCATIONAL, MAX_COUNT, extract_patterns(videos), videos)
    assert not any("dugg" in t.casefold() or "meat guy" in t.casefold() for i in ideas for t in i.titles)


@pytest.mark.parametrize("vibe", list(Vibe))
def test_a_topic_long_enough_to_clip_every_title_still_gets_distinct_ideas(
    vibe: Vibe, candidates: list[Candidate]
) -> None:
    """Found by the contract fuzzer: an 80-character topic made every title clip to one prefix (endless loop)."""
    topic = "0" * 79
    ideas = generate_fallback_ideas(topic, vibe, 10, extract_patterns(candidates))
    assert len({idea.title.casefold() for idea in ideas}) == 10
    assert all(len(idea.title) <= 100 for idea in ideas)


TOPICS = ["minecraft", "home workouts", "football", "makeup tutorials", "street food", "cats"]


def _candidates_for(topic: str) -> list[Candidate]:
    """A topic's top videos: recurring tags (one adjective, one noun phrase), no recurring phrase."""
    return [
        Candidate(
            video_id=f"v{i}",
            title=f"{topic}: {('alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel')[i]} {i}",
            tags=(topic, "funny", f"{topic} tips"),
            published_at=datetime(2026, 5, 1, 12 + i % 3, tzinfo=UTC),
        )
        for i in range(8)
    ]


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("vibe", list(Vibe))
def test_titles_are_grammatical_for_any_topic(topic: str, vibe: Vibe) -> None:
    for patterns in (extract_patterns(_candidates_for(topic)), extract_patterns([])):
        for idea in generate_fallback_ideas(topic, vibe, 5, patterns):
            for wording in idea.titles:  # the title and its alternatives follow the same grammar
                title = wording.casefold()
                assert f"how to {topic}" not in title  # the topic is never used as a verb
                assert not re.search(rf"\d+ {re.escape(topic)} (mistakes|moments|tips)", title)  # nor as a modifier
                assert " funny wrong" not in title  # a bare adjective tag is never the subject
                assert not set("{}") & set(title)  # every placeholder filled
            assert "{" not in idea.reasoning
            assert idea.reasoning.endswith(".")


@pytest.mark.parametrize("vibe", list(Vibe))
def test_every_idea_has_distinct_alternative_titles_for_the_same_subject(
    vibe: Vibe, candidates: list[Candidate]
) -> None:
    patterns = extract_patterns(candidates)
    for idea in generate_fallback_ideas("home workouts", vibe, 10, patterns):
        assert 1 <= len(idea.alternative_titles) <= 2
        assert len({t.casefold() for t in idea.titles}) == len(idea.titles)
        # Wordings of the same video: every one names what the idea films (a phrase of the topic).
        assert all("home" in t.casefold() or "workout" in t.casefold() for t in idea.titles), idea.titles


@pytest.mark.parametrize("topic", TOPICS)
def test_ideas_vary_and_name_the_pattern_they_use(topic: str) -> None:
    videos = _candidates_for(topic)
    ideas = generate_fallback_ideas(topic, Vibe.EDUCATIONAL, MAX_COUNT, extract_patterns(videos), videos)
    assert len({i.title.split()[0] for i in ideas[:5]}) >= 4  # different shapes, not one template five times
    reasons = " ".join(i.reasoning for i in ideas)
    assert f"\u201c{topic} tips\u201d is tagged 8 of the 8 {topic} videos" in reasons
    assert not any("funny" in i.title.casefold() for i in ideas)  # an adjective tag is not a subject
