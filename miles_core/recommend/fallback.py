"""Deterministic idea generator built from the same trend patterns the LLM sees.

Used when no LLM key is configured or the LLM fails, so a creator always gets ideas grounded in
what is actually trending. Same (topic, vibe, count, patterns) in, same ideas out: no randomness,
no clock. Templates are tagged with the hook they use and ordered by how often that hook appears
in the topic's top titles, so the data decides which shapes come first.
"""

from __future__ import annotations

from dataclasses import dataclass

from miles_core.recommend.models import (
    MAX_ALTERNATIVE_TITLES,
    MAX_HOOK_CHARS,
    MAX_IDEA_DESCRIPTION_CHARS,
    MAX_IDEA_DURATION_SECONDS,
    MAX_IDEA_TITLE_CHARS,
    MAX_REASONING_CHARS,
    MIN_IDEA_DURATION_SECONDS,
    IdeaDraft,
    Patterns,
    Vibe,
)
from miles_core.recommend.patterns import words

DEFAULT_DURATION_SECONDS = 30
DEFAULT_POSTING_HOUR_UTC = 17
"""Late afternoon in Europe / midday in the Americas when the data has no posting times."""
STYLE_THRESHOLD = 0.3
"""A style trait (emoji, all-caps word) is copied when at least this share of top titles uses it."""


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
            "A Slow, Cozy Hour of {subject}",
            "Ambient sound only; no talking for the first 3 seconds.",
            "A calm, satisfying routine around {subject} for {topic} lovers.",
            (("pov", "POV: A Slow, Cozy Hour of {subject}"), ("number", "60 Cozy Minutes of {subject}")),
        ),
        Template(
            "number",
            "{n} Minutes of Satisfying {subject}",
            "Close-up, natural sound, no text.",
            "Relax with {n} minutes of {subject}.",
            (
                ("superlative", "The Most Satisfying {n} Minutes of {subject}"),
                ("none", "Relax With {n} Minutes of {subject}"),
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


def _title_case(text: str) -> str:
    return " ".join(part[:1].upper() + part[1:] for part in text.split())


def _clip(text: str, limit: int) -> str:
    """Cut at a word boundary so limits never produce half words."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,:;-")
    return cut + "…"


MAX_SUBJECT_WORDS = 4
"""Longer tags and phrases are sentences or channel slogans, not something to film."""


def _subjects(topic: str, patterns: Patterns) -> list[tuple[str, str]]:
    """(subject, the observed pattern behind it): the topic's recurring tags and title phrases.

    Those that contain a topic word come first ("minecraft survival"), then the topic itself, then
    the other recurring ones as an angle on the topic ("funny" -> "funny minecraft": a bare tag is
    often an adjective), so successive ideas film different things and every subject is a noun phrase.
    """
    topic_words = set(words(topic))
    total = patterns.candidates_analyzed
    related: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    seen = {" ".join(words(topic))}
    found = [(tag, f"the tag '{tag.text}' on {tag.count}/{total} top videos") for tag in patterns.top_tags]
    found += [(p, f"the phrase '{p.text}' in {p.count}/{total} top titles") for p in patterns.top_phrases]
    for entry, evidence in found:
        tokens = words(entry.text)
        key = " ".join(tokens)
        if entry.count < 2 or not tokens or len(tokens) > MAX_SUBJECT_WORDS or key in seen:
            continue
        seen.add(key)
        if topic_words & set(tokens):
            related.append((entry.text, evidence))
        else:  # "funny", "street food", "premier league": an angle on the topic, not a subject alone
            other.append((f"{entry.text} {topic}", evidence))
    return [*related, (topic, "the topic itself"), *other]


def _ordered_variants(template: Template, patterns: Patterns) -> list[tuple[str, str]]:
    """The template's other wordings, most data-supported hook first (stable for equal shares)."""
    return sorted(template.variants, key=lambda variant: -patterns.hooks.get(variant[0], 0.0))


@dataclass(frozen=True)
class _Style:
    """What the top titles' style asks of every wording of an idea: one shouted word, an emoji, a part number."""

    caps: bool
    emoji: str
    suffix: str

    def apply(self, template: str, fields: dict[str, str]) -> str:
        """``template`` filled in, styled and clipped to YouTube's title limit without cutting the suffix."""
        title = template.format(**fields)
        if self.caps:  # one shouted word, as the top titles do; a whole shouted phrase reads as spam
            first, _, rest = fields["subject"].partition(" ")
            title = title.replace(fields["subject"], " ".join(filter(None, (first.upper(), rest))), 1)
        if self.emoji:
            title = f"{title} {self.emoji}"
        # The suffix is what makes a repeat distinct, so the clip must never cut it (a long topic
        # clips every title to the same prefix: without the suffix this loop never ended).
        return _clip(title, MAX_IDEA_TITLE_CHARS - len(self.suffix)) + self.suffix


def _distinct_from(title: str, variants: list[str]) -> list[str]:
    """``variants`` without repeats or the title itself, ignoring case (clipping can make two wordings equal)."""
    seen = {title.casefold()}
    distinct = []
    for variant in variants:
        if variant.casefold() not in seen:
            seen.add(variant.casefold())
            distinct.append(variant)
    return distinct


def _ordered_templates(vibe: Vibe, patterns: Patterns) -> list[Template]:
    """The vibe's templates, most data-supported hook first (stable for equal shares)."""
    templates = _TEMPLATES[vibe]
    return sorted(templates, key=lambda t: -patterns.hooks.get(t.hook_kind, 0.0))


def _duration(patterns: Patterns) -> tuple[int, str]:
    median = patterns.duration_seconds.median
    if median is None:
        return DEFAULT_DURATION_SECONDS, f"{DEFAULT_DURATION_SECONDS}s default (no durations in the data)"
    seconds = int(min(max(round(median), MIN_IDEA_DURATION_SECONDS), MAX_IDEA_DURATION_SECONDS))
    return seconds, f"{seconds}s, the median duration of top videos"


def _hours(patterns: Patterns) -> list[tuple[int, str]]:
    if not patterns.posting_hours_utc:
        return [(DEFAULT_POSTING_HOUR_UTC, f"{DEFAULT_POSTING_HOUR_UTC}:00 UTC default (no posting times in the data)")]
    return [
        (h.hour_utc, f"{h.hour_utc:02d}:00 UTC, when {h.count} top videos were posted")
        for h in patterns.posting_hours_utc
    ]


def generate_fallback_ideas(topic: str, vibe: Vibe, count: int, patterns: Patterns) -> list[IdeaDraft]:
    """``count`` distinct ideas for ``topic`` in ``vibe``, derived only from ``patterns``."""
    templates = _ordered_templates(vibe, patterns)
    subjects = _subjects(topic, patterns)
    hours = _hours(patterns)
    duration, duration_why = _duration(patterns)
    use_emoji = patterns.hooks.get("emoji", 0.0) >= STYLE_THRESHOLD
    use_caps = patterns.style.get("all_caps_word", 0.0) >= STYLE_THRESHOLD
    ideas: list[IdeaDraft] = []
    seen: set[str] = set()
    attempt = 0
    while len(ideas) < count:
        template = templates[attempt % len(templates)]
        subject, subject_why = subjects[(attempt // len(templates) + attempt) % len(subjects)]
        number = _NUMBERS[attempt % len(_NUMBERS)]
        hour, hour_why = hours[len(ideas) % len(hours)]
        fields = {"subject": _title_case(subject), "topic": topic, "n": str(number)}
        suffix = ""
        if attempt >= len(templates) * len(subjects):
            suffix = f" (Part {attempt // (len(templates) * len(subjects)) + 1})"
        style = _Style(use_caps, _VIBE_EMOJI[vibe] if use_emoji else "", suffix)
        title = style.apply(template.title, fields)
        variants = [style.apply(text, fields) for _, text in _ordered_variants(template, patterns)]
        attempt += 1
        if title.casefold() in seen:
            continue
        seen.add(title.casefold())
        hook_share = patterns.hooks.get(template.hook_kind, 0.0)
        reasoning = (
            f"Observed pattern: {subject_why}, with "
            + (
                f"the {template.hook_kind} hook ({hook_share:.0%} of top titles)"
                if template.hook_kind != "none"
                else "no hook"
            )
            + f"; duration {duration_why}; posting at {hour_why}."
        )
        ideas.append(
            IdeaDraft(
                title=title,
                alternative_titles=_distinct_from(title, variants)[:MAX_ALTERNATIVE_TITLES],
                hook=_clip(template.hook.format(**fields), MAX_HOOK_CHARS),
                description=_clip(template.description.format(**fields), MAX_IDEA_DESCRIPTION_CHARS),
                suggested_duration_seconds=duration,
                suggested_posting_hour_utc=hour,
                reasoning=_clip(reasoning, MAX_REASONING_CHARS),
            )
        )
    return ideas
