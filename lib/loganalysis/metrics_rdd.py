"""The summary metrics again, with pair-RDD transformations.

Each partition pre-aggregates into one small state per service x environment (counts, sums
and a histogram of exact latency values), `reduceByKey` merges the states, and only the
merged states (one per series) reach the driver. Percentiles from the merged histogram are
exact and use numpy's linear interpolation, the same definition as Spark's `percentile`.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Iterator

import pandas as pd
from pyspark.sql import DataFrame

from loganalysis.metrics import SERIES_KEYS, SUMMARY_PERCENTILES

# state: [requests, errors_5xx, errors_4xx, latency_sum, latency_max, latency histogram]
State = list


def _new_state() -> State:
    return [0, 0, 0, 0.0, -math.inf, Counter()]


def partition_states(rows: Iterable) -> Iterator[tuple[tuple[str, str], State]]:
    """One pre-aggregated state per series seen in this partition."""
    states: dict[tuple[str, str], State] = {}
    for service, environment, status, latency in rows:
        state = states.get((service, environment))
        if state is None:
            state = states[(service, environment)] = _new_state()
        state[0] += 1
        if status is not None:
            state[1] += status >= 500
            state[2] += 400 <= status <= 499
        if latency is not None:
            state[3] += latency
            state[4] = max(state[4], latency)
            state[5][latency] += 1
    return iter(states.items())


def merge_states(left: State, right: State) -> State:
    left[0] += right[0]
    left[1] += right[1]
    left[2] += right[2]
    left[3] += right[3]
    left[4] = max(left[4], right[4])
    left[5].update(right[5])
    return left


def exact_percentile(histogram: Counter, fraction: float) -> float | None:
    """Linear-interpolated percentile of the values a histogram counts (numpy's default)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    position = fraction * (total - 1)
    lower_rank, upper_rank = math.floor(position), math.ceil(position)
    lower = upper = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if lower is None and seen > lower_rank:
            lower = value
        if seen > upper_rank:
            upper = value
            break
    return lower + (upper - lower) * (position - lower_rank)


def summary_row(key: tuple[str, str], state: State) -> dict:
    requests, errors_5xx, errors_4xx, latency_sum, latency_max, histogram = state
    measured = sum(histogram.values())
    row = {
        "service": key[0], "environment": key[1], "requests": requests,
        "errors_5xx": errors_5xx, "error_rate_5xx": errors_5xx / requests,
        "errors_4xx": errors_4xx, "error_rate_4xx": errors_4xx / requests,
        "mean_ms": latency_sum / measured if measured else None,
    }
    for fraction in SUMMARY_PERCENTILES:
        row[f"p{round(fraction * 100)}_ms"] = exact_percentile(histogram, fraction)
    row["max_ms"] = latency_max if measured else None
    return row


def summary_row_from_pair(pair: tuple[tuple[str, str], State]) -> dict:
    return summary_row(*pair)


def summarize_rdd(records: DataFrame) -> pd.DataFrame:
    """The DataFrame `summarize` result, computed with RDD transformations."""
    merged = (
        records.select(*SERIES_KEYS, "status_code", "response_time_ms")
        .rdd
        .mapPartitions(partition_states)
        .reduceByKey(merge_states)
        .map(summary_row_from_pair)
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
