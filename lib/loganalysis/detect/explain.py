"""What set an incident apart: which endpoints, status codes, messages and hosts are
over-represented among its affected requests compared with the series' baseline window."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, Window as W, functions as F

from loganalysis.core.schema import SERIES_KEYS
from loganalysis.metrics.templates import masked
from loganalysis.metrics.service_metrics import FAILURE_LEVELS, is_failure

DIMENSIONS = ("endpoint", "status_code", "message", "host")
SLOW_Z = 3.0  # a request this many baseline deviations slower counts as affected by a latency incident
# What an incident is compared with: the hour before it, or its last 12 buckets where buckets are
# longer than 5 minutes, never more than the detector's window. The traffic just before an
# incident has the same daily mix; the detector's day-long window mixed night and day and made
# the explanations read 8.2M of 10M records (10M bench: 3.6 s -> 1.8 s, 62 of 68 top values the
# same, the others hosts and status codes shared alike by incident and baseline).
BASELINE_SECONDS = 3600
BASELINE_BUCKETS = 12


def baseline_seconds(bucket_seconds: int, window_seconds: int) -> int:
    """How long before an incident its explanation's baseline reaches back."""
    return min(window_seconds, max(BASELINE_SECONDS, BASELINE_BUCKETS * bucket_seconds))


def affected(metrics: Column, failure_levels: Sequence[str] = FAILURE_LEVELS) -> Column:
    """Which requests an incident whose signals moved `metrics` (an array) is about: the failed
    ones when the error rate moved, the slow ones when latency did, all when only traffic did."""
    errors, latency = F.array_contains(metrics, "error_rate"), (
        F.array_contains(metrics, "mean_ms") | F.array_contains(metrics, "p95_ms"))
    slow = F.coalesce(F.col("z_score") >= SLOW_Z, F.lit(False))
    return (errors & F.coalesce(is_failure(failure_levels), F.lit(False))) | (latency & slow) | ~(errors | latency)


def _as_value(dimension: Column, raw: Column) -> Column:
    """What records are grouped by in a dimension: the value itself, except messages, whose ids,
    addresses and numbers are masked (templates.masked): "connection refused by db-61:60217" and
    "... by db-7:5432" are one cause, which only together stands out against the baseline.
    Applied to distinct raw values, not to every record: masking is a chain of regexes."""
    return F.when(dimension == "message", masked(raw)).otherwise(raw)


# Time spans of the records filter, at most: every incident a span of its own when few, the
# closest spans of a service merged past this. A filter of hundreds of conditions is too large
# for Spark's generated code and runs interpreted on every record (209 incidents of 52 NAB
# series, a condition each: 8 s; a span per series 3.2 s; one span for all 1.6 s).
MAX_SPANS = 24


def _spans(windows: list, limit: int = MAX_SPANS) -> list[tuple[str, object, object]] | None:
    """(service, start, end) spans that cover every window's baseline and incident, overlapping
    ones merged; past `limit`, the spans of one service with the smallest gaps between them
    merged until `limit` are left. None when the services alone are more than `limit`."""
    merged: list[list] = []
    for service, start, end in sorted((w.service, w.baseline_start, w.end) for w in windows):
        if merged and merged[-1][0] == service and start <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([service, start, end])
    if len({service for service, _, _ in merged}) > limit:
        return None
    # Closing a gap leaves every other gap as it was (the spans are apart and in order), so the
    # smallest len - limit gaps within a service are closed at once.
    gaps = sorted((merged[i + 1][1] - merged[i][2], i) for i in range(len(merged) - 1)
                  if merged[i][0] == merged[i + 1][0])
    closed = {i for _, i in gaps[:max(len(merged) - limit, 0)]}
    spans: list[list] = []
    for i, span in enumerate(merged):
        if i - 1 in closed:
            spans[-1][2] = span[2]
        else:
            spans.append(list(span))
    return [tuple(span) for span in spans]


def _within_any(windows: list) -> Column:
    """A literal filter for the records of the incidents' services and environments within the
    incidents' time (`_spans`, from each baseline's start to the incident's end): the join then
    keeps each incident's own series and span. On the default 10M records the coarse filter of
    one span for all incidents kept 8.2M records for the join, a span per incident 1.7M (the
    explanations 3.55 -> 2.43 s, warm). The environments prune partition folders."""
    if not windows:
        return F.lit(False)
    spans = _spans(windows, MAX_SPANS)
    ts, service = F.col("timestamp"), F.col("service")
    if spans is None:  # more services than spans: one span for all
        spans_filter = (service.isin(*sorted({w.service for w in windows}))
                        & (ts >= min(w.baseline_start for w in windows)) & (ts < max(w.end for w in windows)))
    else:
        spans_filter = reduce(operator.or_, [(service == name) & (ts >= start) & (ts < end)
                                              for name, start, end in spans])
    return F.col("environment").isin(*sorted({w.environment for w in windows})) & spans_filter


