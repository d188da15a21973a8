"""The work of each stage, from its inputs to its committed outputs, as one call.

The stage notebooks call these and then tell the story with tables and charts; the benchmark
calls the same functions, so what it times is exactly what a run does.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Callable

import pandas as pd
from pyspark.sql import SparkSession

from loganalysis import anomalies, explain, generate, metrics, record_scores, validate
from loganalysis.paths import DataPaths
from loganalysis.storage import read_parquet, stage_outputs
from loganalysis.traffic_plan import IncidentSpec, plan_traffic


@dataclass(frozen=True)
class GeneratorSettings:
    seed: int
    n_records: int
    start: str
    duration_hours: int
    services: dict
    environments: dict
    hosts_per_service: int
    incidents: IncidentSpec
    bad_line_rate: float
    n_partitions: int = 0


def generate_logs(spark: SparkSession, paths: DataPaths, settings: GeneratorSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plan, generate and write raw logs and ground truth; return the (cells, incidents) plan."""
    cells, incidents = plan_traffic(settings.n_records, settings.start, settings.duration_hours,
                                    settings.services, settings.environments, settings.incidents, settings.seed)
    pools = generate.value_pools(settings.seed, settings.services, settings.environments, settings.hosts_per_service)
    lines = generate.generate_lines(spark, cells, settings.services, pools, settings.seed, settings.bad_line_rate,
                                    settings.n_partitions or spark.sparkContext.defaultParallelism)
    with stage_outputs(spark, paths.staging) as outputs:
        outputs.write_text(lines, paths.raw_logs, partition_by=["service", "environment"])
        outputs.write_parquet(generate.incidents_frame(spark, incidents), paths.ground_truth("incidents"))
        outputs.write_parquet(generate.bad_line_counts(spark, settings.n_records, settings.seed,
                                                       settings.bad_line_rate), paths.ground_truth("bad_lines"))
        outputs.retire(paths.ground_truth("scoring_start"))
    return cells, incidents


def compute_metrics(spark: SparkSession, paths: DataPaths, bucket_seconds: int, top_n: int) -> dict:
    """Validate raw logs into clean records and quarantine, and write every metric.
    Returns the reconciliation counts: lines_in, clean, quarantined."""
    # The reconciliation's `lines in`, counted as the reader hands the lines on: same pass.
    records, lines_read = validate.counted(validate.read_raw_records(spark, paths.raw_logs))
    split = validate.split_by_outcome(validate.check_records(records))
    with stage_outputs(spark, paths.staging) as outputs:
        # One pass over the raw JSON writes the clean records and the rejected lines both: a
        # second pass just for the quarantine cost 20-25 s of 75-83 s at 10M records.
        folder = outputs.write_parquet_scratch(split, "validated", [validate.OUTCOME, "service", "environment"])
        outputs.adopt(f"{folder}/{validate.OUTCOME}={validate.CLEAN}", paths.clean_logs)
        clean = validate.read_clean_records(spark, outputs.staged_path(paths.clean_logs))

        def quarantine():
            # The few rejected lines are rewritten on their own, with just their own columns.
            outputs.write_parquet(validate.quarantined_lines(read_parquet(spark, folder, split.schema)),
                                  paths.quarantine)
            return outputs.read_parquet(paths.quarantine).count()

        def summary_and_comparison():
            outputs.write_parquet(metrics.summarize(clean), paths.metrics("summary"))
            outputs.write_parquet(metrics.environment_comparison(outputs.read_parquet(paths.metrics("summary"))),
                                  paths.metrics("environment_comparison"))

        tables = {"timeseries": metrics.timeseries(clean, bucket_seconds),
                  "top_error_messages": metrics.top_error_messages(clean, top_n),
                  "top_error_endpoints": metrics.top_error_endpoints(clean, top_n)}
        counts = side_by_side({
            "summary": summary_and_comparison,
            **{name: partial(outputs.write_parquet, table, paths.metrics(name)) for name, table in tables.items()},
            "quarantined": quarantine,
            "clean": clean.count,
        })
        return {"lines_in": validate.lines_counted(lines_read), "clean": counts["clean"],
                "quarantined": counts["quarantined"]}


def side_by_side(jobs: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Run independent Spark jobs from threads and return their results by name.

    Each metric is a small job whose last tasks leave cores idle; submitted together, they
    fill each other's gaps (at 10M records: 10.0-16.9 s one after another, 9.3-9.8 s side by
    side). The first failure is raised, after every job has finished.
    """
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
    return {name: future.result() for name, future in futures.items()}


def detect_anomalies(spark: SparkSession, paths: DataPaths, config: anomalies.DetectorConfig) -> dict:
    """Score the series, find and explain incidents, score every record. Returns rows in/out."""
    clean = validate.read_clean_records(spark, paths.clean_logs)
    ts = read_parquet(spark, paths.metrics("timeseries"))
    seconds = anomalies.bucket_size(ts)
    with stage_outputs(spark, paths.staging) as outputs:
        outputs.write_parquet(anomalies.score_series(ts, seconds, config), paths.anomalies("scored_series"))
        scored = outputs.read_parquet(paths.anomalies("scored_series"))
        outputs.write_parquet(anomalies.incidents(scored, seconds, config.persistence, config.spike_threshold),
                              paths.anomalies("incidents"))
        outputs.write_parquet(record_scores.trailing_latency_baseline(
            record_scores.bucket_latency_sums(ts), seconds, config.window_seconds, config.min_history),
            paths.anomalies("record_baseline"))
        baseline = outputs.read_parquet(paths.anomalies("record_baseline"))
        enriched = record_scores.with_record_z_scores(clean, baseline, seconds, config.relative_floor, 1.0)
        outputs.write_parquet(enriched, paths.enriched, ["service", "environment"])
        explanations = explain.explain(outputs.read_parquet(paths.enriched),
                                       outputs.read_parquet(paths.anomalies("incidents")), config.window_seconds)
        outputs.write_parquet(explanations, paths.anomalies("explanations"))
        return {"rows_in": clean.count(), "rows_out": outputs.read_parquet(paths.enriched).count()}
