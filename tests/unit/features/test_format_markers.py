"""Format markers (#shorts, #fyp, ...) are taken out of everything the model reads, and only reported."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miles_core.dataset import load_benchmark
from miles_core.features import FeatureSpec, build_model_inputs, load_tokenizer
from miles_core.features.format_markers import FORMAT_MARKERS, format_markers, model_text
from miles_core.inference.artifact import SPEC_FILE, TOKENIZER_FILE
from miles_core.inference.predictor import Predictor
from miles_core.observation import Observation

BENCHMARK_DEV = Path(__file__).resolve().parents[3] / "infra" / "data" / "benchmark" / "miles_benchmark_dev.csv.gz"
SUFFIXES = (" #shorts", " #Shorts #fyp", " #viral #trending #ytshorts", "  #reels")


def _title(text: str) -> str | None:
    """``text`` as an Observation would hold it (stripped), or None when it would be refused or is all markers."""
    stripped = text.strip()
    if not stripped or len(stripped) > 280 or not model_text(Observation(title=stripped)).title:
        return None
    return stripped


def test_markers_are_removed_and_reported() -> None:
    observation = Observation(
        title="How to sharpen a chisel in 60 seconds #Shorts",
        tags=("woodworking", "YT Shorts", "#fyp"),
        description="Sharp tools are safe tools. #viral\n#shorts #woodworking",
    )
    text = model_text(observation)
    assert text.title == "How to sharpen a chisel in 60 seconds"
    assert text.tags == ("woodworking",)
    assert text.description == "Sharp tools are safe tools.\n #woodworking"
    assert format_markers(observation) == ["#shorts", "#ytshorts", "#fyp", "#viral"]


def test_topic_hashtags_and_words_stay() -> None:
    """Only a whole marker hashtag goes: a topic hashtag, the plain word and a longer tag stay."""
    observation = Observation(title="My shorts collection #fashion #shortstory #viralvideos", tags=("short film",))
    text = model_text(observation)
    assert text.title == "My shorts collection #fashion #shortstory #viralvideos"
    assert text.tags == ("short film",)
    assert format_markers(observation) == []


def test_the_list_is_lower_case_without_hash() -> None:
    assert all(marker == marker.lower() and not marker.startswith("#") for marker in FORMAT_MARKERS)
    assert len(set(FORMAT_MARKERS)) == len(FORMAT_MARKERS)


@pytest.fixture(scope="module")
def benchmark_titles() -> list[str]:
    return [observation.title for observation in load_benchmark(BENCHMARK_DEV).observations]


def test_no_benchmark_title_changes_by_marker_suffix(benchmark_titles: list[str]) -> None:
    """Every real title reads the same with any marker suffix (model text), so the model cannot tell them apart."""
    for title in benchmark_titles:
        plain = model_text(Observation(title=title))
        for suffix in SUFFIXES:
            marked = model_text(Observation(title=title + suffix))
            assert (marked.title, marked.tags, marked.description) == (plain.title, plain.tags, plain.description)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.text(min_size=1, max_size=120).map(_title).filter(lambda t: t is not None), st.sampled_from(SUFFIXES))
def test_any_title_reads_the_same_with_a_marker_suffix(title: str | None, suffix: str) -> None:
    assert title is not None
    plain = model_text(Observation(title=title))
    marked = model_text(Observation(title=title + suffix))
    assert (marked.title, marked.tags, marked.description) == (plain.title, plain.tags, plain.description)


def test_model_inputs_are_identical_with_and_without_markers(tiny_artifact: Path, benchmark_titles: list[str]) -> None:
    """THE pipeline: every array the model reads is the same for ``title`` and ``title + " #shorts"``."""
    spec = FeatureSpec.load(tiny_artifact / SPEC_FILE)
    tokenizer = load_tokenizer(tiny_artifact / TOKENIZER_FILE, spec.max_tokens)
    titles = benchmark_titles[::25]
    plain = build_model_inputs([Observation(title=t, tags=("diy",)) for t in titles], spec, tokenizer)
    marked = build_model_inputs(
        [Observation(title=f"{t} #shorts", tags=("diy", "shorts"), description="#fyp") for t in titles], spec, tokenizer
    )
    for name, array in plain.as_feeds().items():
        assert np.array_equal(array, marked.as_feeds()[name]), name


def test_predictions_are_identical_with_and_without_markers(tiny_artifact: Path, benchmark_titles: list[str]) -> None:
    predictor = Predictor(tiny_artifact, threads=1)
    titles = benchmark_titles[::40]
    plain = predictor.predict([Observation(title=t) for t in titles])
    predictor.texts.clear()
    marked = predictor.predict([Observation(title=f"{t} #Shorts #fyp") for t in titles])
    reported = ("coverage", "coverage_reasons", "format_markers")
    for before, after in zip(plain, marked, strict=True):
        assert after.format_markers == ("#shorts", "#fyp")
        assert after.coverage != "in_domain"
        assert dataclasses.replace(after, **{name: getattr(before, name) for name in reported}) == before
