"""Sliding-window z-scores against a numpy reference, incidents from hand-made sequences,
per-record z-scores, and scoring against ground truth."""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from loganalysis.detect import anomalies, evaluate, record_scores
from loganalysis.metrics import service_metrics
from loganalysis.core.schema import LOG_SCHEMA

T0 = datetime(2026, 11, 2, 0, 0)
BUCKET = 60


def series_frame(spark, values, requests=100):
    """A one-series time series with mean_ms = values (None for a missing value)."""
    rows = [("svc", "prod", T0 + timedelta(minutes=i), BUCKET, requests, 0, 0.0, v, v)
            for i, v in enumerate(values)]
    return spark.createDataFrame(rows, "service string, environment string, bucket timestamp, "
                                       "bucket_seconds int, requests long, errors_5xx long, error_rate double, "
                                       "mean_ms double, p95_ms double")


def numpy_z(values, window, min_history, method, relative_floor):
    """The reference for a latency series: each point against the `window` points before it
    (never itself), spread floored at `relative_floor` of the level."""
    out = []
    for i, v in enumerate(values):
        history = np.array([x for x in values[max(0, i - window):i] if x is not None], dtype=float)
        if v is None or len(history) < min_history:
            out.append(None)
            continue
        if method == "mean":
            center, spread = history.mean(), (history.std(ddof=1) if len(history) > 1 else 0.0)
        else:
            center = np.median(history)
            spread = 1.4826 * np.median(np.abs(history - center))
        out.append((v - center) / max(spread, relative_floor * abs(center)))
    return out


def scored(spark, values, window=10, **overrides):
    config = anomalies.DetectorConfig(window_seconds=window * BUCKET, min_history=5, **overrides)
    result = (anomalies.score_series(series_frame(spark, values), BUCKET, config)
              .where("metric = 'mean_ms'").orderBy("bucket").toPandas())
    return config, result


RNG = np.random.default_rng(7)
NOISY = [float(x) for x in RNG.normal(100, 10, 40).round(2)]


@pytest.mark.parametrize("method", ["mean", "robust"])
@pytest.mark.parametrize("values", [
    NOISY,
    [50.0] * 20,                                   # constant: the floor keeps z finite
    [10.0, 12.0, 11.0],                            # shorter than the warm-up: nothing scored
    NOISY[:12] + [None, None] + NOISY[12:25],      # nulls: skipped in history, not scored
])
def test_z_scores_match_numpy(spark, method, values):
    config, result = scored(spark, values, method=method)
    expected = numpy_z(values, 10, 5, method, config.relative_floor)
    actual = [None if pd.isna(z) else z for z in result["z_score"]]
    assert [e is None for e in expected] == [a is None for a in actual]
    assert np.allclose([a for a in actual if a is not None], [e for e in expected if e is not None], rtol=1e-9)


def test_a_point_never_enters_its_own_baseline(spark):
    values = [100.0] * 15 + [1000.0]
    _, result = scored(spark, values, method="mean")
    last = result.iloc[-1]
    assert last["baseline"] == pytest.approx(100.0)  # the spike is not in its own baseline
    # flat history: the spread is the relative floor, 1% of the level
    assert last["z_score"] == pytest.approx(900 / (0.01 * 100))


def test_persistence_and_merging(spark):
    # one-bucket blip (ignored with persistence 2), then a three-bucket spike, a gap, two more
    values = [100.0] * 12 + [900.0] + [100.0] * 3 + [900.0] * 3 + [100.0] + [900.0] * 2 + [100.0] * 3
    # a window long enough that the spikes stay a minority of it (the median is not moved)
    config, result = scored(spark, values, window=20, method="robust", persistence=2)
    flagged = result.loc[result["flagged"], "bucket"].dt.minute.tolist()
    assert flagged == [12, 16, 17, 18, 20, 21]
    spark_scored = anomalies.score_series(series_frame(spark, values), BUCKET, config)
    found = (anomalies.signals(spark_scored.where("metric = 'mean_ms'"), BUCKET, persistence=2)
             .orderBy("start").toPandas())
    assert [(s.minute, e.minute, b) for s, e, b in zip(found["start"], found["end"], found["buckets"])] == [
        (16, 19, 3), (20, 22, 2)]
    assert (found["direction"] == "up").all()
    # a lull of one bucket inside a two-minute merge gap: one incident
    bridged = (anomalies.signals(spark_scored.where("metric = 'mean_ms'"), BUCKET, persistence=2,
                                   merge_gap_seconds=2 * BUCKET).toPandas())
    assert [(s.minute, e.minute, b) for s, e, b in zip(bridged["start"], bridged["end"], bridged["buckets"])] == [
        (16, 22, 5)]


