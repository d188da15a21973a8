"""The summary metrics again, with pair-RDD transformations.

The RDD's elements are the clean Parquet files. `mapPartitions` reads the columns it needs
from each file in its partition (series, status, level, latency) and pre-aggregates them into one small state per series
(counts, sums and a histogram of the exact latency values), `reduceByKey` merges the states
across partitions, and only one summary row per series reaches the driver.

Why files and not `DataFrame.rdd`: that hands every record to Python as a Row object, pickled
across from the JVM one by one, an order of magnitude slower than the DataFrame summary
(docs/performance.md). Read as columns into numpy inside the tasks, the RDD path does the same aggregation
without a per-record Python step. The executors read the files themselves, through pyarrow's
filesystems (local, HDFS, S3), so they must reach `data_root` as Spark's own readers do.

Percentiles from the merged histogram are exact, with numpy's linear interpolation: the same
definition as Spark's `percentile`, so the two summaries agree to floating-point rounding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Iterable, Iterator, NamedTuple
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.fs
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from loganalysis.core.schema import SERIES_KEYS, canonical_level_name
from loganalysis.metrics.service_metrics import FAILURE_LEVELS, SUMMARY_PERCENTILES
from loganalysis.core.storage import read_parquet

SeriesKey = tuple[str, str]


class SeriesState(NamedTuple):
    requests: int
    errors_5xx: int
    errors_4xx: int
    latency_sum: float
    latency_max: float
    latency_values: np.ndarray   # distinct latencies, ascending
    latency_counts: np.ndarray   # how many records had each


# scheme:[//authority]/path, as Hadoop prints a file's Path
_HADOOP_URI = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?://(?P<authority>[^/]*))?(?P<path>/.*)")


def file_location(file_uri: str) -> tuple[pyarrow.fs.FileSystem, str]:
    """pyarrow's filesystem and path for a file as Spark names it.

    Spark names files by Java URIs: ASCII that a URI cannot hold is escaped (a space is `%20`,
    the `%3A` Spark wrote into a folder name is `%253A`), non-ASCII is left as it is, which
    pyarrow's URI parser refuses ("Cannot parse URI"). So the path is decoded once: a local
    file is opened by that path, any other scheme gets it fully percent-encoded for pyarrow.
    """
    match = _HADOOP_URI.fullmatch(file_uri)
    if match is None:
        return pyarrow.fs.LocalFileSystem(), file_uri  # a plain local path
    scheme, authority, path = match.group("scheme", "authority", "path")
    path = unquote(path)
    if scheme == "file":
        return pyarrow.fs.LocalFileSystem(), path
    # Hadoop's s3a:// is plain S3 to pyarrow (credentials from the usual AWS environment)
    scheme = "s3" if scheme == "s3a" else scheme
    return pyarrow.fs.FileSystem.from_uri(f"{scheme}://{authority or ''}{quote(path, safe='/')}")


def read_columns(file_uri: str, columns: list[str]) -> pyarrow.Table:
    filesystem, path = file_location(file_uri)
    with filesystem.open_input_file(path) as handle:
        return pq.read_table(handle, columns=columns)


def histogram(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values ascending, summed counts) of values that may repeat."""
    distinct, position = np.unique(values, return_inverse=True)
    return distinct, np.bincount(position, weights=counts, minlength=len(distinct)).astype(np.int64)


def is_failure(status: pyarrow.ChunkedArray, level: pyarrow.ChunkedArray, failure_levels: Sequence[str]) -> np.ndarray:
    """`service_metrics.is_failure` per record: a 5xx status; without a status, a failure level."""
    by_level = pc.is_in(pc.utf8_upper(level), value_set=pyarrow.array([canonical_level_name(v) for v in failure_levels],
                                                                       pyarrow.string()))
    return flags(pc.if_else(pc.is_valid(status), pc.greater_equal(status, 500), by_level))


def flags(condition: pyarrow.ChunkedArray) -> np.ndarray:
    """A boolean column as numpy, null counted as false (as Spark's `count(when(...))` does)."""
    return pc.fill_null(condition, False).to_numpy(zero_copy_only=False)


