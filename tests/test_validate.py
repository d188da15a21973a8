"""Validation: every line is either a typed record or quarantined with the right reason."""

import json

import pytest

from loganalysis import stages
from loganalysis.metrics import validation
from loganalysis.core.paths import DataPaths
from loganalysis.core.schema import LOG_SCHEMA
from loganalysis.core.storage import IncompleteOutputError, read_parquet

GOOD = {"timestamp": "2026-11-02T10:00:00.000Z", "service": "api", "environment": "prod",
        "host": "h1", "level": "INFO", "status_code": 200, "response_time_ms": 12.5,
        "method": "GET", "endpoint": "/x", "client_ip": "1.2.3.4", "user_id": "u",
        "message": "ok", "trace_id": "t", "bytes_sent": 10}


def line(**changes):
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...})


CASES = [
    (line(), None),
    (line(response_time_ms=None, status_code=None), None),  # nulls allowed outside required fields
    ('{"timestamp": "2026-11-02T10:00:00Z", "service": "api"', "malformed_json"),
    ("not json at all", "malformed_json"),
    (line(timestamp=...), "missing_field:timestamp"),
    (line(service=None), "missing_field:service"),
    (line(response_time_ms="slow"), "wrong_type:response_time_ms"),
    (line(status_code="OK"), "wrong_type:status_code"),
    (line(timestamp="yesterday"), "wrong_type:timestamp"),
    (line(response_time_ms=-1.0), "out_of_range:response_time_ms"),
    (line(status_code=999), "out_of_range:status_code"),
    (line(status_code=42), "out_of_range:status_code"),
    (line(bytes_sent=-5), "out_of_range:bytes_sent"),
    # issue #22, case 5: every field has a documented range
    (line(response_time_ms="NaN"), "out_of_range:response_time_ms"),
    (line(response_time_ms="Infinity"), "out_of_range:response_time_ms"),
    (line(response_time_ms=1e308), "out_of_range:response_time_ms"),
    (line().replace('"response_time_ms": 12.5', '"response_time_ms": NaN'), "out_of_range:response_time_ms"),
    (line(status_code="abc"), "wrong_type:status_code"),
    (line(service=""), "missing_field:service"),
    (line(environment="  "), "missing_field:environment"),
    # case 4: timestamps far from the run
    (line(timestamp="1970-01-01T00:00:00Z"), "out_of_range:timestamp"),
    (line(timestamp="2300-01-01T00:00:00Z"), "out_of_range:timestamp"),
    # case 3: names that cannot be folder names
    (line(service="x" * 300), "bad_name:service"),
    (line(service="a/b"), "bad_name:service"),
    (line(service="a\u0001b"), "bad_name:service"),
    (line(environment="prod\n"), "bad_name:environment"),
    (line(service="%" * 70), "bad_name:service"),  # 70 bytes, but 210 once Spark escapes it
]


def write_raw(root, text, folder="service=api/environment=prod"):
    """`text` as one raw-logs file under `root`, which is then marked complete as stage 01 would."""
    (root / folder).mkdir(parents=True)
    (root / folder / "part-0.json").write_text(text, encoding="utf-8")
    (root / "_SUCCESS").touch()
    return str(root)


@pytest.fixture(scope="module")
def validated(spark, tmp_path_factory):
    # blank and whitespace-only lines are not records: the reader skips them, uncounted
    raw = write_raw(tmp_path_factory.mktemp("raw"), "\n".join(text for text, _ in CASES) + "\n\n  \n\t\n")
    records, seen = validation.counted(validation.read_raw_records(spark, raw))
    rows = validation.validate_records(records).collect()
    return validation.lines_counted(seen), rows


def test_each_line_gets_the_expected_reason(validated):
    _, rows = validated
    assert sorted((r.reason or "") for r in rows) == sorted((reason or "") for _, reason in CASES)