def binomial_series(spark, requests, errors):
    rows = [("svc", "prod", T0 + timedelta(minutes=i), BUCKET, n, e, e / n, 50.0, 80.0)
            for i, (n, e) in enumerate(zip(requests, errors))]
    return spark.createDataFrame(rows, "service string, environment string, bucket timestamp, "
                                       "bucket_seconds int, requests long, errors_5xx long, error_rate double, "
                                       "mean_ms double, p95_ms double")


def test_error_rate_is_scored_against_the_pooled_rate_with_binomial_spread(spark):
    requests = [200] * 12 + [20, 200]
    errors = [1] * 12 + [2, 10]
    config = anomalies.DetectorConfig(window_seconds=12 * BUCKET, min_history=5)
    rate = (anomalies.score_series(binomial_series(spark, requests, errors), BUCKET, config)
            .where("metric = 'error_rate'").orderBy("bucket").toPandas())
    pooled = 12 / 2400
    # 2 errors in 20 requests: the spread is at least one request's worth of rate (1/20)
    quiet = (2 / 20 - pooled) / max(np.sqrt(pooled * (1 - pooled) / 20), 0.01, 1 / 20)
    busy = (10 / 200 - (11 + 2) / (11 * 200 + 20)) / max(np.sqrt(0.0059 * (1 - 0.0059) / 200), 0.01, 1 / 200)
    assert rate["baseline"].iloc[12] == pytest.approx(pooled)
    assert rate["z_score"].iloc[12] == pytest.approx(quiet)
    assert rate["z_score"].iloc[13] == pytest.approx(busy, rel=1e-2)


def test_one_error_in_a_quiet_bucket_is_not_an_outage(spark):
    # a service that never fails, then 1 error in 10 requests: a 10% rate, but one event
    requests, errors = [200] * 12 + [10, 10], [0] * 12 + [1, 5]
    config = anomalies.DetectorConfig(window_seconds=12 * BUCKET, min_history=5)
    rate = (anomalies.score_series(binomial_series(spark, requests, errors), BUCKET, config)
            .where("metric = 'error_rate'").orderBy("bucket").toPandas())
    assert rate["z_score"].iloc[12] == pytest.approx(1.0)  # (1/10 - 0) / (1/10)
    assert not rate["flagged"].iloc[12]
    assert rate["flagged"].iloc[13]  # 5 errors in 10: flagged


def test_a_single_bucket_far_out_opens_an_incident_without_persistence(spark):
    # minute 12: +22% (z 4.4 against a 5% floor, flagged, alone); minute 16: 9x (far beyond the spike threshold)
    values = [100.0] * 12 + [122.0] + [100.0] * 3 + [900.0] + [100.0] * 3
    config, result = scored(spark, values, window=20, method="mean", relative_floor=0.05)
    assert result.loc[result["flagged"], "bucket"].dt.minute.tolist() == [12, 16]
    assert 4 <= result["z_score"].iloc[12] < 6 <= result["z_score"].iloc[16]
    latency = anomalies.score_series(series_frame(spark, values), BUCKET, config).where("metric = 'mean_ms'")
    spikes = anomalies.signals(latency, BUCKET, persistence=3, spike_threshold=6.0).toPandas()
    assert [(s.minute, e.minute, b) for s, e, b in zip(spikes["start"], spikes["end"], spikes["buckets"])] == [
        (16, 17, 1)]
    assert anomalies.signals(latency, BUCKET, persistence=3).count() == 0  # persistence alone: nothing


def baseline_input(metric, values, requests=100.0):
    """One series x metric as the stage's pandas UDF receives it: five-minute buckets."""
    n = len(values)
    return pd.DataFrame({"metric": metric, "epoch": np.arange(n) * 300, "signal": values,
                         "bucket_requests": np.full(n, requests), "bucket_errors": np.zeros(n)})


