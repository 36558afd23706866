"""The key layout (``miles_core.store.keys``) and the update expressions (``dynamo.set_attributes``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from miles_core.store import InvalidCursorError, keys
from miles_core.store.dynamo import set_attributes
from miles_core.store.schema import GSI1_PARTITION_KEY, GSI1_SORT_KEY, PARTITION_KEY, SORT_KEY
from miles_core.topics import normalize_topic
from tests.support.moto_table import NOW


def test_leaderboard_ranks_sort_scored_newest_model_highest_probability_then_unscored() -> None:
    ranks = [
        keys.unscored_rank(NOW + timedelta(hours=5), "z"),
        keys.scored_rank("2026-01-01T00:00:00Z", 0.99, "a"),
        keys.scored_rank("2026-02-01T00:00:00Z", 0.10, "b"),
        keys.scored_rank("2026-02-01T00:00:00Z", 0.90, "c"),
    ]
    descending = sorted(ranks, reverse=True)  # the leaderboard query reads GSI1 backwards
    assert [rank.rsplit("#", 1)[1] for rank in descending] == ["c", "b", "a", "z"]


def test_video_and_snapshot_share_a_partition_and_only_the_video_is_scored() -> None:
    video, snapshot = keys.video_key("v1"), keys.snapshot_key("v1", NOW, "run-1")
    assert video[PARTITION_KEY] == snapshot[PARTITION_KEY]
    assert keys.is_video_key(video[PARTITION_KEY], video[SORT_KEY])
    assert not keys.is_video_key(snapshot[PARTITION_KEY], snapshot[SORT_KEY])
    membership = keys.membership_key(normalize_topic("Cooking  Hacks"), "v1")
    assert not keys.is_video_key(membership[PARTITION_KEY], membership[SORT_KEY])
    assert membership[PARTITION_KEY] == keys.topic_partition(normalize_topic("cooking hacks"))


def test_cursor_round_trip_and_foreign_cursors() -> None:
    partition = keys.topic_partition(normalize_topic("cats"))
    last = {PARTITION_KEY: partition, SORT_KEY: "VIDEO#x", GSI1_PARTITION_KEY: partition, GSI1_SORT_KEY: "0#t#x"}
    cursor = keys.encode_cursor(last)
    assert keys.decode_cursor(cursor, partition) == last
    with pytest.raises(InvalidCursorError):
        keys.decode_cursor(cursor, keys.topic_partition(normalize_topic("dogs")))
    with pytest.raises(InvalidCursorError):
        keys.decode_cursor("not base64 json", partition)


def test_cache_keys_are_bounded() -> None:
    with pytest.raises(ValueError, match="cache key"):
        keys.cache_key("")
    with pytest.raises(ValueError, match="cache key"):
        keys.cache_key("k" * (keys.MAX_CACHE_KEY_CHARS + 1))


def test_set_attributes_removes_hidden_counts_only_when_asked() -> None:
    removing = set_attributes({"title": "t", "like_count": None}, remove_none=True)
    assert removing.expression == "SET #title = :title REMOVE #like_count"
    assert removing.names == {"#title": "title", "#like_count": "like_count"}
    assert removing.values == {":title": {"S": "t"}}
    keeping = set_attributes({"title": "t", "like_count": None}, extra_sets=("#n = :n",), remove_none=False)
    assert keeping.expression == "SET #title = :title, #n = :n"
    assert keeping.names == {"#title": "title"}
