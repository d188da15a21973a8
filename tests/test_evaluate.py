"""Scoring against ground truth: what the scored series covered, read in one aggregate."""

from datetime import datetime, timedelta

import pandas as pd

from loganalysis.detect import evaluate

T0 = datetime(2026, 11, 2, 0, 0)


def test_scored_coverage_is_each_series_first_scored_bucket_and_the_days_spanned(spark):
    def row(service, minutes, z):
        return (service, "prod", T0 + timedelta(minutes=minutes), "requests", z)

    scored = spark.createDataFrame(
        [row("a", 0, None), row("a", 10, None), row("a", 20, 1.5), row("a", 30, -0.2),
         row("b", 5, None), row("b", 15, 0.0),  # a z of 0 is scored: only null is the warm-up
         row("c", 0, None), row("c", 2 * 24 * 60 + 12 * 60, None)],  # never scored: no warm-up end
        "service string, environment string, bucket timestamp, metric string, z_score double")

    warmup_end, days = evaluate.scored_coverage(scored)

    expected = pd.DataFrame({"service": ["a", "b"], "environment": ["prod"] * 2,
                             "start": [T0 + timedelta(minutes=20), T0 + timedelta(minutes=15)]})
    pd.testing.assert_frame_equal(warmup_end.sort_values("service").reset_index(drop=True), expected,
                                  check_dtype=False)
    assert days == 2.5  # first bucket T0 (a, c), last T0 + 2 days 12 hours (c)


def test_scored_coverage_of_nothing_scored_is_empty_and_zero_days(spark):
    empty = spark.createDataFrame([], "service string, environment string, bucket timestamp, z_score double")
    warmup_end, days = evaluate.scored_coverage(empty)
    assert warmup_end.empty and list(warmup_end.columns) == ["service", "environment", "start"] and days == 0.0