def test_the_slow_models_confirm_each_direction_apart_and_never_judge_the_error_rate():
    rng = np.random.default_rng(4)
    t = np.arange(288 * 3)  # three days of five-minute buckets
    counts = 1000 + 400 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 10, len(t))
    counts[288 * 2 + 100:288 * 2 + 106] *= 0.5  # half the traffic gone, at a time it never was
    context = anomalies.SeriesContext(300, 4.0)
    out = anomalies.trailing_baseline(baseline_input("requests", counts), 288, "seasonal", context)
    drop = out.iloc[288 * 2 + 100:288 * 2 + 106]
    assert drop["slow_low"].all() and not drop["slow_high"].any()
    afternoon = out.iloc[288 * 2 + 150:288 * 2 + 200]  # an ordinary stretch of day 3
    assert not (afternoon["slow_low"] | afternoon["slow_high"]).any()
    assert out.iloc[20:288][["slow_low", "slow_high"]].any(axis=1).all()  # day 1: nothing to ask
    # the 5xx rate is judged against its pooled rate: no run of it waits for the slow models
    rates = 0.01 + rng.uniform(0, 0.005, len(t))
    rates[288 * 2 + 100:288 * 2 + 106] = 0.5
    rate = anomalies.trailing_baseline(baseline_input("error_rate", rates), 288, "seasonal", context)
    assert rate["slow_high"].all() and rate["slow_low"].all()


def test_a_run_only_persistence_opens_must_be_out_against_the_slow_models_too(spark):
    # minutes 12-14: z 5, opened by persistence alone; minute 20: a new high at z 4,900 (a spike)
    values = [100.0] * 12 + [105.0] * 3 + [100.0] * 5 + [5000.0] + [100.0] * 3
    config = anomalies.DetectorConfig(window_seconds=20 * BUCKET, min_history=5, method="robust")
    latency = anomalies.score_series(series_frame(spark, values), BUCKET, config).where("metric = 'mean_ms'")
    assert latency.where("flagged AND NOT slow_out").count() == 0  # the robust method has no slow models

    def runs(frame):
        found = anomalies.signals(frame, BUCKET, persistence=3, spike_threshold=8.0).orderBy("start").toPandas()
        return [(s.minute, e.minute, b) for s, e, b in zip(found["start"], found["end"], found["buckets"])]

    assert runs(latency) == [(12, 15, 3), (20, 21, 1)]
    # routine at this time of day or week: the persistent run stays shut, the spike still opens
    assert runs(latency.withColumn("slow_out", F.lit(False))) == [(20, 21, 1)]


def test_a_missing_bucket_neither_breaks_nor_extends_a_run(spark):
    values = [100.0] * 12 + [900.0, 900.0, None, 900.0] + [100.0] * 3
    config, _ = scored(spark, values, window=20, method="robust")
    latency = anomalies.score_series(series_frame(spark, values), BUCKET, config).where("metric = 'mean_ms'")
    found = anomalies.signals(latency, BUCKET, persistence=3).toPandas()
    assert [(s.minute, e.minute, b) for s, e, b in zip(found["start"], found["end"], found["buckets"])] == [
        (12, 16, 3)]


def test_a_step_is_one_incident_for_its_whole_length_with_the_default_method(spark):
    rng = np.random.default_rng(11)
    values = [float(v) for v in 100 + rng.normal(0, 1, 200).round(2)]
    values[120:150] = [v + 20 for v in values[120:150]]
    config = anomalies.DetectorConfig(window_seconds=60 * BUCKET)
    latency = anomalies.score_series(series_frame(spark, values), BUCKET, config).where("metric = 'mean_ms'")
    found = anomalies.signals(latency, BUCKET, config.persistence, config.spike_threshold,
                                config.merge_gap_seconds).toPandas()
    # the step's 30 minutes exactly: the 5-minute pooled mean still holds part of the step for a
    # few minutes after it (pooled z 15.4, 11.6, 7.7 at minutes 150-152), but those buckets are
    # back on their own (RECOVERED_Z), so the run ends with the step
    assert [(s, e, b) for s, e, b in zip(found["start"], found["end"], found["buckets"])] == [
        (pd.Timestamp(T0 + timedelta(minutes=120)), pd.Timestamp(T0 + timedelta(minutes=150)), 30)]


