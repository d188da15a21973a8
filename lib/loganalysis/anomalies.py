"""Sliding-window z-scores on the per-bucket series, and the incidents they add up to.

Every series (service x environment x metric) is scored against a trailing window that ends
just before the bucket being scored, so a spike never dilutes its own baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Window as W, functions as F

from loganalysis.metrics import SERIES_KEYS

SCORED_METRICS = ("requests", "error_rate", "mean_ms", "p95_ms")
METRIC_KEYS = [*SERIES_KEYS, "metric"]


@dataclass(frozen=True)
class DetectorConfig:
    window_seconds: int = 3600          # trailing baseline length
    min_history: int = 30               # buckets of history needed before a bucket is scored
    threshold: float = 4.0              # |z| at or above this flags a bucket
    persistence: int = 2                # consecutive flagged buckets before an incident opens
    method: str = "robust"              # "robust" (median, MAD) or "mean" (mean, stddev)
    min_bucket_requests: int = 10       # rates and latencies of sparser buckets are not scored
    relative_floor: float = 0.05        # spread never below this share of the baseline level
    absolute_floor: dict = field(default_factory=lambda: {
        "requests": 1.0, "error_rate": 0.01, "mean_ms": 1.0, "p95_ms": 1.0})
    direction: dict = field(default_factory=lambda: {
        "requests": "both", "error_rate": "up", "mean_ms": "up", "p95_ms": "up"})


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
    """One row per series x metric x bucket. Rates and latencies of buckets with too few
    requests are null: one error in two requests is noise, not a 50% error rate."""
    dense = F.col("requests") >= min_bucket_requests
    return (
        ts.select(*SERIES_KEYS, "bucket",
                  F.col("requests").cast("double").alias("requests"),
                  *[F.when(dense, F.col(m)).alias(m) for m in ("error_rate", "mean_ms", "p95_ms")])
        .unpivot([*SERIES_KEYS, "bucket"], list(SCORED_METRICS), "metric", "value")
        .withColumn("epoch", F.unix_timestamp("bucket"))
    )


def trailing_window(window_seconds: int) -> W:
    # RANGE over epoch seconds, ending one second before the bucket: the trailing window
    # covers the buckets of the last `window_seconds` and never the bucket being scored.
    return (
        W.partitionBy(*METRIC_KEYS).orderBy("epoch")
        .rangeBetween(-window_seconds, -1)
    )


def _median_of_sorted(values: Column) -> Column:
    n = F.size(values)
    lower = F.element_at(values, F.floor((n + 1) / 2).cast("int"))
    upper = F.element_at(values, F.ceil((n + 1) / 2).cast("int"))
    return F.when(n > 0, (lower + upper) / 2)


def with_baseline(series: DataFrame, config: DetectorConfig) -> DataFrame:
    """Baseline level and spread of each point from its trailing window."""
    window = trailing_window(config.window_seconds)
    if config.method == "mean":
        return (
            series.withColumn("history", F.count("value").over(window))
            .withColumn("baseline", F.mean("value").over(window))
            .withColumn("spread", F.stddev_samp("value").over(window))
        )
    # Robust: median and 1.4826 x MAD (equal to the stddev for normal data), which an
    # ongoing incident inside the window barely moves.
    history = F.array_sort(F.collect_list("value").over(window))
    median = _median_of_sorted(F.col("_history"))
    deviations = F.array_sort(F.transform("_history", lambda x: F.abs(x - F.col("baseline"))))
    return (
        series.withColumn("_history", history)
        .withColumn("history", F.size("_history"))
        .withColumn("baseline", median)
        .withColumn("spread", F.lit(1.4826) * _median_of_sorted(deviations))
        .drop("_history")
    )


def with_z_score(series: DataFrame, config: DetectorConfig) -> DataFrame:
    """z of each point against its baseline, floored spread; null during warm-up or for nulls."""
    floors = F.create_map(*[x for k, v in config.absolute_floor.items() for x in (F.lit(k), F.lit(float(v)))])
    scale = F.greatest(F.col("spread"), F.abs("baseline") * config.relative_floor,
                       F.coalesce(floors[F.col("metric")], F.lit(0.0)))
    return series.withColumn(
        "z_score",
        F.when((F.col("history") >= config.min_history) & F.col("value").isNotNull(),
               (F.col("value") - F.col("baseline")) / scale),
    )


def with_flags(series: DataFrame, config: DetectorConfig) -> DataFrame:
    """Which points cross the threshold in a direction their metric watches."""
    directions = F.create_map(*[x for k, v in config.direction.items() for x in (F.lit(k), F.lit(v))])
    watch = F.coalesce(directions[F.col("metric")], F.lit("both"))
    up = (F.col("z_score") >= config.threshold) & watch.isin("up", "both")
    down = (F.col("z_score") <= -config.threshold) & watch.isin("down", "both")
    return series.withColumn(
        "direction", F.when(up, F.lit("up")).when(down, F.lit("down"))
    ).withColumn("flagged", F.col("direction").isNotNull())


def score_series(ts: DataFrame, bucket_seconds: int, config: DetectorConfig) -> DataFrame:
    """The bucketed metrics, scored: one row per series x metric x bucket."""
    return (
        ts.transform(lambda df: with_full_bucket_grid(df, bucket_seconds))
        .transform(lambda df: long_series(df, config.min_bucket_requests))
        .transform(lambda df: with_baseline(df, config))
        .transform(lambda df: with_z_score(df, config))
        .transform(lambda df: with_flags(df, config))
        .select(*METRIC_KEYS, "bucket", "value", "history", "baseline", "spread", "z_score",
                "direction", "flagged")
    )


def incidents(scored: DataFrame, bucket_seconds: int, persistence: int) -> DataFrame:
    """Runs of consecutive flagged buckets in one direction, kept when at least `persistence`
    long: (service, environment, metric, direction, start, end, buckets, peak z)."""
    # Gaps and islands: along consecutive flagged buckets, epoch/bucket - row_number is constant.
    run_order = W.partitionBy(*METRIC_KEYS, "direction").orderBy("bucket")
    return (
        scored.where("flagged")
        .withColumn("run", F.unix_timestamp("bucket") / bucket_seconds - F.row_number().over(run_order))
        .groupBy(*METRIC_KEYS, "direction", "run")
        .agg(F.min("bucket").alias("start"), F.max("bucket").alias("last_bucket"),
             F.count(F.lit(1)).alias("buckets"),
             F.max_by("z_score", F.abs("z_score")).alias("peak_z"),
             F.max_by("value", F.abs("z_score")).alias("peak_value"),
             F.min_by("baseline", "bucket").alias("baseline_at_start"))
        .where(F.col("buckets") >= persistence)
        .withColumn("end", F.col("last_bucket") + F.expr(f"INTERVAL {bucket_seconds} SECONDS"))
        .withColumn("incident_id", F.concat_ws(":", *METRIC_KEYS, "direction",
                                               F.date_format("start", "yyyyMMdd'T'HHmm")))
        .select("incident_id", *METRIC_KEYS, "direction", "start", "end", "buckets", "peak_z",
                "peak_value", "baseline_at_start")
    )