def explain(enriched: DataFrame, incidents: DataFrame, baseline_seconds: int, top: int = 3,
            failure_levels: Sequence[str] = FAILURE_LEVELS) -> DataFrame:
    """Per incident and dimension, the `top` values whose share grew most from the baseline
    window (all requests) to the incident (its affected requests; failures as `is_failure`)."""
    windows = incidents.select(
        "incident_id", *SERIES_KEYS, "metrics", "start", "end",
        (F.col("start") - F.expr(f"INTERVAL {baseline_seconds} SECONDS")).alias("baseline_start"))
    ts = F.col("timestamp")
    in_incident = (ts >= F.col("start")) & affected(F.col("metrics"), failure_levels)
    tagged = (
        enriched.where(_within_any(windows.collect()))
        .join(F.broadcast(windows), SERIES_KEYS, how="inner")
        .where((ts >= F.col("baseline_start")) & (ts < F.col("end")))
        .withColumn("period", F.when(in_incident, "incident").when(ts < F.col("start"), "baseline"))
        .where(F.col("period").isNotNull())
    )
    values = F.array(*[F.struct(F.lit(d).alias("dimension"), F.col(d).cast("string").alias("value"))
                       for d in DIMENSIONS])
    # Records are counted by their combination of values first: an incident's requests share a
    # few hundred of them, so the values are split out of those counts, not out of every record.
    by_combination = tagged.groupBy("incident_id", "period", *DIMENSIONS).agg(F.count(F.lit(1)).alias("requests"))
    by_raw_value = (
        by_combination.select("incident_id", "period", "requests", F.explode(values).alias("kv"))
        .groupBy("incident_id", "kv.dimension", "kv.value")
        .agg(F.sum(F.when(F.col("period") == "incident", F.col("requests")).otherwise(0)).alias("incident_requests"),
             F.sum(F.when(F.col("period") == "baseline", F.col("requests")).otherwise(0)).alias("baseline_requests"))
    )
    counts = (
        by_raw_value.groupBy("incident_id", "dimension", _as_value(F.col("dimension"), F.col("value")).alias("value"))
        .agg(F.sum("incident_requests").alias("incident_requests"),
             F.sum("baseline_requests").alias("baseline_requests"))
    )
    # Shares within one incident and dimension: the frame is the whole group on purpose.
    group = W.partitionBy("incident_id", "dimension").rowsBetween(W.unboundedPreceding, W.unboundedFollowing)
    ranked = W.partitionBy("incident_id", "dimension").orderBy(F.col("excess_share").desc(), "value")
    # An incident can have no affected requests (no record slow enough), or no traffic in its
    # baseline (a sparse series after a gap): try_divide makes those shares null, and an incident
    # with nothing to compare with is not explained ("100% vs 0%" of everything says nothing).
    incident_share = F.try_divide("incident_requests", F.sum("incident_requests").over(group))
    baseline_share = F.try_divide("baseline_requests", F.sum("baseline_requests").over(group))
    return (
        counts.select("*", incident_share.alias("incident_share"), baseline_share.alias("baseline_share"),
                      (incident_share - baseline_share).alias("excess_share"))
        # a field the records do not carry (a CSV series has no endpoint) is no explanation
        .where((F.col("excess_share") > 0) & F.col("value").isNotNull())
        .select("incident_id", "dimension", F.row_number().over(ranked).alias("rank"), "value", "incident_requests",
                "incident_share", "baseline_share", "excess_share")
        .where(F.col("rank") <= top)
    )


def one_line_summaries(explanations: DataFrame) -> DataFrame:
    """incident_id -> 'endpoint=/api/search (64% vs 21%); status_code=503 (...)': the top value
    of each dimension, as a sentence for the incidents table."""
    top = explanations.where(F.col("rank") == 1)
    phrase = F.format_string("%s=%s (%.0f%% vs %.0f%%)", "dimension", "value",
                             F.col("incident_share") * 100, F.col("baseline_share") * 100)
    return (
        top.groupBy("incident_id")
        .agg(F.array_join(F.array_sort(F.collect_list(F.struct(-F.col("excess_share"), phrase)))
                          .getField("col2"), "; ").alias("explanation"))
    )
