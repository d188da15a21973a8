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


def test_alarms_on_benign_surges_are_false_and_counted_per_kind(spark):
    """A benign surge is never a caught window; an incident on it is a false alarm, counted
    overall and on the surge's kind row; an incident that also overlaps a real window is not."""
    t = pd.Timestamp("2026-11-02 10:00")
    minutes = lambda m: t + pd.Timedelta(minutes=m)  # noqa: E731
    truth = pd.DataFrame({
        "incident_id": [1, 2, 3, 4], "kind": ["latency_spike", "benign_surge", "latency_spike", "benign_surge"],
        "service": ["a", "b", "d", "d"], "environment": ["prod"] * 4,
        "start": [minutes(0), minutes(0), minutes(0), minutes(100)],
        "end": [minutes(30), minutes(60), minutes(30), minutes(130)], "magnitude": [1.6, 2.0, 1.4, 2.5],
        "is_incident": [True, False, True, False], "signal": ["latency", "traffic", "latency", "traffic"],
        "host": [None] * 4, "upstream": [None] * 4})
    events = pd.DataFrame({"service": ["a", "b", "b", "c", "d"], "environment": ["prod"] * 5,
                           "metrics": ["p95_ms", "requests", "requests", "error_rate", "requests"],
                           "start": [minutes(5), minutes(10), minutes(40), minutes(0), minutes(20)],
                           "end": [minutes(30), minutes(20), minutes(50), minutes(10), minutes(110)]})

    matches, summary = evaluate.score(events, truth, days=1.0)

    assert matches["detected"].tolist() == [True, False, True, False]  # a benign window is never caught
    assert matches["detections"].tolist() == [1, 2, 1, 0]  # d's event overlaps d's real window: not false
    assert (summary["truth_windows"], summary["caught"], summary["recall"]) == (2, 2, 1.0)
    assert (summary["events"], summary["false_events"], summary["precision"]) == (5, 3, 0.4)
    assert (summary["benign_windows"], summary["benign_alarms"]) == (2, 2)  # c's false alarm is on no surge
    kinds = evaluate.by_kind(matches).set_index("kind")
    surge = kinds.loc["benign_surge"]
    assert (surge["truth_windows"], surge["benign_windows"], surge["benign_alarms"]) == (0, 2, 2)
    assert pd.isna(surge["recall"]) and pd.isna(surge["caught"])  # nothing to catch: no recall
    assert (kinds.loc["latency_spike", "recall"], kinds.loc["latency_spike", "benign_alarms"]) == (1.0, 0)

    assert matches["clear"].tolist() == [True, None, False, None]  # 1.6x is clear, 1.4x subtle, a surge neither
    strength = evaluate.by_strength(matches).set_index("kind")
    assert strength.loc[["clear cases", "subtle cases"], "truth_windows"].tolist() == [1, 1]

    matches_df, summary_df = evaluate.as_spark(spark, matches, summary)
    rows = {r["kind"]: r for r in summary_df.collect()}
    assert (rows["clear cases"]["caught"], rows["subtle cases"]["recall"]) == (1, 1.0)
    assert (rows["all"]["benign_alarms"], rows["benign_surge"]["benign_alarms"], rows["benign_surge"]["recall"]) == (2, 2, None)
    assert [r["is_incident"] for r in matches_df.orderBy("incident_id").collect()] == [True, False, True, False]


def test_truth_without_an_is_incident_column_is_all_incidents():
    """Labelled windows of real data carry no is_incident: every one is an incident to catch."""
    t = pd.Timestamp("2026-11-02 10:00")
    truth = pd.DataFrame({"incident_id": [1], "kind": ["labelled_window"], "service": ["a"], "environment": ["prod"],
                          "start": [t], "end": [t + pd.Timedelta(minutes=10)], "magnitude": [None]})
    events = pd.DataFrame({"service": ["a"], "environment": ["prod"], "metrics": ["p95_ms"],
                           "start": [t], "end": [t + pd.Timedelta(minutes=5)]})
    matches, summary = evaluate.score(events, truth)
    assert matches["detected"].tolist() == [True] and matches["clear"].tolist() == [None]
    assert evaluate.by_strength(matches).empty  # no magnitudes by signal: no clear or subtle rows
    assert (summary["recall"], summary["benign_windows"], summary["benign_alarms"]) == (1.0, 0, 0)
