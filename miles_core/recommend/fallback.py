"""Deterministic idea generator built from the same trend patterns the LLM sees.

Used when no LLM key is configured or the LLM fails, so a creator always gets ideas grounded in
what is actually trending. Same (topic, vibe, count, patterns, candidates) in, same ideas out: no
randomness, no clock. Templates are tagged with the hook they use and ordered by how often that hook
appears in the relevant videos' titles, so the data decides which shapes come first.

What goes into a title: the topic, cased the way the relevant videos write its words ("iPhone",
"NBA") or in title case, and phrases that recur in at least two relevant videos and contain a topic
word ("minecraft survival"). A tag or phrase without a topic word ("42 dugg", "max the meat guy") is
a channel or song name more often than an angle, so it is never a subject. Each idea is a different
(template, subject) pair; when the vibe's templates run out, other vibes' templates follow, never a
"(Part 2)" of an earlier title. With no relevant videos the ideas are generic and say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from miles_core.recommend.ideas import (
    MAX_ALTERNATIVE_TITLES,
    MAX_HOOK_CHARS,
    MAX_IDEA_DESCRIPTION_CHARS,
    MAX_IDEA_DURATION_SECONDS,
    MAX_IDEA_TITLE_CHARS,
    MAX_REASONING_CHARS,
    MIN_IDEA_DURATION_SECONDS,
    IdeaDraft,
    Vibe,
)
from miles_core.recommend.patterns import HOOKS, Candidate, Patterns, words

DEFAULT_DURATION_SECONDS = 30
"""A typical Short when the relevant videos give no duration (the reasoning then names no duration)."""
STYLE_THRESHOLD = 0.3
"""An emoji is added when at least this share of the relevant videos' titles uses one."""


@dataclass(frozen=True)
class Template:
    """One idea shape: its title, hook and description, and other wordings of the same title.

    ``variants`` are (hook kind, title) pairs for the same video, ordered by the data like the templates
    (the hook most top titles use first); the model then ranks every wording.
    """

    hook_kind: str
    title: str
    hook: str
    description: str
    variants: tuple[tuple[str, str], ...]


