"""The YouTube Data API's daily quota, shared by every worker through one counter in the table.

The API gives a project 10,000 units a day (reset at midnight Pacific time; counted here per UTC
day, which is stricter on the day boundary only). A per-run budget alone does not stop fifty
on-demand jobs from spending the day, so each call first *spends* its units on a counter keyed by
the UTC day (:meth:`~miles_core.store.MilesStore.spend_quota`, one atomic conditional UpdateItem):
concurrent workers cannot overspend together, and a refused spend raises
:class:`~miles_core.scraping.base.QuotaExceededError` before the request is made. The scrape API
reads the same counter to answer 429 while the day's budget is spent.

What the schedule spends per day (``search.list`` = 100 units a page, ``videos.list`` and
``channels.list`` = 1 unit per call of up to 50 ids): each niche gets two jobs per tick, the top of its
search and its fresh short uploads, and each costs one search page (20 results asked, 40 ids read:
one page of 50) + one ``videos.list`` + one ``channels.list`` = 102 units. The 7 default niches at
``rate(6 hours)`` (4 ticks) spend 7 x 4 x 2 x 102 = 5,712 units a day of the default 9,000. The
fixed-age re-snapshot job reads each fresh upload 4 more times at 2 units per 50 videos: for the at most
7 x 4 x 20 = 560 fresh uploads a day, 560 x 4 x 2 / 50 = ~90 units, plus at most 2 units for each of the
96 runs a day whose calls are not full (~190): about 6,000 units a day in all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from miles_core.config import DEFAULT_YOUTUBE_DAILY_QUOTA, env_int
from miles_core.scraping.base import QuotaExceededError
from miles_core.store import MilesStore

SERVICE = "youtube_data_api"


def utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def seconds_until_next_utc_day(moment: datetime) -> int:
    """Seconds until the counter's day rolls over (a 429's ``Retry-After``)."""
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((start + timedelta(days=1) - moment.astimezone(UTC)).total_seconds()))


class DailyQuota:
    """Spends YouTube Data API units against ``MILES_YOUTUBE_DAILY_QUOTA`` (default 9,000 of the 10,000)."""

    def __init__(
        self,
        store: MilesStore,
        daily_budget: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.daily_budget = (
            daily_budget
            if daily_budget is not None
            else env_int("MILES_YOUTUBE_DAILY_QUOTA", DEFAULT_YOUTUBE_DAILY_QUOTA)
        )
        self._clock = clock

    def spend(self, units: int) -> None:
        """Count ``units`` for today, or :class:`QuotaExceededError` (nothing counted) when they do not fit."""
        day = utc_day(self._clock())
        if self.store.spend_quota(SERVICE, day, units, self.daily_budget) is None:
            raise QuotaExceededError(
                "youtube_api",
                f"daily YouTube Data API quota spent: {self.store.quota_spent(SERVICE, day)} of "
                f"{self.daily_budget} units used on {day} (UTC); no more API calls until 00:00 UTC",
            )

    def exhausted(self) -> bool:
        """True when not even one more ``search.list`` call (100 units) fits in today's budget."""
        return self.store.quota_spent(SERVICE, utc_day(self._clock())) + 100 > self.daily_budget
