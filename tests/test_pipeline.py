"""The whole notebook pipeline through the runner, on tiny parameters: it produces every output
and page, a rerun gives the same outputs, and a stage failing mid-write changes nothing."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_pipeline
from loganalysis import stages
from pyspark.sql import functions as F

STAGES = ["01_generate_logs", "02_compute_metrics", "03_detect_anomalies", "04_aggregate_insights"]
PARQUET_OUTPUTS = ["ground_truth/incidents", "ground_truth/bad_lines", "clean_logs", "quarantine",
                   "metrics/summary", "metrics/timeseries", "metrics/top_error_messages",
                   "metrics/top_error_endpoints", "metrics/environment_comparison", "enriched",
                   "anomalies/record_baseline", "anomalies/scored_series", "anomalies/signals", "anomalies/incidents",
                   "anomalies/explanations", "anomalies/evaluation", "anomalies/truth_matches",
                   "insights/headline"]

CHARTS = {"01_generate_logs": 2, "02_compute_metrics": 3, "03_detect_anomalies": 1, "04_aggregate_insights": 7}

pytestmark = pytest.mark.pipeline


def row_set_checksum(spark, path: str, text: bool = False):
    """Order-independent fingerprint of a dataset's rows: (row count, sum of row hashes)."""
    df = spark.read.text(path) if text else spark.read.parquet(path)
    if "source_file" in df.columns:
        # Spark names part files with a per-job id, so a rerun of stage 01 writes the same lines
        # under new file names: compare the folder a quarantined line came from, not the file.
        df = df.withColumn("source_file", F.regexp_replace("source_file", "/[^/]*$", ""))
    return tuple(df.select(F.count(F.lit(1)), F.sum(F.xxhash64(*df.columns).cast("decimal(38,0)"))).first())


def file_digests(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_progress_is_printed_per_stage(first_run):
    _, _, result = first_run
    for stage in STAGES:
        assert f"{stage} ok in" in result.stdout


def test_every_output_is_complete_and_non_empty(spark, first_run):
    work, _, _ = first_run
    data = work / "data"
    raw = sorted(p.relative_to(data / "raw_logs").as_posix() for p in (data / "raw_logs").glob("service=*/environment=*"))
    assert len(raw) == 6 and (data / "raw_logs/_SUCCESS").exists()  # 2 services x 3 environments
    for output in PARQUET_OUTPUTS:
        assert (data / output / "_SUCCESS").exists(), output
        if output not in ("quarantine", "anomalies/truth_matches"):
            assert spark.read.parquet(str(data / output)).count() > 0, output
    assert not list((data / "_staging").iterdir())


def test_pages_embed_charts_and_index_links_them(spark, first_run):
    work, _, _ = first_run
    run_dir = work / "reports/first"
    for stage in STAGES:
        assert (run_dir / f"{stage}.ipynb").exists()
        for page in (f"{stage}.html", f"{stage}.code.html"):
            assert (run_dir / page).exists()
    # charts each stage draws, embedded as images (not linked files, not "<Figure ...>" text);
    # stage 04 adds one zoom chart per incident card
    cards = min(spark.read.parquet(str(work / "data/anomalies/incidents")).count(), stages.CARDS)
    for stage, charts in {**CHARTS, "04_aggregate_insights": CHARTS["04_aggregate_insights"] + cards}.items():
        html = (run_dir / f"{stage}.html").read_text()
        assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) == charts, stage
        assert "<Figure size" not in html and "Traceback" not in html
    index = (run_dir / "index.html").read_text()
    assert all(f'href="{stage}.html"' in index for stage in STAGES)


def test_published_pages_hide_code_and_spark_noise(first_run):
    work, _, _ = first_run
    page = (work / "reports/first/02_compute_metrics.html").read_text()
    assert "get_spark" not in page  # code hidden in the published version
    assert "get_spark" in (work / "reports/first/02_compute_metrics.code.html").read_text()
    for noise in ("WARN NativeCodeLoader", "log4j", "[Stage ", "Setting default log level"):
        assert noise not in page


def test_manifest_reconciles_lines(first_run):
    work, _, _ = first_run
    manifest = json.loads((work / "reports/first/manifest.json").read_text())
    counts = {s["name"]: s["counts"] for s in manifest["stages"]}
    metrics = counts["02_compute_metrics"]
    assert metrics["lines_in"] == metrics["clean"] + metrics["quarantined"] == counts["01_generate_logs"]["lines_out"]
    assert metrics["quarantined"] == counts["01_generate_logs"]["bad_lines"] > 0
    assert manifest["status"] == "ok" and manifest["versions"]["spark"].startswith("4.")
    assert all(s["status"] == "ok" and s["seconds"] > 0 for s in manifest["stages"])


def test_rerun_gives_identical_outputs_then_a_failing_write_changes_nothing(spark, first_run):
    work, profile, _ = first_run
    data = work / "data"
    before = {o: row_set_checksum(spark, str(data / o)) for o in PARQUET_OUTPUTS}
    before["raw_logs"] = row_set_checksum(spark, str(data / "raw_logs"), text=True)

    rerun = run_pipeline(profile, work / "reports", "second")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    after = {o: row_set_checksum(spark, str(data / o)) for o in PARQUET_OUTPUTS}
    after["raw_logs"] = row_set_checksum(spark, str(data / "raw_logs"), text=True)
    assert after == before

    guarded = ["clean_logs", "quarantine", "metrics"]
    digests = {name: file_digests(data / name) for name in guarded}
    failed = run_pipeline(profile, work / "reports", "faulty", {"LOGANALYSIS_FAIL_WRITE": "validated:1"})
    assert failed.returncode == 1
    assert "02_compute_metrics failed" in failed.stderr
    assert {name: file_digests(data / name) for name in guarded} == digests
    assert spark.read.parquet(str(data / "clean_logs")).count() == before["clean_logs"][0]

    run_dir = work / "reports/faulty"
    assert "injected write fault" in (run_dir / "02_compute_metrics.html").read_text()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert [s["status"] for s in manifest["stages"]] == ["ok", "failed", "skipped", "skipped"]
    index = (run_dir / "index.html").read_text()
    assert "02_compute_metrics failed" in index and not (run_dir / "03_detect_anomalies.ipynb").exists()