_TEMPLATES: dict[Vibe, tuple[Template, ...]] = {
    # Grammar rule: {subject} is any noun phrase (singular or plural, one word or four: "minecraft",
    # "home workouts", "hermitcraft 11 episode"), so it only ever follows a preposition or a verb and
    # is never used as a verb ("How to Home Workouts") or a modifier ("3 Home Workouts Mistakes").
    Vibe.EDUCATIONAL: (
        Template(
            "how_to",
            "How to Get Better at {subject} in {n} Steps",
            "Show the finished result, then say: 'here's how in {n} steps'.",
            "A fast {n}-step guide to {subject} for anyone into {topic}.",
            (
                ("number", "{n} Steps to Get Better at {subject}"),
                ("question", "Want to Get Better at {subject}? Do These {n} Things"),
            ),
        ),
        Template(
            "number",
            "{n} Mistakes Everyone Makes With {subject}",
            "Open on the most common mistake, mid-action.",
            "{n} mistakes people make with {subject}, and the quick fix for each.",
            (
                ("you", "Stop Making These {n} Mistakes With {subject}"),
                ("question", "Are You Making These {n} Mistakes With {subject}?"),
            ),
        ),
        Template(
            "question",
            "{subject}: What Actually Works?",
            "Ask the question on screen, answer it in one sentence.",
            "The simple explanation behind {subject}, in under a minute.",
            (
                ("how_to", "What Actually Works for {subject}, Explained"),
                ("you", "The Truth About {subject} Nobody Tells You"),
            ),
        ),
        Template(
            "superlative",
            "The Best-Kept Secret of {subject}",
            "Do the trick in the first second, then rewind.",
            "One underrated trick for {subject}, from the world of {topic}.",
            (
                ("you", "The Secret of {subject} You Need to Know"),
                ("question", "Why Does Nobody Talk About This Secret of {subject}?"),
            ),
        ),
        Template(
            "you",
            "You're Doing {subject} Wrong",
            "Point at the camera: 'you're doing this wrong'.",
            "The fix most people miss about {subject}.",
            (("question", "Are You Doing {subject} Wrong?"), ("how_to", "How to Stop Getting {subject} Wrong")),
        ),
    ),
    Vibe.FUNNY: (
        Template(
            "pov",
            "POV: You Just Discovered {subject}",
            "Exaggerated reaction shot, no intro.",
            "A relatable skit about {subject} that every {topic} fan knows.",
            (
                ("you", "When You Just Discovered {subject}"),
                ("question", "Remember When You First Discovered {subject}?"),
            ),
        ),
        Template(
            "you",
            "When You Try {subject} for the First Time",
            "Cut straight to the first failed attempt.",
            "Expectation vs reality: {subject} edition.",
            (
                ("pov", "POV: Trying {subject} for the First Time"),
                ("question", "Who Else Failed at {subject} the First Time?"),
            ),
        ),
        Template(
            "number",
            "{n} Types of People You Meet in {subject}",
            "Type #1 appears before the title card.",
            "{n} characters everyone meets around {subject}.",
            (
                ("pov", "POV: The {n} Types of People in {subject}"),
                ("question", "Which of These {n} Types Are You in {subject}?"),
            ),
        ),
        Template(
            "question",
            "Who Else Does This With {subject}?",
            "Show the weird habit first, ask the question after.",
            "The habit around {subject} nobody admits to.",
            (("pov", "POV: You Do This With {subject} Too"), ("you", "You Do This With {subject} Too, Admit It")),
        ),
    ),
    Vibe.INSPIRING: (
        Template(
            "number",
            "{n} Days of {subject}: Before vs After",
            "Flash the 'after' for one second, then go back to day 1.",
            "What {n} days of {subject} changed, shown honestly.",
            (
                ("superlative", "The Biggest Change From {n} Days of {subject}"),
                ("you", "Try {n} Days of {subject} and See What Happens"),
            ),
        ),
        Template(
            "you",
            "If You Think You Can't Do {subject}, Watch This",
            "Start on the hardest moment of the journey.",
            "A short story about {subject} for anyone starting out in {topic}.",
            (
                ("question", "Think You Can't Do {subject}?"),
                ("superlative", "The Best Reason to Start With {subject} Today"),
            ),
        ),
        Template(
            "superlative",
            "The Best Lesson I Learned From {subject}",
            "Say the lesson first, then show where it came from.",
            "One lesson from {subject} that sticks.",
            (("number", "{n} Lessons I Learned From {subject}"), ("you", "You Can Learn This From {subject} Too")),
        ),
        Template(
            "question",
            "What Happens When You Never Skip {subject}?",
            "Show the streak counter on screen.",
            "Consistency with {subject}, one clip per day.",
            (("number", "{n} Days Without Skipping {subject}"), ("you", "You Should Never Skip {subject}. Here's Why")),
        ),
    ),
    Vibe.DRAMATIC: (
        Template(
            "question",
            "What Really Happened With {subject}?",
            "Open on the reveal shot, blurred.",
            "The story behind {subject}, told in order.",
            (
                ("superlative", "The Real Story Behind {subject}"),
                ("you", "You Don't Know What Really Happened With {subject}"),
            ),
        ),
        Template(
            "superlative",
            "My Biggest Mistake With {subject}",
            "Start with 'this cost me everything'.",
            "A storytime about {subject} with a twist at the end.",
            (
                ("question", "Was This My Biggest Mistake With {subject}?"),
                ("number", "{n} Things I Got Wrong With {subject}"),
            ),
        ),
        Template(
            "number",
            "{n} Seconds That Changed {subject} Forever",
            "A countdown timer on screen from frame one.",
            "The moment {subject} turned, second by second.",
            (
                ("question", "Did These {n} Seconds Change {subject} Forever?"),
                ("superlative", "The Moment That Changed {subject} Forever"),
            ),
        ),
        Template(
            "pov",
            "POV: Everything Goes Wrong With {subject}",
            "Begin mid-disaster.",
            "Everything that can go wrong with {subject}, in one take.",
            (("you", "When Everything Goes Wrong With {subject}"), ("question", "What Could Go Wrong With {subject}?")),
        ),
    ),
    Vibe.CHILL: (
        Template(
            "none",
            "A Slow, Cozy Moment of {subject}",
            "Ambient sound only; no talking for the first 3 seconds.",
            "A calm, satisfying routine around {subject} for {topic} lovers.",
            (("pov", "POV: A Slow, Cozy Moment of {subject}"), ("number", "{n} Cozy Moments of {subject}")),
        ),
        Template(
            "number",
            "{n} Satisfying Moments of {subject}",
            "Close-up, natural sound, no text.",
            "Relax with {n} short moments of {subject}.",
            (
                ("superlative", "The {n} Most Satisfying Moments of {subject}"),
                ("none", "Relax With {n} Moments of {subject}"),
            ),
        ),
        Template(
            "pov",
            "POV: A Quiet Morning of {subject}",
            "Soft light, one continuous shot.",
            "An aesthetic moment of {subject}.",
            (("none", "A Quiet Morning of {subject}"), ("question", "Is This the Calmest Morning of {subject}?")),
        ),
        Template(
            "question",
            "Could This Be the Calmest Take on {subject}?",
            "Start on the most satisfying frame.",
            "Slow, cozy {topic} for winding down.",
            (("superlative", "The Calmest Take on {subject}"), ("pov", "POV: The Calmest Take on {subject}")),
        ),
    ),
    Vibe.HYPE: (
        Template(
            "challenge",
            "Challenge: Can You Beat Me at {subject}?",
            "Show the score to beat in the first frame.",
            "A challenge around {subject}: try it and post your result.",
            (("you", "You Can't Beat Me at {subject}"), ("question", "Can Anyone Beat Me at {subject}?")),
        ),
        Template(
            "number",
            "{n} Insane Moments in {subject}",
            "Start with moment #1, loudest first.",
            "The {n} wildest moments of {subject} in {topic} right now.",
            (
                ("superlative", "The {n} Most Insane Moments in {subject}"),
                ("question", "Can You Handle These {n} Moments in {subject}?"),
            ),
        ),
        Template(
            "superlative",
            "The Craziest Thing I've Ever Seen in {subject}",
            "Timer on screen, go on frame one.",
            "The wildest clip of {subject} on the internet right now.",
            (
                ("question", "Is This the Craziest Thing in {subject}?"),
                ("you", "You Won't Believe What I Saw in {subject}"),
            ),
        ),
        Template(
            "you",
            "You Won't Believe What Happened in {subject}",
            "Reaction face first, then the clip.",
            "A moment of {subject} you have to see twice.",
            (("question", "What Just Happened in {subject}?"), ("pov", "POV: The Wildest Moment in {subject}")),
        ),
    ),
}

