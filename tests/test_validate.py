"""Validation: every line is either a typed record or quarantined with the right reason."""

import json

import pytest

from loganalysis import stages
from loganalysis.metrics import validation
from loganalysis.core.paths import DataPaths
from loganalysis.core.schema import LOG_SCHEMA
from loganalysis.core.storage import read_parquet

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
]


@pytest.fixture(scope="module")
def validated(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw") / "service=api" / "environment=prod"
    folder.mkdir(parents=True)
    # blank and whitespace-only lines are not records: the reader skips them, uncounted
    (folder / "part-0.json").write_text("\n".join(text for text, _ in CASES) + "\n\n  \n\t\n")
    records, seen = validation.counted(validation.read_raw_records(spark, str(folder.parents[1])))
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
    assert [r.service for r in rows if r.reason == "missing_field:service"] == [None]


GOOD_CASES = [case for case in CASES if case[1] is None]
BAD_CASES = [case for case in CASES if case[1] is not None]


@pytest.mark.parametrize("cases", [CASES, GOOD_CASES, BAD_CASES], ids=["mixed", "all clean", "all rejected"])
def test_the_metrics_stage_puts_every_line_in_clean_logs_or_quarantine(spark, tmp_path, cases):
    folder = tmp_path / "raw_logs" / "service=api" / "environment=prod"
    folder.mkdir(parents=True)
    (folder / "part-0.json").write_text("\n".join(text for text, _ in cases) + "\n \n\n")  # blank lines: no records
    paths = DataPaths(str(tmp_path))

    counts = stages.compute_metrics(spark, paths, 60, 5)

    rejected = sorted(reason for _, reason in cases if reason)
    quarantine = read_parquet(spark, paths.quarantine)
    assert quarantine.columns == ["reason", "raw_line", "source_file"]
    assert sorted(r.reason for r in quarantine.collect()) == rejected
    clean = validation.read_clean_records(spark, paths.clean_logs)
    assert sorted(clean.columns) == sorted(LOG_SCHEMA.names)
    assert {(r.service, r.environment) for r in clean.collect()} <= {("api", "prod")}
    assert counts == {"lines_in": len(cases), "clean": len(cases) - len(rejected), "quarantined": len(rejected)}
