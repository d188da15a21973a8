"""Sliding-window z-scores on the per-bucket series, and the incidents they add up to.

Every series (service x environment x metric) is scored against baselines built from the
buckets before the one being scored, so a spike never dilutes its own baseline. Flagged runs of
one metric are signals; the signals of one service and environment that overlap or follow each
other closely are one incident, as an on-call engineer would be paged about it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Window as W, functions as F, types as T

from loganalysis.core.schema import SERIES_KEYS
from loganalysis.detect.baselines import (BASELINE_METHODS, SEASON_SECONDS, SeriesContext, baseline_of,
                                        beyond_recent_range, far_beyond_recent_range, pooled_error_z,
                                        pooled_latency_z, window_totals)

SCORED_METRICS = ("requests", "error_rate", "mean_ms", "p95_ms")
METRIC_KEYS = [*SERIES_KEYS, "metric"]


LATENCY_METRICS = ("mean_ms", "p95_ms")
# Metrics whose single-bucket spike is no incident without persistence: a bucket's p95 at a few
# dozen requests is decided by one or two slow requests (the default run's only two false alarms
# were such one-minute p95 spikes); the mean sees the same bucket.
SPIKE_NEEDS_PERSISTENCE = ("p95_ms",)
# A run shorter than `persistence` opens on its spike only when it goes beyond every value of its
# series in this long before it (a new high for an upward spike, a new low for a downward one): a
# series that spikes to the same levels again and again (a bursty count, a quantised disk
# counter) is paging on its routine. Chosen on NAB with each folder left out (docs/detection.md).
SPIKE_NOVELTY_SECONDS = 21 * 86_400
# A point beyond every value of its series in the SPIKE_NOVELTY_SECONDS before it by this share of
# that range's reach (max - median above, median - min below) is flagged and opens an incident
# whatever its z (baselines.far_beyond_recent_range): a burst half again as far out as any in three
# weeks is news even where a series of routine bursts has widened the spread past it. Said only
# from FAR_NOVELTY_MIN_SPAN_SECONDS into a series, and never of a p95 (SPIKE_NEEDS_PERSISTENCE).
# Chosen on NAB with each folder left out, among the settings that keep the default synthetic
# run's clear cases and precision at 0.9 (docs/detection.md).
FAR_NOVELTY_MARGIN = 0.5
# A range seen for a day or two is no range: the largest of few values grows with every new day,
# so a "record" in a quiet staging series' second evening (one minute's mean of ten requests,
# seed 7's only new false alarm) is the range still forming. Three days, as many as the routine
# factor needs to know a series' daily habits; NAB cannot tell 1-3 days apart (its probation
# covers 2.6 days: 0.686 for each), 5 and 7 days lose windows there (0.676, 0.668).
FAR_NOVELTY_MIN_SPAN_SECONDS = 3 * 86_400
# Below this many requests a bucket's nearest-rank p95 is its slowest request: one slow request
# is not a p95 regression, so such buckets leave p95 unscored (the mean still sees them).
P95_MIN_REQUESTS = 20
# A run ends at its last bucket whose own z is still this far out in the run's direction. The
# pooled z (the last POOL_SECONDS of requests together) holds a flag for a few buckets after the
# bucket itself is back, until the pool has drained; within a run those buckets bridge a subtle
# regression's quiet minutes, at its end they are the pool's memory, not the incident.
RECOVERED_Z = 1.0


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's settings. Field names and defaults are the anomaly notebook's parameters
    (a test holds the two equal). Threshold and window were chosen on the NAB development
    series with each NAB folder left out in turn (docs/research/nab_detector/REPORT.md)."""

    window_seconds: int = 86_400        # trailing baseline length
    min_history: int = 12               # points of history needed before a bucket is scored
    threshold: float = 4.0              # |z| at or above this flags a bucket
    persistence: int = 3                # consecutive flagged points before an incident opens
    spike_threshold: float = 8.0        # |z| at or above this opens an incident without persistence
    merge_gap_seconds: int = 3600       # incidents of one signal this close are one incident
    method: str = "seasonal"            # a baselines.BASELINE_METHODS name
    min_bucket_requests: int = 10       # rates and latencies of sparser buckets are not scored
    relative_floor: float = 0.01        # spread never below this share of the level
    error_rate_floor: float = 0.01      # spread of the error rate never below one point, nor one request
    direction: dict = field(default_factory=lambda: {
        "requests": "both", "error_rate": "up", "mean_ms": "up", "p95_ms": "up"})
    surge_alone_is_incident: bool = False  # more requests with nothing else moving: a signal, not a page

    def __post_init__(self) -> None:
        if self.method not in BASELINE_METHODS:
            raise ValueError(f"unknown baseline method {self.method!r}; known: {', '.join(BASELINE_METHODS)}")


