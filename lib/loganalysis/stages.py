"""The work of each stage, from its inputs to its committed outputs, as one call.

Each function reads only what earlier stages wrote, stages all its outputs and commits them
together, once; an output it owns but has nothing for this time is retired at that commit, so a
stale table from an earlier run is never read as this run's. The stage notebooks call these and
then tell the story with tables and charts; the benchmark calls the same functions, so what it
times is exactly what a run does.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from collections.abc import Sequence
from typing import Callable

import pandas as pd
from pyspark.sql import SparkSession, functions as F

from loganalysis.core.paths import DataPaths
from loganalysis.core.schema import CLEAN, LOG_FIELDS, OUTCOME, QUARANTINED, SERIES_KEYS, TRUTH_INCIDENT_SCHEMA
from loganalysis.core.storage import StageOutputs, is_complete, read_parquet, stage_outputs
from loganalysis.detect import anomalies, evaluate, explain, record_scores, reference
from loganalysis.metrics import service_metrics, templates, validation
from loganalysis.report import insights, tables
from loganalysis.sources import csv_format, generate, ingest
from loganalysis.sources.traffic_plan import plan_traffic


# ---- 01: generate or ingest -------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedLogs:
    cells: pd.DataFrame       # the traffic plan: requests per series x minute
    incidents: pd.DataFrame   # what was injected, as written to ground truth
    lines_written: int        # counted as the writer took them (no second scan of the text)
    bad_lines: pd.DataFrame   # damaged lines written, by kind


def generate_logs(spark: SparkSession, paths: DataPaths, settings: generate.GeneratorSettings) -> GeneratedLogs:
    """Plan, generate and write raw logs and their ground truth."""
    cells, incidents = plan_traffic(settings.n_records, settings.start, settings.duration_hours,
                                    settings.topology, settings.environments, settings.incident_spec(),
                                    settings.seed, hosts_per_service=settings.hosts_per_service,
                                    latency_seasonality=settings.latency_seasonality)
    pools = generate.value_pools(settings.seed, settings.topology, settings.environments, settings.hosts_per_service)
    truth = generate.ground_truth(incidents, pools["hosts"])
    lines, written = validation.counted(generate.generate_lines(
        spark, cells, settings.topology, pools, settings.seed, settings.bad_line_rate,
        settings.n_partitions or generate.task_count(settings.n_records, spark.sparkContext.defaultParallelism)))
    with stage_outputs(spark, paths.staging) as outputs:
        outputs.write_text(lines, paths.raw_logs, partition_by=SERIES_KEYS)
        outputs.write_parquet(generate.incidents_frame(spark, truth), paths.ground_truth.incidents)
        outputs.write_parquet(generate.bad_line_counts(spark, settings.n_records, settings.seed,
                                                       settings.bad_line_rate), paths.ground_truth.bad_lines)
        outputs.retire(paths.ground_truth.scoring_start)
    return GeneratedLogs(cells, truth, validation.lines_counted(written),
                         read_parquet(spark, paths.ground_truth.bad_lines).toPandas())


def ingest_logs(spark: SparkSession, paths: DataPaths, settings: ingest.IngestSettings) -> dict:
    """Read real logs in the settings' format into the raw-logs layout, lines that fail to parse
    into `ingest_quarantine`, and label windows (a labels file, or a CSV label column) into
    ground truth. Returns the reconciliation counts: lines_in, lines_out, quarantined and
    not_records (blank lines, CSV header lines, lines a regex format's line_filter leaves out,
    parts of a container's long lines joined to their line); and under fields_present, the
    records carrying each canonical field."""
    lines = ingest.input_lines(spark, settings)
    parsed = ingest.parse(lines, settings)
    with stage_outputs(spark, paths.staging) as outputs:
        # Records and the lines to quarantine in one write, counted as the writer takes them;
        # lines in and not records in one pass over the input: no second read of what was written.
        lines_out, written = ingest.lines_by_outcome(parsed)
        folder = outputs.write_text_scratch(lines_out, "parsed", [OUTCOME, *SERIES_KEYS])
        outputs.adopt(f"{folder}/{OUTCOME}={CLEAN}", paths.raw_logs)
        outputs.write_parquet(ingest.read_quarantined(spark, f"{folder}/{OUTCOME}={QUARANTINED}"),
                              paths.ingest_quarantine)
        outputs.retire(paths.ground_truth.bad_lines)
        if settings.labels_path:
            write_label_windows(spark, outputs, paths, parsed, settings)
        elif settings.label_column:
            outputs.write_parquet(spark.createDataFrame(csv_format.label_column_windows(parsed),
                                                        TRUTH_INCIDENT_SCHEMA),
                                  paths.ground_truth.incidents)
            outputs.write_parquet(ingest.scoring_start(parsed.where("reason IS NULL"), settings.probation_share,
                                                       settings.probation_max_rows), paths.ground_truth.scoring_start)
        else:
            # Ground truth of an earlier run in this data root would be scored against these logs.
            outputs.retire(paths.ground_truth.incidents)
            outputs.retire(paths.ground_truth.scoring_start)
        lines_in, not_records = ingest.line_counts(lines, settings)
        present = written.get
        return {"lines_in": lines_in, "lines_out": present["lines"],
                "quarantined": present["quarantined"], "not_records": not_records,
                "fields_present": {name: present[name] for name in LOG_FIELDS}}


def write_label_windows(spark: SparkSession, outputs: StageOutputs, paths: DataPaths, parsed,
                        settings: ingest.IngestSettings) -> None:
    with open(settings.labels_path) as labels_file:
        truth = ingest.label_windows(json.load(labels_file), settings.environment)
    outputs.write_parquet(spark.createDataFrame(truth, TRUTH_INCIDENT_SCHEMA), paths.ground_truth.incidents)
    outputs.write_parquet(ingest.scoring_start(parsed.where("reason IS NULL"), settings.probation_share,
                                               settings.probation_max_rows), paths.ground_truth.scoring_start)


# ---- 02: validate and compute metrics ---------------------------------------------------------

def compute_metrics(spark: SparkSession, paths: DataPaths, bucket_seconds: int | None, top_n: int,
                    timestamp_window: tuple[datetime, datetime] | None = None,
                    response_time_range: tuple[float, float] = validation.RESPONSE_TIME_RANGE_MS,
                    min_bucket_requests: int = 10,
                    failure_levels: Sequence[str] = service_metrics.FAILURE_LEVELS) -> dict:
    """Validate raw logs into clean records and quarantine, and write every metric.
    A failure is a 5xx status, or for a record without one a level in `failure_levels`.
    Timestamps outside `timestamp_window` (default: `validation.timestamp_window()`) and response
    times outside `response_time_range` are quarantined.
    `bucket_seconds` None: chosen from the clean records' spacing and volume
    (`service_metrics.auto_bucket_seconds`, aiming at `min_bucket_requests` a bucket).
    Returns the reconciliation counts (lines_in, clean, quarantined) and the bucket_seconds used."""
    # The reconciliation's `lines in`, counted as the reader hands the lines on: same pass.
    records, lines_read = validation.counted(validation.read_raw_records(spark, paths.raw_logs))
    split = validation.split_by_outcome(validation.check_records(records, timestamp_window, response_time_range))
    with stage_outputs(spark, paths.staging) as outputs:
        # One pass over the raw JSON writes the clean records and the rejected lines both, so
        # the JSON is parsed once. Not a folder per series: at about 20 ms a file that was 46 s
        # of this stage for 1,500 series. A file can hold many series; metrics group by columns.
        folder = outputs.write_parquet_scratch(split, "validated", [OUTCOME])
        outputs.adopt(f"{folder}/{OUTCOME}={CLEAN}", paths.clean_logs)
        clean = validation.read_clean_records(spark, outputs.staged_path(paths.clean_logs))

        def quarantine():
            # The few rejected lines are rewritten on their own, with just their own columns.
            outputs.write_parquet(validation.quarantined_lines(read_parquet(spark, folder, split.schema)),
                                  paths.quarantine)
            return outputs.read_parquet(paths.quarantine).count()

        def summary_and_comparison():
            outputs.write_parquet(service_metrics.summarize(clean, failure_levels), paths.metrics.summary)
            outputs.write_parquet(service_metrics.environment_comparison(outputs.read_parquet(paths.metrics.summary)),
                                  paths.metrics.environment_comparison)

        def timeseries() -> int:
            # Only the time series needs the bucket: choosing it (`auto`, a pass over the records)
            # runs beside the other metrics, not before them. Returns the size used.
            seconds = bucket_seconds or service_metrics.auto_bucket_seconds(clean, min_bucket_requests)
            outputs.write_parquet(service_metrics.timeseries(clean, seconds, failure_levels), paths.metrics.timeseries)
            return seconds

        def traffic_and_error_endpoints():
            # Both roll up from the small request mix: computed once, kept for the two writes.
            mix = service_metrics.request_mix(clean, failure_levels).localCheckpoint()
            outputs.write_parquet(service_metrics.top_error_endpoints(mix, top_n), paths.metrics.top_error_endpoints)
            outputs.write_parquet(service_metrics.traffic_breakdown(clean, top_n, failure_levels, mix),
                                  paths.metrics.traffic)

        def message_templates():
            # Masks the messages in one pass, then mines the distinct ones on the driver.
            totals, per_hour = templates.template_counts(spark, clean)
            outputs.write_parquet(totals, paths.metrics.message_templates)
            outputs.write_parquet(per_hour, paths.metrics.template_timeline)

        counts = side_by_side({
            "timeseries": timeseries,
            "summary": summary_and_comparison,
            "templates": message_templates,
            "traffic": traffic_and_error_endpoints,
            "top error messages": partial(outputs.write_parquet,
                                          service_metrics.top_error_messages(clean, top_n, failure_levels),
                                          paths.metrics.top_error_messages),
            "quarantined": quarantine,
            "clean": clean.count,
        })
    # Checked once the outputs are published: the quarantine that says why is there to read, and
    # this run's (empty) metrics replace the last run's, so no data root mixes two runs' outputs.
    validation.require_clean_records(spark, paths.quarantine, counts["clean"])
    return {"lines_in": validation.lines_counted(lines_read), "clean": counts["clean"],
            "quarantined": counts["quarantined"], "bucket_seconds": counts["timeseries"]}


def side_by_side(jobs: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Run independent Spark jobs from threads and return their results by name.

    Each metric is a small job whose last tasks leave cores idle; submitted together, they fill
    each other's gaps. After every job has finished, the first failure (in `jobs` order) is
    raised, noting which other jobs failed and why.
    """
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
    failures = {name: future.exception() for name, future in futures.items() if future.exception()}
    if failures:
        (first_name, first), *others = failures.items()
        first.add_note(f"in the job {first_name!r}")
        for name, error in others:
            first.add_note(f"the job {name!r} failed too: {type(error).__name__}: {error}")
        raise first
    return {name: future.result() for name, future in futures.items()}


# ---- 03: detect, explain, evaluate ------------------------------------------------------------

@dataclass(frozen=True)
class EvaluationSettings:
    """How detections are scored against ground truth, when a run has any."""

    match_tolerance_minutes: int = 10      # a detection this soon after a truth window still catches it
    reference_results_path: str = ""       # another detector's results (NAB format), scored side by side
    reference_events_path: str = ""        # published detectors' flagged runs (JSON), each scored side by side


def detect_anomalies(spark: SparkSession, paths: DataPaths, config: anomalies.DetectorConfig,
                     scoring: EvaluationSettings = EvaluationSettings(),
                     failure_levels: Sequence[str] = service_metrics.FAILURE_LEVELS) -> dict:
    """Score the series, find and explain incidents, score every record and, when the data root
    holds ground truth, score the incidents against it. `failure_levels`: as in the metrics
    stage, which records of an error-rate incident failed. Returns rows in/out and the evaluation
    ({} without ground truth; with a reference detector, its scores under `reference`)."""
    clean = validation.read_clean_records(spark, paths.clean_logs)
    ts = read_parquet(spark, paths.metrics.timeseries)
    seconds = anomalies.bucket_size(ts)
    with stage_outputs(spark, paths.staging) as outputs:
        def incidents():
            outputs.write_parquet(anomalies.score_series(ts, seconds, config), paths.anomalies.scored_series)
            scored = outputs.read_parquet(paths.anomalies.scored_series)
            outputs.write_parquet(anomalies.signals(scored, seconds, config.persistence, config.spike_threshold,
                                                    config.merge_gap_seconds), paths.anomalies.signals)
            outputs.write_parquet(anomalies.service_incidents(outputs.read_parquet(paths.anomalies.signals),
                                                              config.merge_gap_seconds, config.surge_alone_is_incident),
                                  paths.anomalies.incidents)

        def enriched_records():
            outputs.write_parquet(record_scores.trailing_latency_baseline(
                record_scores.bucket_latency_sums(ts), seconds, config.window_seconds, config.min_history),
                paths.anomalies.record_baseline)
            baseline = outputs.read_parquet(paths.anomalies.record_baseline)
            enriched = record_scores.with_record_z_scores(clean, baseline, seconds, config.relative_floor, 1.0)
            # By environment, not by series: a folder per series costs about 20 ms a file to write
            # and commit (2M records over 1,500 series: 33 s, against 10 s by environment). The
            # records arrive grouped by series, so a file's row groups still skip other services.
            outputs.write_parquet(enriched, paths.enriched, ["environment"])

        def explanations():
            # From the written records: their z-scores re-read cost less than re-computed.
            outputs.write_parquet(explain.explain(outputs.read_parquet(paths.enriched),
                                                  outputs.read_parquet(paths.anomalies.incidents),
                                                  explain.baseline_seconds(seconds, config.window_seconds),
                                                  failure_levels=failure_levels),
                                  paths.anomalies.explanations)

        # The series are scored (small jobs, mostly Python) while every record is (a pass over
        # all of them): together they fill each other's idle cores. The explanations need both,
        # the evaluation only the incidents.
        side_by_side({"incidents": incidents, "enriched": enriched_records})
        evaluation = side_by_side({"explanations": explanations,
                                   "evaluation": lambda: evaluate_against_truth(spark, paths, outputs, scoring)})
        return {"rows_in": clean.count(), "rows_out": outputs.read_parquet(paths.enriched).count(),
                "evaluation": evaluation["evaluation"]}


def evaluate_against_truth(spark: SparkSession, paths: DataPaths, outputs: StageOutputs,
                           scoring: EvaluationSettings) -> dict:
    """Score this stage's incidents against the data root's ground truth, as part of the
    stage's one commit; without ground truth, retire the evaluation of an earlier run."""
    if not is_complete(spark, paths.ground_truth.incidents):
        outputs.retire(paths.anomalies.evaluation)
        outputs.retire(paths.anomalies.truth_matches)
        return {}
    truth = read_parquet(spark, paths.ground_truth.incidents).toPandas()
    scoring_start = (read_parquet(spark, paths.ground_truth.scoring_start).toPandas()
                     if is_complete(spark, paths.ground_truth.scoring_start) else None)
    events = evaluate.incidents_as_events(outputs.read_parquet(paths.anomalies.incidents).toPandas())
    tolerance = pd.Timedelta(minutes=scoring.match_tolerance_minutes)
    warmup_end, days = evaluate.scored_coverage(outputs.read_parquet(paths.anomalies.scored_series))
    matches, summary = evaluate.score(events, truth, tolerance, scoring_start, warmup_end=warmup_end, days=days)
    matches_df, summary_df = evaluate.as_spark(spark, matches, summary)
    outputs.write_parquet(summary_df, paths.anomalies.evaluation)
    outputs.write_parquet(matches_df, paths.anomalies.truth_matches)
    result = {"this detector": summary, "matches": matches, "by kind": evaluate.by_kind(matches)}
    environment = truth["environment"].iloc[0] if not truth.empty else ""
    if scoring.reference_results_path:
        others = reference.read_reference_events(scoring.reference_results_path, environment)
        result["reference detector"] = evaluate.score(others, truth, tolerance, scoring_start)[1]
    if scoring.reference_events_path:
        for name, others in reference.read_published_events(scoring.reference_events_path, environment).items():
            result[name] = evaluate.score(others, truth, tolerance, scoring_start)[1]
    return result


# ---- 04: insights ------------------------------------------------------------------------------

CARDS = 6  # incidents shown as a card with a zoom chart, worst first; the rest in a table


@dataclass(frozen=True)
class ReportTables:
    summary: pd.DataFrame     # one row per series
    timeseries: pd.DataFrame  # one row per series x bucket
    incidents: pd.DataFrame   # one row per incident, with its one-line explanation
    headline: pd.DataFrame    # the figures a reader wants first
    story: list[str]          # what happened, in a few sentences
    cards: pd.DataFrame       # the worst CARDS incidents, worst first
    zooms: pd.DataFrame       # the scored buckets around each of them
    truth: pd.DataFrame       # ground-truth windows, when the data root has them
    latency_histogram: pd.DataFrame   # share of requests per latency bin, per service
    top_error_messages: pd.DataFrame  # the most frequent kinds of failure message per service
    traffic: pd.DataFrame     # requests, bytes, 4xx, 5xx by status code, endpoint, client, level
    measure: tables.Measure = tables.LATENCY  # what the records' value is, in words


def aggregate_insights(spark: SparkSession, paths: DataPaths, run_dir: str = "",
                       measure: tables.Measure = tables.LATENCY) -> ReportTables:
    """Bring the report's aggregates to pandas, write the headline table for other tools, and
    hand the headline to the runner's index page. `measure` names the records' value in the
    sentences and the headline."""
    summary = read_parquet(spark, paths.metrics.summary).orderBy(*SERIES_KEYS).toPandas()
    timeseries = read_parquet(spark, paths.metrics.timeseries).toPandas()
    incidents = explained_incidents(spark, paths)
    traffic = read_parquet(spark, paths.metrics.traffic).toPandas()
    coverage = anomalies.scoring_coverage(read_parquet(spark, paths.anomalies.scored_series)).toPandas()
    records = int(summary["requests"].sum())
    story = (insights.story(summary, incidents, timeseries, measure) + insights.traffic_sentences(traffic, records)
             + insights.unscored_sentences(coverage, summary, measure))
    headline = insights.headline(summary, incidents, measure)
    with stage_outputs(spark, paths.staging) as outputs:
        outputs.write_parquet(spark.createDataFrame(insights.summary_with_incident_counts(summary, incidents)),
                              paths.insights.headline)
    insights.save_headline(headline, run_dir, story)
    cards = tables.worst_first(incidents).head(CARDS)
    cards = cards.assign(new_messages=insights.first_seen_during(cards, templates_of(spark, paths, cards)))
    truth = (read_parquet(spark, paths.ground_truth.incidents).toPandas()
             if is_complete(spark, paths.ground_truth.incidents) else pd.DataFrame())
    histogram = service_metrics.latency_histogram(validation.read_clean_records(spark, paths.clean_logs)).toPandas()
    top_messages = read_parquet(spark, paths.metrics.top_error_messages).orderBy("service", "rank").toPandas()
    return ReportTables(summary, timeseries, incidents, headline, story, cards,
                        scored_around(spark, paths, cards), truth, histogram, top_messages, traffic, measure)


def templates_of(spark: SparkSession, paths: DataPaths, incidents: pd.DataFrame) -> pd.DataFrame:
    """The message templates of the incidents' series (none when stage 02 wrote none)."""
    if incidents.empty or not is_complete(spark, paths.metrics.message_templates):
        return pd.DataFrame()
    series = spark.createDataFrame(incidents[list(SERIES_KEYS)].drop_duplicates())
    return (read_parquet(spark, paths.metrics.message_templates)
            .join(F.broadcast(series), list(SERIES_KEYS), how="left_semi").toPandas())


def scored_around(spark: SparkSession, paths: DataPaths, incidents: pd.DataFrame) -> pd.DataFrame:
    """The scored buckets of each incident's series from before it starts to after it ends (a
    handful of incidents, a few hundred buckets each: one broadcast join, then pandas)."""
    scored = read_parquet(spark, paths.anomalies.scored_series)
    if incidents.empty:
        return scored.limit(0).toPandas().assign(incident_id=pd.Series(dtype=str))
    padding = (incidents["end"] - incidents["start"]).clip(lower=pd.Timedelta(minutes=30)) * 2
    windows = spark.createDataFrame(pd.DataFrame({
        "incident_id": incidents["incident_id"], "service": incidents["service"],
        "environment": incidents["environment"],
        "from_bucket": incidents["start"] - padding, "to_bucket": incidents["end"] + padding}))
    return (scored.join(F.broadcast(windows), SERIES_KEYS, how="inner")
            .where(F.col("bucket").between(F.col("from_bucket"), F.col("to_bucket")))
            .drop("from_bucket", "to_bucket").toPandas())


def value_per_bucket(spark: SparkSession, paths: DataPaths) -> tuple[str, pd.DataFrame]:
    """The value statistic the detector watched, per series and bucket (service, environment,
    bucket, value): the p95 where buckets held enough values for one, else the mean (a metric
    series has one value a bucket). Returns the metric's name and its rows."""
    scored = read_parquet(spark, paths.anomalies.scored_series)
    with_p95 = scored.where("metric = 'p95_ms' AND value IS NOT NULL").limit(1).count()
    metric = "p95_ms" if with_p95 else "mean_ms"
    return metric, (scored.where(F.col("metric") == metric)
                    .select("service", "environment", "bucket", "value").toPandas())


def explained_incidents(spark: SparkSession, paths: DataPaths) -> pd.DataFrame:
    """Every incident with its one-line explanation, in time order (a small table)."""
    return (read_parquet(spark, paths.anomalies.incidents)
            .join(explain.one_line_summaries(read_parquet(spark, paths.anomalies.explanations)),
                  "incident_id", how="left")
            .orderBy("start").toPandas())