def test_a_run_ends_at_its_last_bucket_still_out_on_its_own(spark):
    # minutes 0-5 flagged (by the pooled z at 4 and 5, whose buckets are back: bucket_z 0.3, -0.5),
    # minutes 10-13 flagged with only pooled-held buckets (a regression seen only pooled): kept whole
    rows = [(T0 + timedelta(minutes=m), z, own) for m, z, own in
            [(0, 6.0, 6.0), (1, 7.0, 7.0), (2, 5.0, 4.5), (3, 4.5, 1.2), (4, 4.2, 0.3), (5, 4.1, -0.5),
             (6, 0.5, 0.5), (10, 4.5, 0.8), (11, 4.4, 0.9), (12, 4.3, 0.2), (13, 4.2, 0.1)]]
    scored = spark.createDataFrame(
        [("svc", "prod", "mean_ms", b, z, own, "up" if z >= 4 else None, z >= 4, 100.0, 100.0)
         for b, z, own in rows],
        "service string, environment string, metric string, bucket timestamp, z_score double, bucket_z double, "
        "direction string, flagged boolean, value double, baseline double")
    runs = anomalies.flagged_runs(scored).orderBy("start").toPandas()
    assert [(s.minute, e.minute, b) for s, e, b in zip(runs["start"], runs["last_bucket"], runs["buckets"])] == [
        (0, 3, 4), (10, 13, 4)]


def test_dips_are_flagged_only_where_watched(spark):
    values = [100.0] * 12 + [5.0] * 3 + [100.0] * 3
    _, watched = scored(spark, values, method="robust", direction={"mean_ms": "both"})
    _, ignored = scored(spark, values, method="robust", direction={"mean_ms": "up"})
    assert watched["direction"].tolist()[12:15] == ["down"] * 3
    assert not ignored["flagged"].any()


def test_record_z_scores_use_only_earlier_buckets(spark):
    rng = np.random.default_rng(3)
    rows, latencies = [], {}
    for minute in range(6):
        values = rng.normal(100, 10, 5).round(1).tolist()
        latencies[minute] = values
        for k, v in enumerate(values):
            record = dict(timestamp=T0 + timedelta(minutes=minute, seconds=k), service="svc",
                          environment="prod", response_time_ms=v)
            rows.append(tuple(record.get(f) for f in LOG_SCHEMA.names))
    df = spark.createDataFrame(rows, LOG_SCHEMA)
    baseline = record_scores.trailing_latency_baseline(
        record_scores.bucket_latency_sums(service_metrics.timeseries(df, BUCKET)), BUCKET, window_seconds=3 * BUCKET, min_records=5)
    enriched = record_scores.with_record_z_scores(df, baseline, BUCKET, 0.0, 0.0).orderBy("timestamp").toPandas()
    for minute in range(6):
        history = [v for m in range(max(0, minute - 3), minute) for v in latencies[m]]
        got = enriched[enriched["timestamp"].dt.floor("min") == pd.Timestamp(T0 + timedelta(minutes=minute))]
        if not history:
            assert got["z_score"].isna().all()
            continue
        mean, std = np.mean(history), np.std(history, ddof=1)
        assert np.allclose(got["z_score"], (np.array(latencies[minute]) - mean) / std, rtol=1e-9)


def test_evaluation_counts_events_and_windows():
    t = pd.Timestamp("2026-11-02 10:00")
    truth = pd.DataFrame({"incident_id": [1, 2], "kind": ["latency_spike", "error_burst"],
                          "service": ["a", "b"], "environment": ["prod", "prod"],
                          "start": [t, t], "end": [t + pd.Timedelta(minutes=20)] * 2, "magnitude": [3.0, 0.2]})
    incidents = pd.DataFrame({"service": ["a", "c"], "environment": ["prod"] * 2,
                              "metrics": [["mean_ms", "p95_ms"], ["requests"]],
                              "start": [t + pd.Timedelta(minutes=2), t],
                              "end": [t + pd.Timedelta(minutes=12), t + pd.Timedelta(minutes=5)]})
    events = evaluate.incidents_as_events(incidents)
    assert events.iloc[0]["metrics"] == "mean_ms, p95_ms"
    matches, summary = evaluate.score(events, truth)
    assert matches["detected"].tolist() == [True, False]
    assert matches["delay_minutes"].tolist()[0] == 2.0
    assert (summary["events"], summary["false_events"], summary["recall"], summary["precision"]) == (2, 1, 0.5, 0.5)


