"""Durations as people write them in parameter files."""

import pytest

from loganalysis.core.durations import duration_seconds


@pytest.mark.parametrize("text,seconds", [("1 minute", 60), ("5 minutes", 300), ("2 hours", 7200),
                                          (" 30 seconds ", 30), ("3 days", 259_200)])
def test_durations_parse(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["fortnightly", "0 minutes", "-5 minutes", "5", "", None, 5])
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError):
        duration_seconds(text)
