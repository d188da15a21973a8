"""Durations written for people ('1 minute', '5 minutes', '3 days') as seconds.

Pure Python, so parameter checking can use it without starting (or importing) Spark.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# A bucket size chosen from the data itself (metrics.service_metrics.auto_bucket_seconds).
AUTO = "auto"


def duration_seconds(text: str) -> int:
    """'1 minute', '5 minutes', '30 seconds', '1 hour', '3 days' -> seconds (always positive)."""
    match = re.fullmatch(r"\s*(\d+)\s*(second|minute|hour|day)s?\s*", text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a duration like '1 minute', '5 minutes' or '1 hour'")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def describe_seconds(seconds: int) -> str:
    """300 -> '5 minutes', 3600 -> '1 hour': the largest unit that divides it."""
    for unit, size in sorted(_UNIT_SECONDS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