def bucket_size(ts: DataFrame) -> int:
    """The bucket length (seconds) the metrics stage used for a time series."""
    sizes = ts.select("bucket_seconds").distinct().collect()
    if len(sizes) != 1:
        raise ValueError(f"time series has bucket sizes {[r[0] for r in sizes]}; expected exactly one")
    return int(sizes[0][0])


def with_full_bucket_grid(ts: DataFrame, seconds: int) -> DataFrame:
    """Every bucket from a series' first to last, a missing one as zero requests: a bucket
    with no traffic is a data point (the deepest possible dip), not a gap."""
    grid = (
        ts.groupBy(*SERIES_KEYS)
        .agg(F.min("bucket").alias("first"), F.max("bucket").alias("last"))
        .select(*SERIES_KEYS, F.explode(F.sequence("first", "last", F.expr(f"INTERVAL {seconds} SECONDS"))).alias("bucket"))
    )
    return (
        grid.join(ts, [*SERIES_KEYS, "bucket"], "left")
        .fillna({"requests": 0, "errors_5xx": 0})
    )


def long_series(ts: DataFrame, min_bucket_requests: int) -> DataFrame:
    """One row per series x metric x bucket, with the bucket's request and error counts.

    `signal` is what gets scored: the value on its own scale (a log scale made a dip to zero,
    common in counts and utilisation series, into a cliff, and scored worse on labelled data).
    Rates and latencies of buckets with too few requests are null: one error in two requests is
    noise, not 50%.
    """
    dense = F.col("requests") >= min_bucket_requests
    dense_for_p95 = F.col("requests") >= max(min_bucket_requests, P95_MIN_REQUESTS)
    return (
        ts.select(*SERIES_KEYS, "bucket", F.col("requests").alias("bucket_requests"),
                  F.col("errors_5xx").alias("bucket_errors"),
                  F.col("requests").cast("double").alias("requests"),
                  *[F.when(dense, F.col(m)).alias(m) for m in ("error_rate", "mean_ms")],
                  F.when(dense_for_p95, F.col("p95_ms")).alias("p95_ms"))
        .unpivot([*SERIES_KEYS, "bucket", "bucket_requests", "bucket_errors"], list(SCORED_METRICS),
                 "metric", "value")
        .select("*", F.col("value").alias("signal"), F.unix_timestamp("bucket").alias("epoch"))
    )


def sampling_step(requests: np.ndarray, buckets_a_day: int) -> int:
    """How many buckets make one step of a series: the fewest buckets between two of its readings
    (buckets with requests), lowered to a divisor of `buckets_a_day` so that a day is a whole
    number of steps and the same time of day stays in step. 1 for a service's traffic (requests
    in neighbouring buckets), 12 for a metric exported hourly into 5-minute buckets; 1 with
    fewer than two readings. A single pair of readings closer than the rest decides it: a
    series read hourly with one reading a minute late keeps the grid's step."""
    with_requests = np.flatnonzero(requests > 0)
    if len(with_requests) < 2:
        return 1
    fewest = int(np.diff(with_requests).min())
    return max(d for d in range(1, fewest + 1) if buckets_a_day % d == 0)