def signal_rows(spark, rows):
    """(service, environment, metric, direction, start minute, end minute, peak_z, peak_value, baseline)."""
    return spark.createDataFrame(
        [(f"{s}:{e}:{m}", s, e, m, d, T0 + timedelta(minutes=a), T0 + timedelta(minutes=b), b - a, z, v, base)
         for s, e, m, d, a, b, z, v, base in rows],
        "signal_id string, service string, environment string, metric string, direction string, start timestamp, "
        "end timestamp, buckets long, peak_z double, peak_value double, baseline_at_start double")


def test_signals_of_one_series_moving_together_are_one_incident(spark):
    found = anomalies.service_incidents(signal_rows(spark, [
        ("api", "prod", "p95_ms", "up", 10, 40, 12.0, 900.0, 200.0),        # 4.5x slower: critical
        ("api", "prod", "error_rate", "up", 15, 35, 30.0, 0.05, 0.004),     # 5% errors: major
        ("api", "prod", "requests", "down", 110, 120, -6.0, 60.0, 100.0),   # 70 minutes later: its own
    ]), merge_gap_seconds=3600).orderBy("start").toPandas()
    assert len(found) == 2
    first = found.iloc[0]
    assert (first["start"], first["end"]) == (pd.Timestamp(T0 + timedelta(minutes=10)), pd.Timestamp(T0 + timedelta(minutes=40)))
    assert list(first["metrics"]) == ["error_rate", "p95_ms"] and len(first["signals"]) == 2
    assert (first["peak_metric"], first["peak_z"], first["severity"], first["minutes"]) == ("error_rate", 30.0, "critical", 30)
    assert found.iloc[1]["severity"] == "major"  # 60% of traffic left
    assert found["cascade_id"].isna().all()      # one service: no cascade


def test_a_surge_alone_is_no_incident_but_beside_a_symptom_it_is_part_of_one(spark):
    rows = [("shop", "prod", "requests", "up", 10, 70, 9.0, 300.0, 100.0),     # a launch: traffic x3 only
            ("api", "prod", "requests", "up", 10, 40, 7.0, 250.0, 100.0),      # load, and the latency it caused
            ("api", "prod", "p95_ms", "up", 20, 40, 11.0, 900.0, 200.0),
            ("web", "prod", "requests", "down", 100, 120, -6.0, 40.0, 100.0)]  # lost traffic: a symptom
    found = anomalies.service_incidents(signal_rows(spark, rows), merge_gap_seconds=600).toPandas()
    assert sorted((r.service, tuple(r.metrics)) for r in found.itertuples()) == [
        ("api", ("p95_ms", "requests")), ("web", ("requests",))]
    with_surges = anomalies.service_incidents(signal_rows(spark, rows), 600, surge_alone_is_incident=True)
    assert sorted(r.service for r in with_surges.collect()) == ["api", "shop", "web"]


def test_a_gap_shorter_than_the_merge_gap_keeps_one_incident(spark):
    rows = [("api", "prod", "mean_ms", "up", 0, 30, 9.0, 130.0, 100.0),
            ("api", "prod", "mean_ms", "up", 50, 60, 9.0, 125.0, 100.0)]
    assert anomalies.service_incidents(signal_rows(spark, rows), merge_gap_seconds=3600).count() == 1
    assert anomalies.service_incidents(signal_rows(spark, rows), merge_gap_seconds=600).count() == 2


def test_services_failing_together_are_linked_as_one_cascade(spark):
    found = anomalies.service_incidents(signal_rows(spark, [
        ("db", "prod", "error_rate", "up", 10, 30, 20.0, 0.3, 0.001),
        ("api", "prod", "p95_ms", "up", 12, 40, 15.0, 800.0, 100.0),     # its caller, slower meanwhile
        ("web", "prod", "requests", "down", 35, 50, -8.0, 10.0, 100.0),  # chained through api
        ("api", "staging", "p95_ms", "up", 12, 40, 15.0, 800.0, 100.0),  # another environment
        ("db", "prod", "error_rate", "up", 300, 310, 20.0, 0.3, 0.001),  # hours later, alone
    ]), merge_gap_seconds=600).toPandas().set_index(["service", "environment", "start"])
    cascade = found["cascade_id"]
    prod = [cascade[("db", "prod", pd.Timestamp(T0 + timedelta(minutes=10)))],
            cascade[("api", "prod", pd.Timestamp(T0 + timedelta(minutes=12)))],
            cascade[("web", "prod", pd.Timestamp(T0 + timedelta(minutes=35)))]]
    assert prod[0] is not None and prod.count(prod[0]) == 3
    assert cascade[("api", "staging", pd.Timestamp(T0 + timedelta(minutes=12)))] is None
    assert cascade[("db", "prod", pd.Timestamp(T0 + timedelta(minutes=300)))] is None