_VIBE_EMOJI: dict[Vibe, str] = {
    Vibe.EDUCATIONAL: "💡",
    Vibe.FUNNY: "😂",
    Vibe.INSPIRING: "🔥",
    Vibe.DRAMATIC: "😱",
    Vibe.CHILL: "🌿",
    Vibe.HYPE: "🚀",
}

_NUMBERS = (3, 5, 7, 10)


_SMALL_WORDS = frozenset(
    ("a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with")
)
"""Words title case leaves lower case (unless first)."""


def _observed_casing(titles: Sequence[str]) -> dict[str, str]:
    """Each word's most common written form in ``titles``, ignoring shouted forms of words longer than 4 letters."""
    forms: dict[str, Counter[str]] = {}
    for title in titles:
        for token in title.split():
            bare = token.strip(".,:;!?\"'()[]|#*")
            if not bare or (bare.isupper() and len(bare) > 4) or bare == bare.lower():
                continue
            forms.setdefault(bare.casefold(), Counter())[bare] += 1
    return {word: counter.most_common(1)[0][0] for word, counter in forms.items()}


def display_case(text: str, titles: Sequence[str] = ()) -> str:
    """``text`` cased for a title: each word as the relevant videos write it, else title case (small words lower)."""
    casing = _observed_casing(titles)
    parts = []
    for index, word in enumerate(text.split()):
        if word.casefold() in casing:
            parts.append(casing[word.casefold()])
        elif index > 0 and word.casefold() in _SMALL_WORDS:
            parts.append(word.lower())
        elif word.islower():
            parts.append(word[:1].upper() + word[1:])
        else:
            parts.append(word)
    return " ".join(parts)