def sampled_rows(requests: np.ndarray, step: int) -> np.ndarray:
    """The series on its own step: per block of `step` buckets from its first, the bucket with
    requests, or the block's first bucket (a reading that did not come: zero requests). No
    block holds two buckets with requests when `step` is at most the fewest buckets between
    two readings (sampling_step)."""
    chosen = np.arange(0, len(requests), step)
    reading = np.flatnonzero(requests > 0)
    chosen[reading // step] = reading
    return chosen


def trailing_baseline(frame: pd.DataFrame, window_buckets: int, method: str, context: SeriesContext,
                      config: DetectorConfig | None = None) -> pd.DataFrame:
    """`series_baseline` for one series x metric (a frame with `epoch`, `signal`,
    `bucket_requests`, `bucket_errors` and `metric`): its rows on their own step, with the
    baseline's columns beside them."""
    frame = frame.sort_values("epoch").reset_index(drop=True)
    metric = frame["metric"].iloc[0] if "metric" in frame.columns and len(frame) else None
    rows, added = series_baseline(*series_arrays(frame), metric, window_buckets, method, context, config)
    return pd.concat([frame.iloc[rows].reset_index(drop=True), pd.DataFrame(added)], axis=1)


def series_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The signal, request and error counts of scored series' rows, as floats (a null signal NaN)."""
    return (frame["signal"].to_numpy(dtype=float, na_value=np.nan), frame["bucket_requests"].to_numpy(dtype=float),
            frame["bucket_errors"].to_numpy(dtype=float))


def series_baseline(values: np.ndarray, requests: np.ndarray, errors: np.ndarray, metric: str | None,
                    window_buckets: int, method: str, context: SeriesContext,
                    config: DetectorConfig | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """`baseline_on_grid` for one series x metric, in bucket order, on its own step
    (sampling_step): the positions of the rows kept and the baseline's columns for them. A
    series read less often than the bucket (hourly readings in 5-minute buckets) keeps one row
    a step, so its windows and spans are counted in its readings: the day is 24 of them, not
    288 buckets of which 264 are empty, and the hour model, the routine and sustained spans and
    the novelty ranges cover the time they say (shrunk to one reading where they are shorter
    than a step). The empty buckets between its readings are left out of the scored series,
    with nothing to score or draw. A service's traffic, with requests in neighbouring buckets,
    is on the grid as is."""
    step = sampling_step(requests, max(SEASON_SECONDS // context.bucket_seconds, 1))
    rows = np.arange(len(values))
    if step > 1:
        rows = sampled_rows(requests, step)
        values, requests, errors = values[rows], requests[rows], errors[rows]
        window_buckets = max(window_buckets // step, 1)
        context = replace(context, bucket_seconds=context.bucket_seconds * step)
    return rows, baseline_on_grid(values, requests, errors, metric, window_buckets, method, context, config)


def baseline_on_grid(values: np.ndarray, requests: np.ndarray, errors: np.ndarray, metric: str | None,
                     window_buckets: int, method: str, context: SeriesContext,
                     config: DetectorConfig | None = None) -> dict[str, np.ndarray]:
    """Level and spread of the `window_buckets` points before each point of one series (its
    `values`, NaN where too few requests to say, and the bucket's request and error counts), by the
    named method, plus the window's pooled error rate and `pooled_z`: for mean_ms and the error
    rate, the z of the last baselines.POOL_SECONDS of requests together (null for other metrics,
    and for buckets that long), which with_z_score takes when larger than the bucket's own z;
    `slow_high` / `slow_low`: the point is out that way against the slow models too
    (baselines.Baseline.slow_z, or for mean_ms its pooled mean's), what a run only persistence
    opens must hold (always true for a method without slow models and for the error rate).

    Runs per series in the stage's pandas UDF (baselines_of_partition, through series_baseline):
    the series is sorted and its grid complete, so the trailing time window is exactly the
    previous `window_buckets` points, and numpy works on all windows at once instead of Spark
    recomputing a sliding frame per row. Returns the added columns, point for point.
    """
    config = config or DetectorConfig()
    counted = ~np.isnan(values)
    history = window_totals(counted.astype(float), window_buckets).round().astype(np.int64)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # empty windows (warm-up): left null
        level = constant_level(values)
        if level is None:
            center, spread, slow_z = baseline_of(method, values, window_buckets, context)
        else:  # nothing to model, and no method would flag it: see constant_level
            center = np.where(history >= config.min_history, level, np.nan)
            spread = np.where(history >= config.min_history, 0.0, np.nan)
            slow_z = None
        # The error rate is judged against its pooled rate (with_baseline), not these models.
        if slow_z is None or metric == "error_rate":
            slow_high = slow_low = np.ones(len(values), bool)
        else:
            slow_high, slow_low = slow_z >= context.threshold, slow_z <= -context.threshold
        # errors / requests over the same windows, for the error rate's pooled level
        window_requests = window_totals(np.where(counted, requests, 0), window_buckets)
        window_errors = window_totals(np.where(counted, errors, 0), window_buckets)
        pooled = np.where(window_requests > 0, window_errors / window_requests, np.nan)
        if metric == "mean_ms":
            pooled_z, pooled_slow_z = pooled_latency_z(values, requests, window_buckets, method, context,
                                                       config.relative_floor, config.min_history)
            # the pooled z flags upwards (with_z_score): the pooled mean may confirm that way too
            slow_high = slow_high | (pooled_slow_z >= context.threshold)
        elif metric == "error_rate":
            pooled_z = pooled_error_z(values, requests, errors, pooled, history,
                                      context, config.error_rate_floor, config.min_history)
        else:
            pooled_z = np.full(len(values), np.nan)
        novelty_window = max(SPIKE_NOVELTY_SECONDS // context.bucket_seconds, 1)
        new_high, new_low = beyond_recent_range(values, novelty_window)
        if metric in SPIKE_NEEDS_PERSISTENCE:
            far_high = far_low = np.zeros(len(values), bool)
        else:
            far_high, far_low = far_beyond_recent_range(values, novelty_window, FAR_NOVELTY_MARGIN,
                                                        FAR_NOVELTY_MIN_SPAN_SECONDS // context.bucket_seconds)
    return {"history": history, "center": center, "spread": spread, "pooled_rate": pooled,
            "pooled_z": pooled_z, "new_high": new_high, "new_low": new_low,
            "far_high": far_high, "far_low": far_low, "slow_high": slow_high, "slow_low": slow_low}


def constant_level(values: np.ndarray) -> float | None:
    """The one value of a series that never changes (gaps aside), NaN for one without values,
    None otherwise. Such a series cannot flag: its z is 0 wherever it is scored, whatever the
    method, so its baseline is its value and the method is not run. A CSV series with one
    reading per bucket counts 1 request in every bucket and no errors; a p95 needs more
    requests than that and has no value at all: three of its four metrics (the baselines took
    about half of stage 03 on 52 NAB series)."""
    counted = values[~np.isnan(values)]
    if len(counted) == 0:
        return math.nan
    return float(counted[0]) if counted.min() == counted.max() else None


def baselines_of_partition(batches, window_buckets: int, method: str, context: SeriesContext,
                           config: DetectorConfig):
    """`series_baseline` for every series x metric of one partition (an iterator of pandas
    batches, a series possibly split across two of them), as one frame. The partition is sorted
    once and each series scored on slices of its columns: a pandas frame, sort and concat per
    series cost as much as the numpy scoring itself (1,500 series x 4 metrics)."""
    batches = [batch for batch in batches if len(batch)]
    if not batches:  # a partition no series hashed to
        return
    frame = pd.concat(batches, ignore_index=True)
    series = frame.groupby(METRIC_KEYS, sort=False, dropna=False).ngroup().to_numpy()
    order = np.lexsort((frame["epoch"].to_numpy(), series))
    frame, series = frame.take(order).reset_index(drop=True), series[order]
    bounds = [0, *(np.flatnonzero(np.diff(series)) + 1), len(frame)]
    values, requests, errors = series_arrays(frame)
    metrics = frame["metric"].to_numpy()
    rows, parts = [], []
    for start, end in zip(bounds[:-1], bounds[1:]):
        kept, added = series_baseline(values[start:end], requests[start:end], errors[start:end], metrics[start],
                                      window_buckets, method, context, config)
        rows.append(kept + start)
        parts.append(added)
    scored = frame.take(np.concatenate(rows)).reset_index(drop=True)
    for name in parts[0]:
        scored[name] = np.concatenate([part[name] for part in parts])
    yield scored


def _with_baseline_schema(series: DataFrame) -> T.StructType:
    return T.StructType(series.schema.fields + [
        T.StructField("history", T.LongType()), T.StructField("center", T.DoubleType()),
        T.StructField("spread", T.DoubleType()), T.StructField("pooled_rate", T.DoubleType()),
        T.StructField("pooled_z", T.DoubleType()), T.StructField("new_high", T.BooleanType()),
        T.StructField("new_low", T.BooleanType()), T.StructField("far_high", T.BooleanType()),
        T.StructField("far_low", T.BooleanType()), T.StructField("slow_high", T.BooleanType()),
        T.StructField("slow_low", T.BooleanType())])


def with_baseline(series: DataFrame, config: DetectorConfig, bucket_seconds: int) -> DataFrame:
    """Level (`center`) and `spread` of each point's trailing window, on the signal scale.

    The error rate is a proportion, so its level is the window's pooled rate (all errors over
    all requests) and its spread the binomial deviation for the bucket's own request count:
    a quiet bucket is allowed a noisier rate than a busy one.
    """
    window_buckets = max(config.window_seconds // bucket_seconds, 1)
    context = SeriesContext(bucket_seconds, config.threshold)
    # Every series lands whole in one partition, and each partition's series are scored one
    # after another in a single Python call. A grouped pandas UDF (`applyInPandas`) pays about
    # 3 ms of Arrow and pandas set-up per series: 19 s of 27 for 1,500 series x 4 metrics.
    # The partition count is explicit so adaptive execution cannot coalesce the work onto one core.
    partitions = int(series.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    scored = series.repartition(partitions, *METRIC_KEYS).mapInPandas(
        lambda batches: baselines_of_partition(batches, window_buckets, config.method, context, config),
        _with_baseline_schema(series))
    is_rate = F.col("metric") == "error_rate"
    return (
        scored.withColumn("center", F.when(is_rate, F.col("pooled_rate")).otherwise(F.col("center")))
        .withColumn("spread", F.when(
            is_rate, F.sqrt(F.try_divide(F.col("center") * (1 - F.col("center")), F.col("bucket_requests")))
        ).otherwise(F.col("spread")))
        .drop("pooled_rate")
    )


def with_z_score(series: DataFrame, config: DetectorConfig) -> DataFrame:
    """z of each point against its baseline, null during warm-up or for a null point; for mean_ms
    and the error rate the pooled z of the last few minutes (trailing_baseline) when it is larger,
    so a regression too small to show in one quiet minute still flags (an upward z only: these
    metrics are watched upwards).

    The spread is floored so flat series do not explode: latencies by a share of their level,
    request counts by Poisson noise and that share, error rates by `error_rate_floor`.
    """
    metric, center = F.col("metric"), F.col("center")
    floor = (
        F.when(metric.isin(*LATENCY_METRICS), F.abs(center) * config.relative_floor)
        .when(metric == "requests", F.greatest(F.sqrt(F.abs(center)), F.abs(center) * config.relative_floor,
                                               F.lit(1.0)))
        .otherwise(F.greatest(F.lit(config.error_rate_floor), F.try_divide(F.lit(1.0), F.col("bucket_requests"))))
    )
    scale = F.greatest(F.coalesce(F.col("spread"), F.lit(0.0)), floor)
    scored = (F.col("history") >= config.min_history) & F.col("signal").isNotNull()
    z = F.try_divide(F.col("signal") - center, scale)
    pooled = F.col("pooled_z") if "pooled_z" in series.columns else F.lit(None).cast("double")
    return series.select(
        *[column for column in series.columns if column not in ("spread", "pooled_z")],
        F.when(scored, F.when(z.isNotNull(), F.greatest(z, pooled))).alias("z_score"),
        F.when(scored, z).alias("bucket_z"),  # the bucket alone, without the pooled z
        center.alias("baseline"),
        # the spread z was measured in, and the band a point must leave to be flagged
        scale.alias("spread"),
        (center - config.threshold * scale).alias("lower"),
        (center + config.threshold * scale).alias("upper"),
    )


def column_or(frame: DataFrame, name: str, default: bool) -> Column:
    """A flag column of `frame`, null as `default`; all `default` in a frame made before the
    column existed (earlier outputs, hand-made frames)."""
    return F.coalesce(F.col(name), F.lit(default)) if name in frame.columns else F.lit(default)


def with_flags(series: DataFrame, config: DetectorConfig) -> DataFrame:
    """Which points cross the threshold in a direction their metric watches, or, scored, lie far
    beyond the series' recent range in such a direction (`far_high` / `far_low`, when present)."""
    directions = F.create_map(*[x for k, v in config.direction.items() for x in (F.lit(k), F.lit(v))])
    watch = F.coalesce(directions[F.col("metric")], F.lit("both"))
    scored = F.col("z_score").isNotNull()
    far_high, far_low = column_or(series, "far_high", False), column_or(series, "far_low", False)
    up = ((F.col("z_score") >= config.threshold) | (scored & far_high)) & watch.isin("up", "both")
    down = ((F.col("z_score") <= -config.threshold) | (scored & far_low)) & watch.isin("down", "both")
    return series.withColumn(
        "direction", F.when(up, F.lit("up")).when(down, F.lit("down"))
    ).withColumn("flagged", F.col("direction").isNotNull())


def in_its_direction(up: str, down: str) -> Column:
    """The flag of the point's own direction (`up` for a point above its baseline, `down` for one
    below); False for a point that is neither."""
    direction = F.col("direction")
    return F.when(direction == "up", F.col(up)).when(direction == "down", F.col(down)).otherwise(F.lit(False))


def score_series(ts: DataFrame, bucket_seconds: int, config: DetectorConfig) -> DataFrame:
    """The bucketed metrics, scored: one row per series x metric x bucket. `novel`: a flagged
    point beyond every value of its series in the SPIKE_NOVELTY_SECONDS before it, in its
    direction (signals: only such a spike opens an incident without persistence); `far`: beyond
    it by FAR_NOVELTY_MARGIN of its reach (flagged whatever its z, and opens an incident);
    `slow_out`: out in its direction against the slow models too (trailing_baseline)."""
    return (
        ts.transform(lambda df: with_full_bucket_grid(df, bucket_seconds))
        .transform(lambda df: long_series(df, config.min_bucket_requests))
        .transform(lambda df: with_baseline(df, config, bucket_seconds))
        .transform(lambda df: with_z_score(df, config))
        .transform(lambda df: with_flags(df, config))
        .withColumn("novel", in_its_direction("new_high", "new_low"))
        .withColumn("far", in_its_direction("far_high", "far_low"))
        .withColumn("slow_out", in_its_direction("slow_high", "slow_low"))
        .select(*METRIC_KEYS, "bucket", "bucket_requests", "value", "history", "baseline", "spread",
                "lower", "upper", "z_score", "bucket_z", "direction", "flagged", "novel", "far", "slow_out")
    )


def scoring_coverage(scored: DataFrame) -> DataFrame:
    """Per metric: buckets on the grid, buckets with a value (enough requests), buckets scored
    (a value and enough history): what the report says when a metric could not be watched."""
    return (scored.groupBy("metric")
            .agg(F.count(F.lit(1)).alias("buckets"), F.count("value").alias("with_value"),
                 F.count("z_score").alias("scored")))


def signals(scored: DataFrame, bucket_seconds: int, persistence: int, spike_threshold: float = math.inf,
            merge_gap_seconds: int = 0) -> DataFrame:
    """What moved: runs of flagged points of one metric in one direction, kept when at least
    `persistence` long or when one of them is at least `spike_threshold` out, then merged when
    less than `merge_gap_seconds` apart: persistence filters noise, a single point that far out is an outage that needs no
    confirmation (the fast-burn rule of multi-window SLO alerting), and an alarm that is already
    open is not raised again for a short lull. A p95 (SPIKE_NEEDS_PERSISTENCE) always needs
    persistence: one bucket's p95 at a few dozen requests is its second or third slowest request.
    A spike opens alone only when it is news: one of its points beyond every value of the series
    in the SPIKE_NOVELTY_SECONDS before it (`novel`; scored frames without it count every spike).
    A run holding a point far beyond that range (`far`, FAR_NOVELTY_MARGIN) opens at once. A run
    that only its persistence opens must also hold a point out against the slow models alone
    (`slow_out`, baselines.Baseline.slow_z): a shift the hour model flags but the same time of day
    or week has seen before is routine.
    Columns: (signal_id, service, environment, metric, direction, start, end, buckets, peak z, ...,
    `record`: the run went far beyond the series' recent range)."""
    runs = (
        flagged_runs(scored)
        .where(((F.col("buckets") >= persistence) & F.col("slow_out"))
               | ((F.abs("peak_z") >= spike_threshold) & F.col("novel")
                  & ~F.col("metric").isin(*SPIKE_NEEDS_PERSISTENCE))
               | F.col("far"))
    )
    return (
        merged_within(runs, bucket_seconds, merge_gap_seconds)
        .withColumn("end", F.col("last_bucket") + F.expr(f"INTERVAL {bucket_seconds} SECONDS"))
        .withColumn("signal_id", F.concat_ws(":", *METRIC_KEYS, "direction",
                                             F.date_format("start", "yyyyMMdd'T'HHmm")))
        .select("signal_id", *METRIC_KEYS, "direction", "start", "end", "buckets", "peak_z",
                "peak_value", "baseline_at_start", "record")
    )


def flagged_runs(scored: DataFrame) -> DataFrame:
    """Consecutive flagged points of one signal and direction, as one row each. Only scored
    points count: a bucket without a value (no traffic to time, a sparse series) neither breaks
    nor extends a run."""
    # Gaps and islands: along a run, (position among scored points) - (position among the
    # run's flagged points) is constant. Ranking windows have no frame to choose.
    position = F.row_number().over(W.partitionBy(*METRIC_KEYS).orderBy("bucket"))
    flagged_position = F.row_number().over(W.partitionBy(*METRIC_KEYS, "direction").orderBy("bucket"))
    return (
        scored.where(F.col("z_score").isNotNull())
        .withColumn("position", position)
        .where("flagged")
        .withColumn("run", F.col("position") - flagged_position)
        .transform(without_recovered_tail)
        .groupBy(*METRIC_KEYS, "direction", "run")
        .agg(F.min("bucket").alias("start"), F.max("bucket").alias("last_bucket"),
             F.count(F.lit(1)).alias("buckets"),
             # any point of the run a new high / low; frames scored before the column: every run
             (F.max(column_or(scored, "novel", True).cast("int")) > 0).alias("novel"),
             # any point of the run far beyond the recent range; frames scored before the column: none
             (F.max(column_or(scored, "far", False).cast("int")) > 0).alias("far"),
             # any point of the run out against the slow models too; frames scored before the column: all
             (F.max(column_or(scored, "slow_out", True).cast("int")) > 0).alias("slow_out"),
             F.max_by("z_score", F.abs("z_score")).alias("peak_z"),
             F.max_by("value", F.abs("z_score")).alias("peak_value"),
             F.min_by("baseline", "bucket").alias("baseline_at_start"))
    )


def without_recovered_tail(run_points: DataFrame) -> DataFrame:
    """A run's points up to its last one whose bucket is still out on its own (RECOVERED_Z): the
    buckets after it are flagged only by the pooled z of minutes already past. A run with no such
    point (a regression seen only pooled) keeps every point; frames scored without `bucket_z`
    are kept whole."""
    if "bucket_z" not in run_points.columns:
        return run_points
    signed = F.when(F.col("direction") == "down", -F.col("bucket_z")).otherwise(F.col("bucket_z"))
    last_out = F.max(F.when((signed >= RECOVERED_Z) | column_or(run_points, "far", False), F.col("bucket"))).over(
        W.partitionBy(*METRIC_KEYS, "direction", "run"))
    return (run_points.withColumn("last_out", last_out)
            .where(F.col("last_out").isNull() | (F.col("bucket") <= F.col("last_out")))
            .drop("last_out"))


def merged_within(runs: DataFrame, bucket_seconds: int, gap_seconds: int) -> DataFrame:
    """Runs of one signal and direction less than `gap_seconds` apart (end to start) as one."""
    in_time = W.partitionBy(*METRIC_KEYS, "direction").orderBy("start")
    # a running count of the runs that open a new incident, up to and including this one
    so_far = in_time.rowsBetween(W.unboundedPreceding, W.currentRow)
    gap = F.unix_timestamp("start") - F.unix_timestamp(F.lag("last_bucket").over(in_time)) - bucket_seconds
    opens = F.when(gap.isNull() | (gap > gap_seconds), 1).otherwise(0)
    return (
        runs.withColumn("opens", opens)
        .withColumn("incident", F.sum("opens").over(so_far))
        .groupBy(*METRIC_KEYS, "direction", "incident")
        .agg(F.min("start").alias("start"), F.max("last_bucket").alias("last_bucket"),
             F.sum("buckets").alias("buckets"),
             F.max_by("peak_z", F.abs("peak_z")).alias("peak_z"),
             F.max_by("peak_value", F.abs("peak_z")).alias("peak_value"),
             F.min_by("baseline_at_start", "start").alias("baseline_at_start"),
             F.max(F.col("far").cast("int")).cast("boolean").alias("record"))
    )


# ---- incidents: what an on-call engineer is paged about ----------------------------------------

# How bad a signal is, by what it did to users (not by its z): rank 3 critical, 2 major, 1 minor.
CRITICAL_ERROR_RATE, MAJOR_ERROR_RATE = 0.10, 0.02   # 5xx share of requests
CRITICAL_SLOWDOWN, MAJOR_SLOWDOWN = 3.0, 1.5         # latency over its baseline
CRITICAL_TRAFFIC_LEFT, MAJOR_TRAFFIC_LEFT = 0.3, 0.7  # share of the baseline's requests still served
SEVERITIES = {3: "critical", 2: "major", 1: "minor"}


def signal_severity() -> Column:
    """1-3 for one signal row (metric, direction, peak_value, baseline_at_start)."""
    metric, value, baseline = F.col("metric"), F.col("peak_value"), F.col("baseline_at_start")
    up, down = F.col("direction") == "up", F.col("direction") == "down"
    ratio = F.try_divide(value, baseline)
    return (
        F.when((metric == "error_rate") & up,
               F.when(value >= CRITICAL_ERROR_RATE, 3).when(value >= MAJOR_ERROR_RATE, 2).otherwise(1))
        .when(metric.isin(*LATENCY_METRICS) & up,
              F.when(ratio >= CRITICAL_SLOWDOWN, 3).when(ratio >= MAJOR_SLOWDOWN, 2).otherwise(1))
        .when((metric == "requests") & down,
              F.when(ratio <= CRITICAL_TRAFFIC_LEFT, 3).when(ratio <= MAJOR_TRAFFIC_LEFT, 2).otherwise(1))
        .otherwise(1)
    )


def is_surge() -> Column:
    """A signal of more requests than normal: a launch, a batch job, a crawler. Alone it is no
    page (symptoms are errors, latency and lost traffic); beside one, it is part of the story."""
    return (F.col("metric") == "requests") & (F.col("direction") == "up")


def service_incidents(found_signals: DataFrame, merge_gap_seconds: int,
                      surge_alone_is_incident: bool = False) -> DataFrame:
    """One incident per service x environment x period: every signal of the series that moved,
    overlapping or less than `merge_gap_seconds` apart, with the worst signal's peak, a severity
    and, when incidents of other services overlap it in the same environment, a cascade id. A
    period whose only signals are surges (`is_surge`) is no incident unless
    `surge_alone_is_incident`: its signals stay in anomalies/signals.
    Columns: (incident_id, service, environment, start, end, minutes, severity, peak_metric,
    peak_direction, peak_z, peak_value, peak_baseline, metrics, signals, cascade_id)."""
    in_series = W.partitionBy(*SERIES_KEYS).orderBy("start", "metric")
    earlier = in_series.rowsBetween(W.unboundedPreceding, -1)  # every earlier signal of the series
    so_far = in_series.rowsBetween(W.unboundedPreceding, W.currentRow)
    reach = F.max(F.unix_timestamp("end")).over(earlier) + merge_gap_seconds
    signal = F.struct("metric", "direction", "start", "end", "buckets", "peak_z", "peak_value",
                      "baseline_at_start", F.col("severity_rank").alias("severity_rank"),
                      column_or(found_signals, "record", False).alias("record"))
    grouped = (
        found_signals.withColumn("severity_rank", signal_severity())
        .withColumn("opens", F.when(reach.isNull() | (F.unix_timestamp("start") > reach), 1).otherwise(0))
        .withColumn("group", F.sum("opens").over(so_far))
        .groupBy(*SERIES_KEYS, "group")
        .agg(F.min("start").alias("start"), F.max("end").alias("end"),
             F.max("severity_rank").alias("severity_rank"),
             F.max_by(signal, F.abs("peak_z")).alias("peak"),
             F.array_sort(F.collect_set("metric")).alias("metrics"),
             F.sort_array(F.collect_list(signal)).alias("signals"),
             F.bool_and(is_surge()).alias("surges_only"))
    )
    return (
        grouped.where(F.lit(surge_alone_is_incident) | ~F.col("surges_only"))
        .transform(with_cascades)
        .select(F.concat_ws(":", *SERIES_KEYS, F.date_format("start", "yyyyMMdd'T'HHmm")).alias("incident_id"),
                *SERIES_KEYS, "start", "end",
                ((F.unix_timestamp("end") - F.unix_timestamp("start")) / 60).alias("minutes"),
                F.element_at(F.create_map(*[x for k, v in SEVERITIES.items() for x in (F.lit(k), F.lit(v))]),
                             F.col("severity_rank")).alias("severity"),
                F.col("peak.metric").alias("peak_metric"), F.col("peak.direction").alias("peak_direction"),
                F.col("peak.peak_z").alias("peak_z"), F.col("peak.peak_value").alias("peak_value"),
                F.col("peak.baseline_at_start").alias("peak_baseline"), "metrics", "signals", "cascade_id")
    )


def with_cascades(incidents: DataFrame) -> DataFrame:
    """`cascade_id` for incidents of two or more services of one environment that overlap in
    time (chained overlaps count): a probable cascade, named after its first start; else null."""
    in_environment = W.partitionBy("environment").orderBy("start", "service")
    earlier = in_environment.rowsBetween(W.unboundedPreceding, -1)
    so_far = in_environment.rowsBetween(W.unboundedPreceding, W.currentRow)
    whole = W.partitionBy("environment", "chain").rowsBetween(W.unboundedPreceding, W.unboundedFollowing)
    reach = F.max("end").over(earlier)
    return (
        incidents.withColumn("opens", F.when(reach.isNull() | (F.col("start") >= reach), 1).otherwise(0))
        .withColumn("chain", F.sum("opens").over(so_far))
        .withColumn("services", F.size(F.collect_set("service").over(whole)))
        .withColumn("cascade_id", F.when(F.col("services") > 1, F.concat_ws(
            ":", F.lit("cascade"), "environment", F.date_format(F.min("start").over(whole), "yyyyMMdd'T'HHmm"))))
        .drop("opens", "chain", "services")
    )
