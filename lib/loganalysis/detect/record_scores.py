"""Per-record z-scores: each record's latency against the trailing window of its series.

The baseline of a record is every record of its service x environment in the buckets of the
trailing window, excluding the record's own bucket. It is computed from the per-bucket latency
sums the metrics stage already wrote into its time series, with prefix sums over the bucket
grid, so its cost grows with the number of buckets, not with window length x records, and
records are touched once (a broadcast join).

The enriched records carry only their z-score. The baseline it was measured against is the
same for every record of a series x bucket, so it is stored once per bucket (the stage's
`record_baseline` output), not repeated on every record, so the enriched write costs about
what a plain copy of the records does.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window as W, functions as F

from loganalysis.core.schema import SERIES_KEYS
from loganalysis.metrics.service_metrics import with_bucket


def bucket_latency_sums(ts: DataFrame) -> DataFrame:
    """n, sum and sum of squares of latency per series x bucket, from the metrics time series
    (reading them there saves a full pass over the records)."""
    return ts.select(*SERIES_KEYS, "bucket", F.col("latency_count").alias("n"),
                     F.col("latency_sum").alias("s1"), F.col("latency_sum_sq").alias("s2"))


def trailing_latency_baseline(sums: DataFrame, bucket_seconds: int, window_seconds: int,
                              min_records: int) -> DataFrame:
    """Mean and stddev of latency over the `window_seconds` before each bucket."""
    span = window_seconds // bucket_seconds
    grid = (
        sums.groupBy(*SERIES_KEYS).agg(F.min("bucket").alias("first"), F.max("bucket").alias("last"))
        .select(*SERIES_KEYS, F.explode(F.sequence(
            "first", "last", F.expr(f"INTERVAL {bucket_seconds} SECONDS"))).alias("bucket"))
        .join(sums, [*SERIES_KEYS, "bucket"], how="left")
        .fillna({"n": 0, "s1": 0.0, "s2": 0.0})
    )
    # Running totals need only the rows up to the current one; the frame is explicit so Spark
    # keeps one running sum per series instead of re-aggregating a sliding frame per row.
    running = W.partitionBy(*SERIES_KEYS).orderBy("bucket").rowsBetween(W.unboundedPreceding, W.currentRow)
    ordered = W.partitionBy(*SERIES_KEYS).orderBy("bucket")

    def trailing(col: str):
        # total up to the previous bucket minus total up to `span + 1` buckets back
        return F.lag(f"cum_{col}", 1, 0).over(ordered) - F.lag(f"cum_{col}", span + 1, 0).over(ordered)

    with_totals = grid.select("*", *[F.sum(col).over(running).alias(f"cum_{col}") for col in ("n", "s1", "s2")])
    n, s1, s2 = (F.col(f"w_{c}") for c in ("n", "s1", "s2"))
    # a single-record baseline has no spread: try_divide turns n - 1 = 0 into null, not an error
    variance = F.greatest(F.try_divide(s2 - s1 * s1 / n, n - 1), F.lit(0.0))
    return (
        with_totals.select(*SERIES_KEYS, "bucket", *[trailing(c).alias(f"w_{c}") for c in ("n", "s1", "s2")])
        .where(n >= min_records)
        .select(*SERIES_KEYS, "bucket", (s1 / n).alias("baseline_mean_ms"),
                F.sqrt(variance).alias("baseline_std_ms"), n.cast("long").alias("baseline_records"))
    )


def with_baseline(records: DataFrame, baseline: DataFrame, bucket_seconds: int) -> DataFrame:
    """The records with their bucket and the baseline of their series x bucket (null without
    enough history)."""
    return (
        records.transform(lambda df: with_bucket(df, bucket_seconds))
        # The baseline has one row per series x bucket: small enough to broadcast to every task.
        .join(F.broadcast(baseline), [*SERIES_KEYS, "bucket"], how="left")
    )


def with_record_z_scores(records: DataFrame, baseline: DataFrame, bucket_seconds: int,
                         relative_floor: float, absolute_floor_ms: float) -> DataFrame:
    """The records with their z-score (null without enough history)."""
    scale = F.greatest(F.col("baseline_std_ms"), F.col("baseline_mean_ms") * relative_floor,
                       F.lit(absolute_floor_ms))
    return (
        with_baseline(records, baseline, bucket_seconds)
        .select(*records.columns, F.try_divide(F.col("response_time_ms") - F.col("baseline_mean_ms"), scale)
                .alias("z_score"))
    )
