"""Service metrics with the DataFrame API: summary, time series, top errors, environments.

Percentiles are exact. The per-service summary uses `percentile` (linear interpolation, numpy's
default). The per-bucket p95 of the time series is the nearest rank (numpy's "inverted_cdf": a
latency the bucket actually had) of the bucket's sorted latencies; a bucket holds its own
latencies while it is aggregated, so its memory grows with its requests, as the summary's does.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window as W, functions as F

from loganalysis.core.schema import SERIES_KEYS, canonical_level_name
from loganalysis.metrics import templates

SUMMARY_PERCENTILES = (0.5, 0.95, 0.99)
TIMESERIES_PERCENT = 95

# ---- column builders --------------------------------------------------------------------------

# An application log has no status code: its failures are the lines at these levels
# (canonical names, as the ingest stage writes them: schema.LEVEL_ALIASES).
FAILURE_LEVELS = ("ERROR", "FATAL")


def is_failure(failure_levels: Sequence[str] = FAILURE_LEVELS) -> Column:
    """A failed request: a 5xx status; for a record without a status (an application log), a
    level in `failure_levels`. The `errors_5xx` columns count these."""
    levels = [canonical_level_name(level) for level in failure_levels]
    return F.when(F.col("status_code").isNotNull(), F.col("status_code") >= 500).otherwise(
        F.upper("level").isin(*levels) if levels else F.lit(False))


def is_client_error(status_col: str = "status_code") -> Column:
    return F.col(status_col).between(400, 499)


def count_where(condition: Column) -> Column:
    return F.count(F.when(condition, F.lit(1)))


# Floating-point addition is not associative, and Spark merges a group's partial sums in the
# order their shuffle blocks arrive: a double sum over records that span files can differ in its
# last bits from one run to the next. Split exactly into whole units and nanounits (the value
# rounded to 9 decimals), the parts add exactly as longs in any order and are converted once.
# Longs, not decimal(38, 9): Java's BigDecimal made the summary's mean cost 1.2 s of its 3 s at
# 10M records (the two long sums: 0.6 s against 1.9 s over 15 series). A sum beyond 9.2e18
# units overflows the long, and Spark (ANSI mode, its default) stops with an error. Squares would
# overflow far sooner: the time series sums those in the order of its sorted latencies instead
# (`sorted_sum`).
def exact_sum_parts(column: Column | str) -> tuple[Column, Column]:
    """The two aggregates whose results `from_exact_parts` turns into the sum of a double column:
    the sum of the values' whole parts and of their fractions in nanounits."""
    column = as_column(column)
    whole = F.floor(column)
    # rint, not round: Spark rounds a double through a BigDecimal (1.5 s against 0.6 s here).
    return F.sum(whole), F.sum(F.rint((column - whole) * 1e9).cast("long"))


def from_exact_parts(whole: Column | str, nanos: Column | str) -> Column:
    """The double sum from `exact_sum_parts`' (possibly re-summed) results; null for no values."""
    return as_column(whole).cast("double") + as_column(nanos).cast("double") / 1e9


def as_column(column: Column | str) -> Column:
    return F.col(column) if isinstance(column, str) else column


def exact_sum(column: Column | str) -> Column:
    """The sum of a double column, independent of the order Spark adds it in (each value rounded
    to 9 decimals first)."""
    return from_exact_parts(*exact_sum_parts(column))


def exact_mean(column: Column | str) -> Column:
    """The mean of a double column's non-null values, as `exact_sum` adds them."""
    column = as_column(column)
    return F.try_divide(exact_sum(column), F.count(column))


def sorted_sum(sorted_values: Column, transform=lambda x: x) -> Column:
    """The sum of `transform` of an array's values, added in the array's order: for a sorted
    array, the same double whatever order Spark collected the values in. Null for an empty
    array, as `F.sum` of no values."""
    return F.when(F.size(sorted_values) > 0,
                  F.aggregate(sorted_values, F.lit(0.0), lambda total, x: total + transform(x)))


def rate(numerator: str, denominator: str = "requests") -> Column:
    return F.try_divide(F.col(numerator), F.col(denominator))


def time_bucket(seconds: int, ts_col: str = "timestamp") -> Column:
    """Start of the fixed-size bucket a timestamp falls in (epoch-aligned, UTC)."""
    epoch = F.unix_timestamp(F.col(ts_col))
    return F.timestamp_seconds(epoch - F.pmod(epoch, F.lit(seconds)))


def nearest_rank(sorted_values: Column, percent: int) -> Column:
    """The `percent`th percentile of an ascending array by nearest rank: the smallest value with
    at least `percent`% of the values at or below it. Null for an empty array."""
    n = F.size(sorted_values)
    rank = F.floor((n * percent + 99) / 100).cast("int")  # ceil(n * percent / 100), kept in integers
    return F.when(n > 0, F.element_at(sorted_values, rank))