def file_states(table: pyarrow.Table, failure_levels: Sequence[str] = FAILURE_LEVELS
                ) -> Iterator[tuple[SeriesKey, SeriesState]]:
    """One state per series among a file's records. A file holds what one task wrote, which can
    be records of many series (a task reads many small raw files): the columns are computed once
    for the file, then cut by series (one stable sort of its series codes)."""
    service, environment = (pc.dictionary_encode(table.column(name)).combine_chunks() for name in SERIES_KEYS)
    environments = len(environment.dictionary)
    codes = service.indices.to_numpy() * environments + environment.indices.to_numpy()
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    status = table.column("status_code")
    failed = is_failure(status, table.column("level"), failure_levels)
    client_error = flags(pc.and_(pc.greater_equal(status, 400), pc.less_equal(status, 499)))
    # Null latencies become NaN (clean records hold no NaN: validation quarantines it).
    latency = table.column("response_time_ms").to_numpy(zero_copy_only=False).astype(float)
    for start, stop in zip(starts, [*starts[1:], len(order)]):
        rows = order[start:stop]
        code = int(codes[rows[0]])
        values = latency[rows]
        values = values[~np.isnan(values)]
        distinct, counts = histogram(values, np.ones(len(values), dtype=np.int64))
        key = (service.dictionary[code // environments].as_py(), environment.dictionary[code % environments].as_py())
        yield key, SeriesState(
            requests=len(rows), errors_5xx=int(failed[rows].sum()), errors_4xx=int(client_error[rows].sum()),
            latency_sum=float(values.sum()), latency_max=float(values.max()) if len(values) else -math.inf,
            latency_values=distinct, latency_counts=counts)


def merge_states(left: SeriesState, right: SeriesState) -> SeriesState:
    values, counts = histogram(np.concatenate([left.latency_values, right.latency_values]),
                               np.concatenate([left.latency_counts, right.latency_counts]))
    return SeriesState(left.requests + right.requests, left.errors_5xx + right.errors_5xx,
                       left.errors_4xx + right.errors_4xx, left.latency_sum + right.latency_sum,
                       max(left.latency_max, right.latency_max), values, counts)


def partition_states(file_uris: Iterable[str], failure_levels: Sequence[str] = FAILURE_LEVELS
                     ) -> Iterator[tuple[SeriesKey, SeriesState]]:
    """One pre-aggregated state per series among this partition's files."""
    states: dict[SeriesKey, SeriesState] = {}
    for uri in file_uris:
        table = read_columns(uri, [*SERIES_KEYS, "status_code", "level", "response_time_ms"])
        for key, state in file_states(table, failure_levels):
            states[key] = merge_states(states[key], state) if key in states else state
    return iter(states.items())


def exact_percentile(values: np.ndarray, counts: np.ndarray, fraction: float) -> float | None:
    """Linear-interpolated percentile of the records a histogram counts (numpy's default)."""
    total = int(counts.sum())
    if total == 0:
        return None
    position = fraction * (total - 1)
    lower_rank, upper_rank = math.floor(position), math.ceil(position)
    cumulative = np.cumsum(counts)  # value i covers ranks [cumulative[i-1], cumulative[i])
    lower = values[np.searchsorted(cumulative, lower_rank, side="right")]
    upper = values[np.searchsorted(cumulative, upper_rank, side="right")]
    return float(lower + (upper - lower) * (position - lower_rank))


def summary_row(pair: tuple[SeriesKey, SeriesState]) -> dict:
    (service, environment), state = pair
    measured = int(state.latency_counts.sum())
    row = {
        "service": service, "environment": environment, "requests": state.requests,
        "errors_5xx": state.errors_5xx, "error_rate_5xx": state.errors_5xx / state.requests,
        "errors_4xx": state.errors_4xx, "error_rate_4xx": state.errors_4xx / state.requests,
        "mean_ms": state.latency_sum / measured if measured else None,
    }
    for fraction in SUMMARY_PERCENTILES:
        row[f"p{round(fraction * 100)}_ms"] = exact_percentile(state.latency_values, state.latency_counts, fraction)
    row["max_ms"] = state.latency_max if measured else None
    return row


def summarize_rdd(spark: SparkSession, clean_path: str, failure_levels: Sequence[str] = FAILURE_LEVELS
                  ) -> pd.DataFrame:
    """The DataFrame `summarize` result for the clean records under `clean_path`, computed with
    RDD transformations over its Parquet files."""
    levels = tuple(failure_levels)  # shipped to the tasks with the function
    files = read_parquet(spark, clean_path).inputFiles()
    partitions = max(1, min(len(files), 2 * spark.sparkContext.defaultParallelism))
    merged = (
        spark.sparkContext.parallelize(files, partitions)
        .mapPartitions(lambda uris: partition_states(uris, levels))
        .reduceByKey(merge_states)
        .map(summary_row)
        .collect()  # one row per series: an aggregate, never raw records
    )
    return pd.DataFrame(merged).sort_values(SERIES_KEYS).reset_index(drop=True)


def compare_summaries(expected: pd.DataFrame, actual: pd.DataFrame, rtol: float) -> pd.DataFrame:
    """Rows (series x metric) where the two summaries differ beyond `rtol`; empty when they agree.

    A series present in one and missing in the other counts as a difference, and so does a
    value null in one and not in the other.
    """
    merged = expected.merge(actual, on=SERIES_KEYS, how="outer", suffixes=("_df", "_rdd"), indicator=True)
    problems = []
    for metric in [c for c in expected.columns if c not in SERIES_KEYS]:
        left, right = merged[f"{metric}_df"].astype(float), merged[f"{metric}_rdd"].astype(float)
        both_null = left.isna() & right.isna()
        close = (left - right).abs() <= rtol * right.abs().clip(lower=1e-12)
        for index in merged.index[~(both_null | close) | (merged["_merge"] != "both")]:
            problems.append({**{k: merged.at[index, k] for k in SERIES_KEYS}, "metric": metric,
                             "dataframe": left[index], "rdd": right[index]})
    return pd.DataFrame(problems, columns=[*SERIES_KEYS, "metric", "dataframe", "rdd"])
