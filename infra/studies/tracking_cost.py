"""What tracking N videos a day costs: quota units, DynamoDB writes and reads, storage. ARCHITECTURE's table.

``python -m infra.studies.tracking_cost`` derives it from the code's own per-video calls (the
constants it imports) and from item sizes measured on the recorded fresh-uploads responses
(``tests/fixtures/youtube_data_api/fresh``; descriptions at the benchmark's mean full length) mapped through
the store's own item mapping. A tracked
video is a fresh-cohort upload: found by a search job, read again at each fixed age, re-scored after
every reading, kept until the retention after its last reading.

Sizes follow DynamoDB's rules: an item is the UTF-8 length of its attribute names and values
(numbers ~ their digits / 2 + 1); a write costs 1 write request unit per started KB, twice inside a
transaction (the scorer's ``write_score``); an eventually consistent read costs 0.5 units per started 4 KB.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from infra.studies.arguments import BENCHMARK, REPO
from miles_core.config import DEFAULT_RETENTION_DAYS, DEFAULT_SCRAPE_MAX_RESULTS
from miles_core.dataset import iter_csv_rows
from miles_core.scraping.fixed_age_snapshots import FIXED_AGES_HOURS
from miles_core.scraping.youtube_api import CHANNELS_COST, MAX_PAGE_SIZE, SEARCH_COST, VIDEOS_COST, map_video_resource
from miles_core.store import items, keys
from miles_core.store.records import Score
from miles_core.store.schema import TTL_ATTRIBUTE
from miles_core.topics import normalize_topic

RECORDED = REPO / "tests" / "fixtures" / "youtube_data_api" / "fresh"
SAMPLE = RECORDED / "videos_list_fresh_20261009T0600Z.json"
TOPIC = normalize_topic("funny animals")


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of a plain item (strings, numbers, lists, maps; ``None`` attributes are not stored)."""

    def value(v: Any) -> int:
        if v is None:
            return 0
        if isinstance(v, bool):
            return 1
        if isinstance(v, (int, float)):
            return len(str(v).replace("-", "").replace(".", "")) // 2 + 1
        if isinstance(v, str):
            return len(v.encode())
        if isinstance(v, dict):
            return 3 + sum(len(k.encode()) + value(x) + 1 for k, x in v.items() if x is not None)
        if isinstance(v, (list, tuple)):
            return 3 + sum(value(x) + 1 for x in v)
        raise TypeError(type(v))

    return sum(len(k.encode()) + value(v) for k, v in item.items() if v is not None)


def measured_sizes() -> dict[str, float]:
    """Mean bytes of each item kind a tracked video has, over the recorded videos."""
    recorded = json.loads(SAMPLE.read_text(encoding="utf-8"))["items"]
    descriptions = [len(row["description"].encode()) for row in iter_csv_rows(BENCHMARK)]
    description_bytes = round(sum(descriptions) / len(descriptions))
    sizes: dict[str, list[int]] = {"video": [], "snapshot": [], "membership": [], "due": [], "score": []}
    for raw in recorded:
        video = map_video_resource(raw, _an_hour_old(raw))
        # the recording cuts descriptions at 150 characters: stand in the benchmark's mean full length
        full = video.observation.model_copy(update={"description": "x" * description_bytes})
        video = replace(video, observation=full)
        seen = video.stats.observed_at
        score = Score(0.123456, 1234.5, False, 0.5, "post_publish", "miles-x" * 12, seen, video.stats.key, {})
        video_item = {**keys.video_key(video.video_id), **items.video_attributes(video, seen_at=seen, run_id="r")}
        video_item.update({"first_seen_at": "x" * 20, "first_run": "r", "cohort": "fresh", "topics": ["funny animals"]})
        video_item.update({TTL_ATTRIBUTE: 1800000000, "score": items.score_to_dict(score)})
        sizes["video"].append(item_bytes(video_item))
        sizes["score"].append(item_bytes({"score": items.score_to_dict(score)}))
        snapshot = items.snapshot_item(video.snapshot("age-24h", seen, fixed_age_hours=24))
        sizes["snapshot"].append(item_bytes({**snapshot, TTL_ATTRIBUTE: 1800000000}))
        member = items.membership_attributes(TOPIC, video, seen_at=seen)
        sizes["membership"].append(item_bytes({**keys.membership_key(TOPIC, video.video_id), **member}))
        due: dict[str, Any] = {
            **keys.due_key(seen, video.video_id, 24),
            "kind": "snapshot_due",
            "video_id": video.video_id,
        }
        due.update({"age_hours": 24, "due_at": "x" * 20, TTL_ATTRIBUTE: 1800000000, "settled": "taken"})
        sizes["due"].append(item_bytes({**due, "settled_at": "x" * 20}))
    return {kind: sum(values) / len(values) for kind, values in sizes.items()}