def test_quarantined_lines_keep_their_text_and_file(validated):
    _, rows = validated
    rejected = [r for r in rows if r.reason]
    assert all(r.raw_line and r.source_file.endswith("part-0.json") for r in rejected)
    assert any(r.raw_line == "not json at all" for r in rejected)


def test_clean_records_are_typed(validated, spark):
    _, rows = validated
    clean = [r for r in rows if r.reason is None]
    assert {r.status_code for r in clean} == {200, None}
    assert all(r.timestamp.year == 2026 for r in clean)


def test_every_line_that_holds_anything_is_counted_once(validated):
    lines_counted, rows = validated
    assert lines_counted == len(CASES) == len(rows)


def test_missing_service_is_not_filled_from_the_folder_name(validated):
    _, rows = validated
    assert {r.service for r in rows if r.reason == "missing_field:service"} == {None, ""}  # "" is line(service="")


GOOD_CASES = [case for case in CASES if case[1] is None]
BAD_CASES = [case for case in CASES if case[1] is not None]


@pytest.mark.parametrize("cases", [CASES, GOOD_CASES, BAD_CASES], ids=["mixed", "all clean", "all rejected"])
def test_the_metrics_stage_puts_every_line_in_clean_logs_or_quarantine(spark, tmp_path, cases):
    paths = DataPaths(str(tmp_path))
    write_raw(tmp_path / "raw_logs", "\n".join(text for text, _ in cases) + "\n \n\n")  # blank lines: no records

    rejected = sorted(reason for _, reason in cases if reason)
    if len(rejected) == len(cases):
        # Nothing to analyse: said with the commonest reasons, the quarantine published to read.
        with pytest.raises(validation.NoCleanRecords, match=r"every line was quarantined \(commonest reasons: "
                                                             r"\w+:?\w* \d"):
            stages.compute_metrics(spark, paths, 60, 5)
    else:
        counts = stages.compute_metrics(spark, paths, 60, 5)
        assert counts == {"lines_in": len(cases), "clean": len(cases) - len(rejected), "quarantined": len(rejected),
                          "bucket_seconds": 60}

    quarantine = read_parquet(spark, paths.quarantine)
    assert quarantine.columns == ["reason", "raw_line", "source_file"]
    assert sorted(r.reason for r in quarantine.collect()) == rejected
    clean = validation.read_clean_records(spark, paths.clean_logs)
    assert sorted(clean.columns) == sorted(LOG_SCHEMA.names)
    assert {(r.service, r.environment) for r in clean.collect()} <= {("api", "prod")}


def test_raw_logs_without_lines_are_refused_by_name(spark, tmp_path):
    write_raw(tmp_path / "raw_logs", "\n \n")  # blank lines only: no records
    with pytest.raises(validation.NoCleanRecords, match="the raw logs hold no lines"):
        stages.compute_metrics(spark, DataPaths(str(tmp_path)), 60, 5)


def test_the_timestamp_window_is_the_configured_one(spark, tmp_path):
    """A record is clean inside [now - max age, now + ahead] and out of range just outside."""
    from datetime import datetime, timezone
    stamps = ["2026-11-01T09:59:59Z", "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z",
              "2026-11-03T10:00:00Z", "2026-11-03T10:00:01Z"]  # the window is [11-01 10:00, 11-03 10:00]
    raw = write_raw(tmp_path / "raw", "\n".join(line(timestamp=t) for t in stamps) + "\n")
    window = validation.timestamp_window(datetime(2026, 11, 2, 10, tzinfo=timezone.utc), 1, 24)
    rows = validation.validate_records(validation.read_raw_records(spark, raw), window).collect()
    assert sorted(r.reason or "clean" for r in rows) == ["clean"] * 3 + ["out_of_range:timestamp"] * 2
    assert validation.timestamp_window(datetime(2026, 11, 2, 10, tzinfo=timezone.utc), 1, 24) == (
        datetime(2026, 11, 1, 10, tzinfo=timezone.utc), datetime(2026, 11, 3, 10, tzinfo=timezone.utc))