def test_evaluation_reports_extent_fragmentation_warm_up_and_kinds():
    t = pd.Timestamp("2026-11-02 10:00")
    minutes = lambda m: t + pd.Timedelta(minutes=m)  # noqa: E731
    truth = pd.DataFrame({"incident_id": [1, 2, 3], "kind": ["latency_spike", "latency_spike", "traffic_drop"],
                          "service": ["a", "a", "b"], "environment": ["prod"] * 3,
                          "start": [minutes(0), minutes(100), minutes(-50)],
                          "end": [minutes(30), minutes(120), minutes(-40)], "magnitude": [3.0, 2.0, 0.2]})
    events = pd.DataFrame({"service": ["a", "a", "a"], "environment": ["prod"] * 3, "metrics": ["p95_ms"] * 3,
                           "start": [minutes(3), minutes(20), minutes(300)],
                           "end": [minutes(12), minutes(40), minutes(310)]})
    warmup_end = pd.DataFrame({"service": ["a", "b"], "environment": ["prod"] * 2, "start": [minutes(-60), minutes(-30)]})
    matches, summary = evaluate.score(events, truth, warmup_end=warmup_end, days=2.0)
    first = matches.iloc[0]
    assert (first["detected"], first["delay_minutes"], first["detections"]) == (True, 3.0, 2)
    assert first["extent"] == pytest.approx((9 + 10) / 30, abs=1e-3)  # minutes 3-12 and 20-30 of 0-30
    assert matches["in_warmup"].tolist() == [False, False, True]       # b's window ended before b was scored
    assert (summary["truth_windows"], summary["warmup_windows"], summary["caught"]) == (2, 1, 1)
    assert (summary["events"], summary["false_events"], summary["false_alarms_per_day"]) == (3, 1, 0.5)
    assert summary["fragmentation"] == 2.0
    kinds = evaluate.by_kind(matches).set_index("kind")
    assert kinds.loc["latency_spike", "recall"] == 0.5 and kinds.loc["traffic_drop", "truth_windows"] == 0
    assert kinds.loc["traffic_drop", "warmup_windows"] == 1


def test_a_bucket_without_requests_is_scored_without_failing(spark):
    """A minute with no traffic at all is a row of zero requests on the grid: its error rate's
    floor (one request's worth) must not divide by zero."""
    rows = [("svc", "prod", T0 + timedelta(minutes=i), BUCKET, 100, 1, 0.01, 50.0, 80.0) for i in range(40) if i != 20]
    ts = spark.createDataFrame(rows, "service string, environment string, bucket timestamp, bucket_seconds int, "
                                     "requests long, errors_5xx long, error_rate double, mean_ms double, p95_ms double")
    config = anomalies.DetectorConfig(window_seconds=10 * BUCKET, min_history=5)
    scored = anomalies.score_series(ts, BUCKET, config).where("bucket_requests = 0").toPandas()
    assert sorted(scored["metric"]) == ["error_rate", "mean_ms", "p95_ms", "requests"]
    assert scored.loc[scored["metric"] == "error_rate", "z_score"].isna().all()


def test_a_series_that_never_changes_is_not_modelled_and_never_flags(spark):
    assert anomalies.constant_level(np.array([np.nan, 1.0, 1.0, np.nan, 1.0])) == 1.0
    assert anomalies.constant_level(np.array([1.0, 1.0, 0.0])) is None
    assert np.isnan(anomalies.constant_level(np.array([np.nan, np.nan])))
    # a CSV series: one reading per bucket, so 1 request in every bucket and no errors
    values = [float(100 + 5 * np.sin(i / 3)) for i in range(40)]
    config = anomalies.DetectorConfig(window_seconds=20 * BUCKET, min_history=5, min_bucket_requests=1)
    scored = anomalies.score_series(series_frame(spark, values, requests=1), BUCKET, config).toPandas()
    requests = scored[scored["metric"] == "requests"].sort_values("bucket")
    assert requests["baseline"].iloc[:5].isna().all() and (requests["baseline"].iloc[5:] == 1.0).all()
    assert (requests["z_score"].iloc[5:] == 0.0).all() and not requests["flagged"].any()
    latency = scored[scored["metric"] == "mean_ms"]
    assert latency["z_score"].notna().any() and latency["baseline"].nunique() > 1  # still modelled


