"""How far back a drift check, a compaction, a quality window or a retrain's labels may look; how long a
background loop may wait between its looks."""

from __future__ import annotations

# A year: far beyond any capture a check reads (24 h by default); larger values overflow a timedelta (inf,
# 1e12) and once ended the command in a traceback.
MAX_WINDOW_HOURS = 24.0 * 366


def window_hours_problem(hours: float) -> str | None:
    """What is wrong with a window of `hours`, or None (NaN fails both comparisons)."""
    if 0 < hours <= MAX_WINDOW_HOURS:
        return None
    return f"must be more than 0 and at most {MAX_WINDOW_HOURS:,.0f} (a year), got {hours}"


MAX_DAYS = 36_500  # a window of days reaching before year 1 cannot be represented


def window_days_problem(days: float) -> str | None:
    """What is wrong with a window of `days`, or None (NaN fails the comparison)."""
    if 0 < days < MAX_DAYS:
        return None
    return f"must be more than 0 and less than {MAX_DAYS}, got {days!r}"


# A week between two looks of a background loop (the batch sweeper, the model and rollout polls, the clients
# refresh): far beyond any useful interval; much larger values overflow a thread's wait (the loop's thread
# died, silently) or time.sleep (a traceback).
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