def _clip(text: str, limit: int) -> str:
    """Cut at a word boundary so limits never produce half words."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,:;-")
    return cut + "…"


MAX_SUBJECT_WORDS = 4
"""Longer tags and phrases are sentences or channel slogans, not something to film."""


@dataclass(frozen=True)
class Subject:
    """What an idea films: the topic itself, or a phrase of the relevant videos that contains a topic word."""

    text: str
    pattern: str | None
    """Where it was observed, in words ("“minecraft survival” in 4 of the 12 minecraft videos"); None for the topic."""


def _reads_as_phrase(tokens: list[str]) -> bool:
    """Words, not a catalogue number or a handle: every token alphabetic, at least one longer than 2 letters."""
    return all(token.replace("'", "").isalpha() for token in tokens) and any(len(token) > 2 for token in tokens)


def _subjects(topic: str, patterns: Patterns) -> list[Subject]:
    """The topic first, then recurring tags and title phrases of the relevant videos that contain a topic word."""
    topic_words = set(words(topic))
    total = patterns.candidates_analyzed
    subjects = [Subject(topic, None)]
    seen = {" ".join(words(topic))}
    found = [(tag, "tagged") for tag in patterns.top_tags] + [(p, "in the titles of") for p in patterns.top_phrases]
    for entry, where in found:
        tokens = words(entry.text)
        key = " ".join(tokens)
        if entry.count < 2 or not tokens or len(tokens) > MAX_SUBJECT_WORDS or key in seen:
            continue
        if not topic_words & set(tokens) or not _reads_as_phrase(tokens):
            continue
        seen.add(key)
        subjects.append(Subject(key, f"\u201c{key}\u201d is {where} {entry.count} of the {total} {topic} videos"))
    return subjects


def _ordered_variants(template: Template, patterns: Patterns) -> list[tuple[str, str]]:
    """The template's other wordings, most data-supported hook first (stable for equal shares)."""
    return sorted(template.variants, key=lambda variant: -patterns.hooks.get(variant[0], 0.0))


def _ordered_templates(vibe: Vibe, patterns: Patterns) -> list[Template]:
    """The vibe's templates, most data-supported hook first (stable for equal shares)."""
    return sorted(_TEMPLATES[vibe], key=lambda t: -patterns.hooks.get(t.hook_kind, 0.0))


def _plan(vibe: Vibe, patterns: Patterns, subjects: list[Subject]) -> list[tuple[Template, Subject]]:
    """Every (template, subject) pair once: the vibe's templates over the subjects in turns, then other vibes'."""
    templates = _ordered_templates(vibe, patterns)
    pairs = [
        (template, subjects[(index + turn) % len(subjects)])
        for turn in range(len(subjects))
        for index, template in enumerate(templates)
    ]
    for other in Vibe:
        if other is not vibe:
            pairs += [(template, subjects[0]) for template in _ordered_templates(other, patterns)]
    return pairs


def _duration(patterns: Patterns) -> tuple[int, str]:
    median = patterns.duration_seconds.median
    if median is None:
        return DEFAULT_DURATION_SECONDS, ""
    seconds = int(min(max(round(median), MIN_IDEA_DURATION_SECONDS), MAX_IDEA_DURATION_SECONDS))
    return seconds, f" Keep it around {seconds} s, the typical length of those videos."