NAMES = ["café", "x" * 200, "a b%c:d=e", "日本語-サービス"]


def test_unusual_names_are_written_read_back_and_summarised_by_both_paths(spark, tmp_path):
    """Issue #22, cases 2 and 3: a non-ASCII or escaped name round-trips through the partition
    folders and the RDD summary; a name too long for a folder is quarantined, not fatal."""
    from loganalysis.metrics import rdd_summary, service_metrics
    lines = [line(service=name) for name in NAMES] + [line(service="y" * 300), line(environment="é" * 120)]
    write_raw(tmp_path / "raw_logs", "\n".join(lines) + "\n", folder="service=any/environment=prod")
    paths = DataPaths(str(tmp_path))

    counts = stages.compute_metrics(spark, paths, 60, 5)

    assert counts == {"lines_in": 6, "clean": 4, "quarantined": 2, "bucket_seconds": 60}
    assert sorted(r.reason for r in read_parquet(spark, paths.quarantine).collect()) == [
        "bad_name:environment", "bad_name:service"]
    clean = validation.read_clean_records(spark, paths.clean_logs)
    assert sorted(r.service for r in clean.collect()) == sorted(NAMES)
    by_dataframe = service_metrics.summarize(clean).toPandas().sort_values("service").reset_index(drop=True)
    by_rdd = rdd_summary.summarize_rdd(spark, paths.clean_logs)
    assert sorted(by_rdd["service"]) == sorted(NAMES)
    assert rdd_summary.compare_summaries(by_dataframe, by_rdd, rtol=1e-9).empty


def test_the_stage_notebook_declares_the_documented_timestamp_window():
    from loganalysis.ops import params
    declared = params.declared("02_compute_metrics")
    assert int(declared["max_timestamp_age_days"]["default"]) == validation.MAX_AGE_DAYS
    assert int(declared["max_timestamp_ahead_hours"]["default"]) == validation.AHEAD_HOURS


def test_raw_logs_without_their_success_marker_are_refused(spark, tmp_path):
    """Raw logs are read like every other stage output: a folder stage 01 never finished (no
    `_SUCCESS`) is refused by name, by both raw readers and by the metrics stage."""
    raw = write_raw(tmp_path / "raw_logs", line() + "\n")
    assert validation.read_raw_records(spark, raw).count() == 1
    (tmp_path / "raw_logs" / "_SUCCESS").unlink()
    for read in (validation.read_raw_records, validation.read_raw_lines):
        with pytest.raises(IncompleteOutputError, match=r"raw_logs has no _SUCCESS marker: run the stage"):
            read(spark, raw)
    with pytest.raises(IncompleteOutputError, match="has no _SUCCESS marker"):
        stages.compute_metrics(spark, DataPaths(str(tmp_path)), 60, 5)
    assert not (tmp_path / "clean_logs").exists()


def test_a_profile_of_metric_values_widens_the_response_time_range(spark):
    """A metric series (csv_series) carries its value as the response time: negative values and
    byte counts in the billions are points there, not broken lines, when the profile says so."""
    values = [-3.5, 0.0, 12.5, 2.5e9]
    text = spark.createDataFrame([(line(response_time_ms=v),) for v in values], "value string")
    records = spark.read.schema(validation.TYPED_JSON_SCHEMA).json(text.rdd.map(lambda r: r.value))
    default = [r.reason for r in validation.check_records(records).orderBy("response_time_ms").collect()]
    widened = [r.reason for r in validation.check_records(records, None, (-1e15, 1e15)).collect()]
    assert default == ["out_of_range:response_time_ms", None, None, "out_of_range:response_time_ms"]
    assert widened == [None] * 4


def test_the_stage_notebook_declares_the_documented_response_time_range():
    from loganalysis.ops import params
    declared = params.declared("02_compute_metrics")
    assert (float(declared["min_response_time_ms"]["default"]), float(declared["max_response_time_ms"]["default"])
            ) == validation.RESPONSE_TIME_RANGE_MS
