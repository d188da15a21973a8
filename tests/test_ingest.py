"""Real logs in: the shared Apache access log's reference figures, access-log variants, JSON
mapping and CSV series on hand-written lines."""

from datetime import datetime, timezone
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from loganalysis.sources import ingest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
APACHE_LOG = SHARED / "access_logs" / "apache_combined_10k.log"


def lines_of(spark, tmp_path, text, name="input.log"):
    path = tmp_path / name
    path.write_text(text)
    return ingest.read_lines(spark, str(path))


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc).replace(tzinfo=None)


@pytest.mark.skipif(not APACHE_LOG.exists(), reason="../shared/data is not beside the checkout")
def test_real_apache_log_reproduces_the_reference_figures(spark):
    parsed = ingest.parse_access_log(ingest.read_lines(spark, str(APACHE_LOG)), "apache_combined", "web", "prod")
    parsed = parsed.cache()
    assert parsed.count() == 10_000
    good = parsed.where("reason IS NULL")
    assert good.count() == 9_999
    rejected = parsed.where("reason IS NOT NULL").collect()
    assert [r.reason for r in rejected] == ["unparseable:apache_combined"]
    assert "20/May/2015:12:05:17" in rejected[0].raw_line  # the Googlebot line with an open quote
    status = dict(good.groupBy("status_code").count().collect())
    assert status == {200: 9125, 304: 445, 404: 213, 301: 164, 206: 45, 500: 3, 403: 2, 416: 2}
    assert good.agg(F.sum("bytes_sent")).first()[0] == 2_747_282_505
    parsed.unpersist()


ACCESS = ('10.0.0.1 - alice [17/May/2015:10:05:03 +0200] "GET /blog/post?id=1 HTTP/1.1" 200 512 '
          '"http://ref/" "Mozilla/5.0"')


@pytest.mark.parametrize("fmt,suffix,unit,expected_ms", [
    ("apache_combined", "", "us", None),
    ("combined_with_time", " 250000", "us", 250.0),      # Apache %D microseconds
    ("combined_with_time", " 2", "s", 2000.0),           # Apache %T seconds
    ("nginx_combined_with_time", " 0.123", "s", 123.0),  # nginx $request_time
])
def test_access_log_variants(spark, tmp_path, fmt, suffix, unit, expected_ms):
    rows = ingest.parse_access_log(lines_of(spark, tmp_path, ACCESS + suffix + "\n"), fmt, "web", "prod",
                                   time_unit=unit).collect()
    (row,) = rows
    assert row.reason is None
    assert row.timestamp == utc(2015, 5, 17, 8, 5, 3)  # +0200 offset honoured
    assert (row.method, row.endpoint, row.status_code, row.bytes_sent) == ("GET", "/blog/post", 200, 512)
    assert (row.user_id, row.client_ip, row.level) == ("alice", "10.0.0.1", "INFO")
    assert row.response_time_ms == expected_ms


def test_common_format_vhost_and_path_prefix_services(spark, tmp_path):
    common = '10.0.0.2 - - [17/May/2015:10:05:03 +0000] "POST /api/x HTTP/1.1" 503 -'
    lines = lines_of(spark, tmp_path, f"{common}\nshop.example.com:443 {common}\n")
    by_prefix = ingest.parse_access_log(lines, "apache_common", "web", "prod", "path_prefix").collect()
    assert by_prefix[0].service == "api" and by_prefix[1].reason == "unparseable:apache_common"
    assert by_prefix[0].level == "ERROR" and by_prefix[0].bytes_sent == 0 and by_prefix[0].user_id is None
    by_vhost = ingest.parse_access_log(lines, "apache_common", "web", "prod", "vhost").collect()
    assert sorted((r.service or "-") for r in by_vhost) == ["-", "shop.example.com"]


def test_garbage_access_lines_are_quarantined_with_reason(spark, tmp_path):
    text = "garbage line\n" + ACCESS.replace("17/May/2015:10:05:03", "99/Foo/2015:10:05:03") + "\n"
    rows = ingest.parse_access_log(lines_of(spark, tmp_path, text), "apache_combined", "web", "prod").collect()
    assert sorted(r.reason for r in rows) == ["bad_timestamp", "unparseable:apache_combined"]


JSON_LINES = "\n".join([
    '{"@timestamp": "2026-11-02T10:00:00+01:00", "svc": "api", "duration": 0.25, "http": {"status": 502}}',
    '{"@timestamp": 1793613600, "svc": "api", "duration": 0.1, "http": {"status": 200}}',
    '{"svc": "api", "duration": 0.1}',
    '{"@timestamp": "not a time", "svc": "api"}',
    "{broken",
])
MAPPING = {"@timestamp": "timestamp", "svc": "service", "duration": "response_time_ms", "http.status": "status_code"}


def test_json_mapping_units_offsets_fills_and_garbage(spark, tmp_path):
    rows = ingest.parse_json_lines(lines_of(spark, tmp_path, JSON_LINES), MAPPING, "iso", "s",
                                   {"environment": "prod"}).collect()
    first = rows[0]
    assert first.reason is None and first.timestamp == utc(2026, 11, 2, 9, 0, 0)
    assert (first.service, first.environment, first.status_code, first.level) == ("api", "prod", 502, "ERROR")
    assert first.response_time_ms == pytest.approx(250.0)
    assert [r.reason for r in rows[1:]] == ["bad_timestamp", "missing_field:timestamp", "bad_timestamp",
                                            "malformed_json"]


@pytest.mark.parametrize("fmt,value,expected", [
    ("epoch_s", "1793613600", utc(2026, 11, 2, 10, 0, 0)),
    ("epoch_s", "1793613600.5", utc(2026, 11, 2, 10, 0, 0, 500000)),
    ("epoch_ms", "1793613600250", utc(2026, 11, 2, 10, 0, 0, 250000)),
    ("yyyy-MM-dd HH:mm:ss", "2026-11-02 10:00:00", utc(2026, 11, 2, 10, 0, 0)),
])
def test_epoch_and_pattern_timestamps(spark, tmp_path, fmt, value, expected):
    line = f'{{"t": "{value}", "s": "api"}}'
    (row,) = ingest.parse_json_lines(lines_of(spark, tmp_path, line), {"t": "timestamp", "s": "service"}, fmt,
                                     "ms", {"environment": "prod"}).collect()
    assert row.reason is None and row.timestamp == expected


def test_csv_series_names_service_after_file_and_skips_header(spark, tmp_path):
    lines = lines_of(spark, tmp_path, "timestamp,value\n2014-02-14 14:30:00,42.5\n2014-02-14 14:35:00,abc\nnope\n",
                     name="cpu_load.csv")
    rows = ingest.parse_csv_series(lines, "prod").collect()
    assert ingest.header_lines(lines, "csv_series").count() == 1
    assert [(r.service, r.response_time_ms, r.reason) for r in rows] == [
        ("cpu_load", 42.5, None), ("cpu_load", None, "wrong_type:value"), ("cpu_load", None, "unparseable:csv_series")]