def with_bucket(df: DataFrame, seconds: int, ts_col: str = "timestamp") -> DataFrame:
    return df.withColumn("bucket", time_bucket(seconds, ts_col))


# ---- metrics ------------------------------------------------------------------------------------

def summarize(records: DataFrame, failure_levels: Sequence[str] = FAILURE_LEVELS) -> DataFrame:
    """Per service x environment: volume, failures (5xx, or a failure level: `is_failure`) and
    4xx counts and rates, latency statistics."""
    latency = F.col("response_time_ms")
    return (
        records.groupBy(*SERIES_KEYS)
        .agg(
            F.count(F.lit(1)).alias("requests"),
            count_where(is_failure(failure_levels)).alias("errors_5xx"),
            count_where(is_client_error()).alias("errors_4xx"),
            exact_mean(latency).alias("mean_ms"),
            F.percentile(latency, list(SUMMARY_PERCENTILES)).alias("_percentiles"),
            F.max(latency).alias("max_ms"),
        )
        .select(
            *SERIES_KEYS, "requests", "errors_5xx",
            rate("errors_5xx").alias("error_rate_5xx"),
            "errors_4xx", rate("errors_4xx").alias("error_rate_4xx"),
            "mean_ms",
            *[F.col("_percentiles")[i].alias(f"p{round(p * 100)}_ms")
              for i, p in enumerate(SUMMARY_PERCENTILES)],
            "max_ms",
        )
    )


# `bucket: auto`: the candidates, smallest first, and how much of a series' time range must hold
# records for a bucket size to fit its spacing (logs stamped once an hour leave 11 of 12
# five-minute buckets empty).
AUTO_BUCKETS = (60, 300, 900, 3600, 6 * 3600, 86400)
AUTO_COVERAGE = 0.9