def _an_hour_old(raw: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(raw["snippet"]["publishedAt"].replace("Z", "+00:00")) + timedelta(hours=1)


def wru(size: float) -> int:
    return math.ceil(size / 1024)


def per_video(sizes: dict[str, float]) -> dict[str, float]:
    """Units and bytes one tracked video costs over its life."""
    ages = len(FIXED_AGES_HOURS)
    readings = 1 + ages  # the search's sighting, then each fixed age
    # quota: a search page (100 units) yields at most max_results videos; ids are read 50 to a call
    search_units = SEARCH_COST / DEFAULT_SCRAPE_MAX_RESULTS
    read_units = (VIDEOS_COST + CHANNELS_COST) / MAX_PAGE_SIZE
    sighting_read_units = (VIDEOS_COST + CHANNELS_COST) / DEFAULT_SCRAPE_MAX_RESULTS  # one call each per job
    writes = (
        # sighting: video upsert, snapshot, leaderboard row, one due entry per age
        wru(sizes["video"])
        + wru(sizes["snapshot"])
        + wru(sizes["membership"])
        + ages * wru(sizes["due"])
        # each fixed age: video upsert, snapshot, the due entry settled
        + ages * (wru(sizes["video"]) + wru(sizes["snapshot"]) + wru(sizes["due"]))
        # each reading is re-scored: one transaction (video score + leaderboard row), doubled
        + readings * 2 * (wru(sizes["video"]) + wru(sizes["membership"]))
    )
    reads = ages * 0.5 * math.ceil(sizes["due"] / 4096)  # the job's due queries (the stream is free to Lambda)
    kept_days = max(FIXED_AGES_HOURS) / 24 + DEFAULT_RETENTION_DAYS
    stored = sizes["video"] + readings * sizes["snapshot"] + sizes["membership"]
    return {
        "quota_units": search_units + sighting_read_units + ages * read_units,
        "write_units": writes,
        "read_units": reads,
        "export_scan_read_units": 0.5 * stored / 4096,
        "bytes": stored,
        "kept_days": kept_days,
    }


def main() -> None:
    sizes = measured_sizes()
    video = per_video(sizes)
    print("mean item bytes:", {k: round(v) for k, v in sizes.items()})
    print("per tracked video:", {k: round(v, 3) for k, v in video.items()})
    print()
    print(
        "| videos tracked a day | quota units a day | DynamoDB write units a day | table size (steady) | export scan |"
    )
    print("|---|---|---|---|---|")
    for exponent in range(3, 7):
        n = 10**exponent
        stored = n * video["kept_days"] * video["bytes"]
        print(
            f"| 10^{exponent} | {n * video['quota_units']:,.0f} | {n * video['write_units']:,.0f} "
            f"({n * video['write_units'] / 86400:,.1f}/s) | {stored / 1e9:,.2f} GB | "
            f"{n * video['kept_days'] * video['export_scan_read_units']:,.0f} read units |"
        )


if __name__ == "__main__":
    main()