HOOK_WORDS = {
    "number": "a number in the title",
    "question": "a question title",
    "emoji": "an emoji",
    "how_to": "a how-to title",
    "pov": "a POV title",
    "you": "a title that talks to the viewer",
    "superlative": "a superlative (best, biggest, secret)",
    "challenge": "a challenge",
}
"""How each hook of ``patterns.HOOKS`` is named to a creator."""


def _hook_reason(hook_kind: str, topic: str, candidates: Sequence[Candidate]) -> str:
    """Which relevant videos use the idea's hook, named by title; or that none does."""
    if hook_kind not in HOOKS:
        return "It skips the hook and lets the first shot carry it."
    users = [c.title for c in candidates if HOOKS[hook_kind](c.title)]
    name = HOOK_WORDS[hook_kind]
    if not users:
        return f"None of the {len(candidates)} {topic} videos uses {name}, so this tries an opening they leave free."
    example = _clip(users[0], 70)
    share = f"{len(users)} of the {len(candidates)} {topic} videos"
    return f"It opens with {name}, like {share} (e.g. \u201c{example}\u201d)."


def _reasoning(
    template: Template, subject: Subject, topic: str, candidates: Sequence[Candidate], duration_why: str
) -> str:
    if not candidates:
        return (
            f"Generic idea: Miles has no stored videos about {topic} yet, so this uses a proven "
            f"{HOOK_WORDS.get(template.hook_kind, 'plain')} format, not an observed pattern."
        )
    lead = f"{subject.pattern[0].upper()}{subject.pattern[1:]}. " if subject.pattern else ""
    return lead + _hook_reason(template.hook_kind, topic, candidates) + duration_why


def generate_fallback_ideas(
    topic: str, vibe: Vibe, count: int, patterns: Patterns, candidates: Sequence[Candidate] = ()
) -> list[IdeaDraft]:
    """``count`` distinct ideas for ``topic`` in ``vibe``, from ``patterns`` of the relevant ``candidates``."""
    titles = [c.title for c in candidates]
    duration, duration_why = _duration(patterns)
    emoji = _VIBE_EMOJI[vibe] if patterns.hooks.get("emoji", 0.0) >= STYLE_THRESHOLD else ""
    ideas: list[IdeaDraft] = []
    seen: set[str] = set()
    for attempt, (template, subject) in enumerate(_plan(vibe, patterns, _subjects(topic, patterns))):
        if len(ideas) == count:
            break
        fields = {
            "subject": display_case(subject.text, titles),
            "topic": topic,
            "n": str(_NUMBERS[attempt % len(_NUMBERS)]),
        }

        def styled(text: str, fields: dict[str, str] = fields) -> str:
            return _clip(text.format(**fields) + (f" {emoji}" if emoji else ""), MAX_IDEA_TITLE_CHARS)

        title = styled(template.title)
        if title.casefold() in seen:
            continue
        seen.add(title.casefold())
        variants = [styled(text) for _, text in _ordered_variants(template, patterns)]
        ideas.append(
            IdeaDraft(
                title=title,
                alternative_titles=_distinct_from(title, variants)[:MAX_ALTERNATIVE_TITLES],
                hook=_clip(template.hook.format(**fields), MAX_HOOK_CHARS),
                description=_clip(template.description.format(**fields), MAX_IDEA_DESCRIPTION_CHARS),
                suggested_duration_seconds=duration,
                reasoning=_clip(_reasoning(template, subject, topic, candidates, duration_why), MAX_REASONING_CHARS),
            )
        )
    return ideas


def _distinct_from(title: str, variants: list[str]) -> list[str]:
    """``variants`` without repeats or the title itself, ignoring case (clipping can make two wordings equal)."""
    seen = {title.casefold()}
    distinct = []
    for variant in variants:
        if variant.casefold() not in seen:
            seen.add(variant.casefold())
            distinct.append(variant)
    return distinct