def auto_bucket_seconds(records: DataFrame, min_records: int) -> int:
    """The bucket size for `bucket: auto`, from the data's own spacing and volume: see
    `choose_bucket`. Each series' distinct minutes are collected (every candidate size is a whole
    number of minutes: at most 1,440 a day of span) and the filled buckets of each size counted
    exactly from them; one row per series reaches the driver. (`approx_count_distinct` at 1%
    carries six 13 KB sketches per series through every partition: 65-78 s for 1,500 series; a
    per-minute table first, then a set per size: 2.0 s against 1.3 s for this over 1,500 series,
    but 1.1 s against 1.4 s over the 15 series of 10M records, warm.)"""
    minute = F.floor(F.unix_timestamp("timestamp") / 60)
    per_series = (records.groupBy(*SERIES_KEYS)
                  .agg(F.count(F.lit(1)).alias("records"),
                       (F.min(minute) * 60).alias("first"), (F.max(minute) * 60).alias("last"),
                       F.collect_set(minute).alias("minutes"))
                  .select("records", "first", "last",
                          *[F.size(F.array_distinct(F.transform("minutes", lambda m: F.floor(m / (size // 60)))))
                            .alias(f"filled_{size}") for size in AUTO_BUCKETS])
                  .toPandas())
    return choose_bucket(per_series, min_records)


def choose_bucket(per_series, min_records: int) -> int:
    """The smallest of AUTO_BUCKETS at which the median series has records in AUTO_COVERAGE of
    its buckets and at least `min_records` in each (the detector's min_bucket_requests, below
    which a bucket's rates are not scored); failing the volume, the smallest that fits the
    spacing; failing both, a day. `per_series`: records, first, last (epoch seconds) and
    filled_<size> (buckets holding records) per series."""
    if len(per_series) == 0:
        return AUTO_BUCKETS[0]
    fits_spacing = []
    for size in AUTO_BUCKETS:
        grid = per_series["last"] // size - per_series["first"] // size + 1
        filled = per_series[f"filled_{size}"].clip(upper=grid)
        if (filled / grid).median() >= AUTO_COVERAGE:
            fits_spacing.append(size)
            if (per_series["records"] / filled).median() >= min_records:
                return size
    return fits_spacing[0] if fits_spacing else AUTO_BUCKETS[-1]


def timeseries(records: DataFrame, seconds: int, failure_levels: Sequence[str] = FAILURE_LEVELS) -> DataFrame:
    """Per service x environment x bucket: requests, 5xx rate, mean and p95 latency.

    Also the additive parts of the latency moments (count, sum, sum of squares), so a later
    stage can roll buckets up into any window's mean and stddev without reading the records.
    """
    latency = F.col("response_time_ms")
    return (
        records.transform(lambda df: with_bucket(df, seconds))
        .groupBy(*SERIES_KEYS, "bucket")
        .agg(
            F.count(F.lit(1)).alias("requests"),
            count_where(is_failure(failure_levels)).alias("errors_5xx"),
            # Sorting each bucket's latencies (a few hundred) is exact, and cheaper than
            # `percentile_approx` at the accuracy an exact-looking p95 needs. The sums below add
            # them in that order, so every run writes the same doubles.
            F.sort_array(F.collect_list(latency)).alias("_latencies"),
            F.count(latency).alias("latency_count"),
        )
        .select("*", sorted_sum(F.col("_latencies")).alias("latency_sum"),
                sorted_sum(F.col("_latencies"), lambda x: x * x).alias("latency_sum_sq"))
        .select(*SERIES_KEYS, "bucket", F.lit(seconds).alias("bucket_seconds"), "requests", "errors_5xx",
                rate("errors_5xx").alias("error_rate"),
                F.try_divide("latency_sum", "latency_count").alias("mean_ms"),
                nearest_rank(F.col("_latencies"), TIMESERIES_PERCENT).alias("p95_ms"),
                "latency_count", "latency_sum", "latency_sum_sq")
    )


def top_n_per_service(counts: DataFrame, order_col: str, n: int) -> DataFrame:
    """Keep the n rows with the highest `order_col` per service (ties broken by name order)."""
    # The ranking is per service and looks at the whole service: no frame needed beyond the
    # ordering, and the partition keeps each service's rows on one task.
    by_service = W.partitionBy("service").orderBy(F.col(order_col).desc(), *counts.columns[1:2])
    return (
        counts.withColumn("rank", F.row_number().over(by_service))
        .where(F.col("rank") <= n)
    )


def top_error_messages(records: DataFrame, n: int, failure_levels: Sequence[str] = FAILURE_LEVELS) -> DataFrame:
    """The n most frequent kinds of message of failed requests (`is_failure`) per service: the
    message with its variable-looking tokens masked (`templates.masked`), so a failure that
    names another order id each time is one kind, not a thousand messages seen once; with its
    most frequent message as `example` (on a tie, the last in text order; null where nothing was
    masked: the kind is then the message itself, and a second copy would only widen the table)."""
    per_message = (records.where(is_failure(failure_levels)).groupBy("service", "message")
                   .agg(F.count(F.lit(1)).alias("occurrences")))
    # Masked per distinct message, not per line: the masks are a chain of regexes.
    kinds = (per_message.select("service", templates.masked(F.col("message")).alias("kind"), "message", "occurrences")
             .groupBy("service", "kind")
             .agg(F.sum("occurrences").alias("occurrences"), F.max_by("message", F.struct("occurrences", "message")).alias("example"))
             .select("service", F.col("kind").alias("message"), "occurrences",
                     F.when(F.col("example") != F.col("kind"), F.col("example")).alias("example")))
    return top_n_per_service(kinds, "occurrences", n).select("service", "rank", "message", "occurrences", "example")


def request_measures(failure_levels: Sequence[str] = FAILURE_LEVELS) -> list[Column]:
    """What the traffic tables count for a group of requests."""
    return [F.count(F.lit(1)).alias("requests"), F.sum("bytes_sent").alias("bytes_sent"),
            count_where(is_client_error()).alias("errors_4xx"),
            count_where(is_failure(failure_levels)).alias("errors_5xx")]


def request_mix(records: DataFrame, failure_levels: Sequence[str] = FAILURE_LEVELS) -> DataFrame:
    """Per service x environment x status code x endpoint x level: `request_measures` and the
    latency's exact-sum parts and count. Status codes, endpoints and levels have few values a
    series, so this is a small table (hundreds of rows for millions of records) that the status,
    endpoint and level breakdowns and the top error endpoints all roll up from: one pass over the
    records instead of three (and no grouping sets that copy every record once per dimension)."""
    latency_whole, latency_nanos = exact_sum_parts("response_time_ms")
    return (records.groupBy(*SERIES_KEYS, *MIX_KEYS)
            .agg(*request_measures(failure_levels), latency_whole.alias("latency_whole"),
                 latency_nanos.alias("latency_nanos"), F.count("response_time_ms").alias("latency_count")))


def top_error_endpoints(mix: DataFrame, n: int) -> DataFrame:
    """The n endpoints with the most failed requests (`is_failure`) per service, with their
    volume, rate and mean latency; from `request_mix`."""
    counts = (
        mix.groupBy("service", "endpoint")
        .agg(F.sum("requests").alias("requests"), F.sum("errors_5xx").alias("errors_5xx"),
             F.try_divide(from_exact_parts(F.sum("latency_whole"), F.sum("latency_nanos")),
                          F.sum("latency_count")).alias("mean_ms"))
        .where(F.col("errors_5xx") > 0)
    )
    return (
        top_n_per_service(counts, "errors_5xx", n)
        .select("service", "rank", "endpoint", "requests", "errors_5xx",
                rate("errors_5xx").alias("error_rate_5xx"), "mean_ms")
    )


# What a request breaks down by in the traffic tables: every status code and level is kept,
# the busiest `n` endpoints and clients per series. All but the clients come from `request_mix`;
# a series can have thousands of clients, so they are counted on their own.
MIX_KEYS = ("status_code", "endpoint", "level")
BREAKDOWNS = ("status_code", "endpoint", "client_ip", "level")
TOP_ONLY = ("endpoint", "client_ip")


def traffic_breakdown(records: DataFrame, n: int, failure_levels: Sequence[str] = FAILURE_LEVELS,
                      mix: DataFrame | None = None) -> DataFrame:
    """Requests, bytes served, 4xx and 5xx per service x environment by status code, endpoint,
    client and log level: one long table (`dimension`, `value`). Status codes, endpoints and
    levels roll up from `mix` (the records' `request_mix`, computed when not given), clients
    are counted from the records. Records without the field (an access log has no level) are
    left out of that dimension."""
    if mix is None:
        mix = request_mix(records, failure_levels)
    measures = ["requests", "bytes_sent", "errors_4xx", "errors_5xx"]
    by_mix_key = [mix.groupBy(*SERIES_KEYS, F.lit(key).alias("dimension"), F.col(key).cast("string").alias("value"))
                  .agg(*[F.sum(m).alias(m) for m in measures]) for key in MIX_KEYS]
    by_client = (records.groupBy(*SERIES_KEYS, F.lit("client_ip").alias("dimension"), F.col("client_ip").alias("value"))
                 .agg(*request_measures(failure_levels)))
    long = by_client
    for table in by_mix_key:
        long = long.unionByName(table)
    busiest = W.partitionBy(*SERIES_KEYS, "dimension").orderBy(F.desc("requests"), "value")
    return (long.where(F.col("value").isNotNull())
            .select("*", F.row_number().over(busiest).alias("rank"))
            .where(~F.col("dimension").isin(*TOP_ONLY) | (F.col("rank") <= n)))


def environment_comparison(summary: DataFrame) -> DataFrame:
    """One row per service and environment, ranked against the service's own prod numbers."""
    prod = summary.where(F.col("environment") == "prod").select(
        "service", F.col("error_rate_5xx").alias("prod_error_rate_5xx"), F.col("p95_ms").alias("prod_p95_ms"))
    return (
        summary.join(prod, "service", how="left")
        .select(*SERIES_KEYS, "requests", "error_rate_5xx", "p95_ms",
                (F.col("error_rate_5xx") - F.col("prod_error_rate_5xx")).alias("error_rate_vs_prod"),
                F.try_divide("p95_ms", "prod_p95_ms").alias("p95_ratio_vs_prod"))
        .orderBy(*SERIES_KEYS)
    )


def latency_histogram(records: DataFrame, group: str = "service", bins_per_decade: int = 10) -> DataFrame:
    """Requests and their share per logarithmic latency bin (lower edge in ms), per group."""
    log_bin = F.floor(F.log10("response_time_ms") * bins_per_decade)
    # Share within the group: the frame spans the whole group, partitioned so each group's
    # few hundred bins stay on one task.
    whole_group = W.partitionBy(group).rowsBetween(W.unboundedPreceding, W.unboundedFollowing)
    return (
        records.where(F.col("response_time_ms") > 0)
        .groupBy(group, log_bin.alias("bin"))
        .agg(F.count(F.lit(1)).alias("requests"))
        .select(group, F.pow(F.lit(10.0), F.col("bin") / bins_per_decade).alias("bin_ms"), "requests",
                (F.col("requests") / F.sum("requests").over(whole_group)).alias("share"))
        .orderBy(group, "bin_ms")
    )


def hourly_rollup(ts: DataFrame) -> DataFrame:
    """Requests and 5xx per service per hour, summed over environments: the traffic shape."""
    return (
        ts.groupBy("service", F.date_trunc("hour", "bucket").alias("hour"))
        .agg(F.sum("requests").alias("requests"), F.sum("errors_5xx").alias("errors_5xx"))
        .orderBy("service", "hour")
    )


def records_per_hour(records: DataFrame, failure_levels: Sequence[str] = FAILURE_LEVELS) -> DataFrame:
    """`hourly_rollup` straight from records, each one request: the traffic shape of logs that
    have no time series yet (what stage 01 wrote)."""
    return hourly_rollup(records.select("service", F.col("timestamp").alias("bucket"), F.lit(1).alias("requests"),
                                        is_failure(failure_levels).cast("int").alias("errors_5xx")))