def test_a_record_far_beyond_the_recent_range_pages_where_routine_bursts_hide_it_from_z(spark):
    """Bursts to 300 ms every 50 minutes are this series' routine (they widen its spread until a
    burst scores little); on day 4 one burst goes to 450 ms, half again as far out as any before
    it (anomalies.FAR_NOVELTY_MARGIN): that minute pages, and the routine bursts of that day do
    not. On day 2 the same record is the range still forming (FAR_NOVELTY_MIN_SPAN_SECONDS)."""
    rng = np.random.default_rng(5)
    values = [float(v) for v in 50 + rng.normal(0, 1, int(3.5 * 1440)).round(2)]
    for minute in range(25, len(values), 50):
        values[minute] = 300.0
    record, too_early = 3 * 1440 + 325, 1440 + 325  # burst minutes on day 4 and day 2
    config = anomalies.DetectorConfig()

    def signals_from(series, day):
        latency = anomalies.score_series(series_frame(spark, series), BUCKET, config).where("metric = 'mean_ms'")
        found = anomalies.signals(latency, BUCKET, config.persistence, config.spike_threshold,
                                  config.merge_gap_seconds).toPandas()
        return found[found["start"] >= pd.Timestamp(T0 + timedelta(days=day))], latency

    routine, _ = signals_from(values, 1)
    assert routine.empty
    early = values.copy()
    early[too_early] = 450.0
    assert signals_from(early, 1)[0].empty
    values[record] = 450.0
    found, latency = signals_from(values, 3)
    assert [(s, b) for s, b in zip(found["start"], found["buckets"])] == [
        (pd.Timestamp(T0 + timedelta(minutes=record)), 1)]
    point = latency.where(F.col("bucket") == T0 + timedelta(minutes=record)).first()
    assert point["far"] and point["flagged"]


def test_a_partition_no_series_hashed_to_scores_nothing():
    """Series are spread over the shuffle partitions by hash: with fewer series than partitions
    some partitions get no rows (the default run's 60 series x metrics over 16 did)."""
    from loganalysis.detect.baselines import SeriesContext
    context = SeriesContext(BUCKET, 4.0)
    assert list(anomalies.baselines_of_partition(iter([]), 10, "seasonal", context, anomalies.DetectorConfig())) == []
    empty = pd.DataFrame({"epoch": pd.Series([], dtype="int64"), "signal": pd.Series([], dtype=float)})
    assert list(anomalies.baselines_of_partition(iter([empty]), 10, "seasonal", context,
                                                 anomalies.DetectorConfig())) == []


def test_a_partition_scores_each_series_as_it_would_be_scored_alone():
    """The partition is sorted once and its series scored on slices: interleaved series, split
    across two batches, one read hourly into five-minute buckets (kept one row an hour), give
    the rows and columns each gets from trailing_baseline on its own."""
    rng = np.random.default_rng(6)
    n = 288 * 2
    hourly = np.full(n, np.nan)
    hourly[::12] = 20 + rng.normal(0, 1, n // 12)
    parts = {("a", "prod", "mean_ms"): baseline_input("mean_ms", 100 + rng.normal(0, 5, n)),
             ("a", "dev", "requests"): baseline_input("requests", 50 + rng.normal(0, 3, n)),
             ("b", "prod", "mean_ms"): baseline_input("mean_ms", hourly, requests=0.0),
             ("b", "prod", "error_rate"): baseline_input("error_rate", rng.uniform(0, 0.02, 40))}
    parts[("b", "prod", "mean_ms")].loc[::12, "bucket_requests"] = 1.0
    frames = [frame.assign(service=s, environment=e, metric=m) for (s, e, m), frame in parts.items()]
    shuffled = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)
    context = anomalies.SeriesContext(300, 4.0)
    config = anomalies.DetectorConfig()
    half = len(shuffled) // 2
    [together] = anomalies.baselines_of_partition(iter([shuffled.iloc[:half], shuffled.iloc[half:]]), 288,
                                                  "seasonal", context, config)
    for frame in frames:
        alone = anomalies.trailing_baseline(frame, 288, "seasonal", context, config)
        key = frame.iloc[0]
        mine = together[(together["service"] == key.service) & (together["environment"] == key.environment)
                        & (together["metric"] == key.metric)].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[alone.columns], alone, check_exact=True)
    assert len(together) == sum(len(f) for f in frames) - (n - n // 12)  # the hourly series: a row an hour


def test_a_series_read_hourly_into_five_minute_buckets_is_judged_on_its_hourly_readings():
    assert anomalies.sampling_step(np.array([3.0, 1.0, 0.0, 2.0]), 288) == 1  # traffic in neighbouring buckets
    assert anomalies.sampling_step(np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]), 288) == 3
    assert anomalies.sampling_step(np.array([1.0] + [0.0] * 10 + [1.0]), 288) == 9  # 11: a day is 288 / 9 steps
    assert anomalies.sampling_step(np.array([0.0, 5.0, 0.0]), 288) == 1  # one reading: nothing to judge by
    # a reading that did not come stands for its block as zero requests: block 1 of step 3 here
    assert list(anomalies.sampled_rows(np.array([1.0, 0, 0, 0, 0, 0, 0, 1, 0]), 3)) == [0, 3, 7]
    rng = np.random.default_rng(5)
    hours = 24 * 6
    readings = 20 + 5 * np.sin(2 * np.pi * np.arange(hours) / 24) + rng.normal(0, 0.5, hours)
    readings[100:104] += 15  # four hours out of line
    sparse = np.full(hours * 12, np.nan)
    sparse[::12] = readings
    on_grid = baseline_input("mean_ms", sparse, requests=0.0)
    on_grid.loc[::12, "bucket_requests"] = 1.0
    out = anomalies.trailing_baseline(on_grid, 288, "seasonal", anomalies.SeriesContext(300, 4.0))
    hourly = anomalies.trailing_baseline(baseline_input("mean_ms", readings, requests=1.0), 24, "seasonal",
                                         anomalies.SeriesContext(3600, 4.0))
    # one row an hour, with the level, spread and flags of the same readings in hourly buckets
    assert list(out["epoch"]) == list(on_grid["epoch"].iloc[::12])
    for column in ("center", "spread", "history", "slow_high", "far_high"):
        assert np.array_equal(out[column].to_numpy(), hourly[column].to_numpy(), equal_nan=True), column
    z = (out["signal"] - out["center"]) / out["spread"]
    assert (z.iloc[100:104] >= 4).all() and (z.iloc[30:100].abs() < 4).all()


def test_an_hourly_series_scores_its_readings_only_and_a_missing_one_as_no_requests(spark):
    buckets = [T0 + timedelta(minutes=12 * h) for h in range(80) if h != 50]  # a reading every 12 minutes
    values = [100.0 + (60.0 if 60 <= h < 64 else 0.0) + (h % 3) for h in range(80) if h != 50]
    rows = [("svc", "prod", b, BUCKET, 1, 0, 0.0, v, None) for b, v in zip(buckets, values)]
    ts = spark.createDataFrame(rows, "service string, environment string, bucket timestamp, bucket_seconds int, "
                                     "requests long, errors_5xx long, error_rate double, mean_ms double, p95_ms double")
    config = anomalies.DetectorConfig(window_seconds=24 * 12 * BUCKET, min_history=5, min_bucket_requests=1,
                                      method="robust")
    scored = anomalies.score_series(ts, BUCKET, config)
    requests = scored.where("metric = 'requests'").orderBy("bucket").toPandas()
    # every 12th minute of the grid, the missing reading included as a bucket without requests
    assert len(requests) == 80 and (requests["bucket"].diff().dropna() == timedelta(minutes=12)).all()
    assert requests.loc[requests["bucket"] == T0 + timedelta(minutes=600), "value"].tolist() == [0.0]
    found = anomalies.signals(scored.where("metric = 'mean_ms'"), BUCKET, persistence=3).toPandas()
    assert [(s, b) for s, b in zip(found["start"], found["buckets"])] == [(T0 + timedelta(minutes=720), 4)]
