"""Real logs in: the shared Apache access log's reference figures, access-log variants, JSON
mapping and CSV series on hand-written lines; then issue #23's formats (regex, apache / nginx
with the server's own format string, csv with a column map and labels), each through the whole
ingest stage on a small sample, against counts, error rates and latency percentiles worked out
by hand (percentiles with numpy, linear interpolation as the summary uses)."""

from datetime import datetime, timezone
from pathlib import Path

import json
import os

import numpy as np
import pytest
import yaml
from pyspark.sql import functions as F

from loganalysis import stages
from loganalysis.core.paths import DataPaths
from loganalysis.core.storage import read_parquet
from loganalysis.metrics import service_metrics, validation
from loganalysis.ops import params
from loganalysis.sources import csv_format, fields, ingest, regex_format, structured

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
APACHE_LOG = SHARED / "access_logs" / "apache_combined_10k.log"


def lines_of(spark, tmp_path, text, name="input.log"):
    path = tmp_path / name
    path.write_text(text)
    return ingest.read_lines(spark, str(path))


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc).replace(tzinfo=None)


@pytest.mark.skipif(not APACHE_LOG.exists(), reason="../shared/data is not beside the checkout")
@pytest.mark.parametrize("fmt,log_format", [
    ("apache_combined", ""),
    ("apache", '%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-agent}i\\"'),  # as in httpd.conf
])
def test_real_apache_log_reproduces_the_reference_figures(spark, fmt, log_format):
    parsed = ingest.parse_access_log(ingest.read_lines(spark, str(APACHE_LOG)), fmt, "web", "prod",
                                     log_format=log_format)
    parsed = parsed.cache()
    assert parsed.count() == 10_000
    good = parsed.where("reason IS NULL")
    assert good.count() == 9_999
    rejected = parsed.where("reason IS NOT NULL").collect()
    assert [r.reason for r in rejected] == [f"unparseable:{fmt}"]
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
    rows = structured.parse_json_lines(lines_of(spark, tmp_path, JSON_LINES), MAPPING, "iso", "s",
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
    (row,) = structured.parse_json_lines(lines_of(spark, tmp_path, line), {"t": "timestamp", "s": "service"}, fmt,
                                     "ms", {"environment": "prod"}).collect()
    assert row.reason is None and row.timestamp == expected


@pytest.mark.parametrize("value,expected", [
    ("1793613600", utc(2026, 11, 2, 10, 0, 0)),                       # zap, Unix seconds
    ("1793613600.25", utc(2026, 11, 2, 10, 0, 0, 250000)),
    ("1793613600250", utc(2026, 11, 2, 10, 0, 0, 250000)),            # pino, Java: milliseconds
    ("1793613600250123", utc(2026, 11, 2, 10, 0, 0, 250123)),         # microseconds
    ("1793613600250123456", utc(2026, 11, 2, 10, 0, 0, 250123)),      # Go's UnixNano
    ("2026-11-02T11:00:00+01:00", utc(2026, 11, 2, 10, 0, 0)),        # text: ISO 8601
    ("02/Nov/2026", None),
])
def test_auto_timestamps_read_numbers_as_epochs_by_magnitude_and_text_as_iso(spark, tmp_path, value, expected):
    line = f'{{"t": "{value}", "s": "api"}}'
    (row,) = structured.parse_json_lines(lines_of(spark, tmp_path, line), {"t": "timestamp", "s": "service"}, "auto",
                                     "ms", {"environment": "prod"}).collect()
    assert row.timestamp == expected and row.reason == (None if expected else "bad_timestamp")


# Real loggers' lines, read with no field_map: the conventional names.
CONVENTIONAL_JSON = "\n".join([
    # ECS (log4j2 EcsLayout, ecs-logging): flat "log.level", nested service and http
    '{"@timestamp": "2026-11-02T10:00:00.000Z", "log.level": "error", "message": "upstream timeout", '
    '"service": {"name": "checkout", "environment": "staging"}, "host": {"name": "web-1"}, '
    '"http": {"request": {"method": "POST"}, "response": {"status_code": 504}}, "url": {"path": "/pay"}, '
    '"trace": {"id": "abc"}}',
    # zap: epoch seconds as a number
    '{"level": "info", "ts": 1793613601.5, "msg": "served", "service": "cart", "status": 200, '
    '"duration_ms": 12.5, "path": "/cart?id=7"}',
    # pino: epoch milliseconds, flat names
    '{"time": 1793613602000, "level": "warn", "msg": "slow", "app": "search", "env": "prod", "hostname": "h2"}',
    # Caddy access log: the request nested, status at the top
    '{"level": "info", "ts": 1793613603, "msg": "handled request", "request": {"remote_ip": "10.0.0.9", '
    '"method": "GET", "uri": "/a?b=1"}, "status": 404, "size": 512, "service": "edge"}',
    '{"msg": "no time at all", "service": "cart"}',
])


@pytest.mark.parametrize("max_names", [structured.MAX_NAMES_LISTED, 2])  # 2: too many names to list, all looked up
def test_json_without_field_map_reads_the_conventional_names(spark, tmp_path, monkeypatch, max_names):
    monkeypatch.setattr(structured, "MAX_NAMES_LISTED", max_names)
    rows = structured.parse_json_lines(lines_of(spark, tmp_path, CONVENTIONAL_JSON), {},
                                   fill={"environment": "prod"}).collect()
    ecs, zap, pino, caddy, untimed = rows
    assert ecs.reason is None and ecs.timestamp == utc(2026, 11, 2, 10, 0, 0)
    assert (ecs.service, ecs.environment, ecs.host, ecs.level, ecs.status_code, ecs.method, ecs.endpoint,
            ecs.message, ecs.trace_id) == ("checkout", "staging", "web-1", "ERROR", 504, "POST", "/pay",
                                           "upstream timeout", "abc")
    assert zap.timestamp == utc(2026, 11, 2, 10, 0, 1, 500000)
    assert (zap.service, zap.environment, zap.status_code, zap.response_time_ms, zap.endpoint, zap.message) == (
        "cart", "prod", 200, 12.5, "/cart", "served")
    assert (pino.timestamp, pino.service, pino.environment, pino.host, pino.level) == (
        utc(2026, 11, 2, 10, 0, 2), "search", "prod", "h2", "WARN")
    assert (caddy.client_ip, caddy.method, caddy.endpoint, caddy.status_code, caddy.bytes_sent, caddy.level) == (
        "10.0.0.9", "GET", "/a", 404, 512, "INFO")
    assert untimed.reason == "missing_field:timestamp"


def test_ingest_counts_the_records_carrying_each_field_as_it_writes_them(spark, tmp_path):
    sample = tmp_path / "app.jsonl"
    sample.write_text(CONVENTIONAL_JSON + "\n")
    counts = stages.ingest_logs(spark, DataPaths(str(tmp_path / "data")),
                                ingest.IngestSettings(input_path=str(sample), input_format="json",
                                                      fill={"environment": "prod"}))
    present = counts["fields_present"]
    assert (counts["lines_out"], counts["quarantined"]) == (4, 1)
    assert (present["timestamp"], present["service"], present["status_code"], present["response_time_ms"],
            present["trace_id"], present["user_id"]) == (4, 4, 3, 1, 1, 0)
    coverage = ingest.field_coverage(present, counts["lines_out"]).set_index("field")
    assert coverage.loc["status_code", "share"] == 0.75 and list(coverage.index) == list(present)


@pytest.mark.parametrize("text,expected", [
    ("12.5ms", 12.5), ("1.2s", 1200.0), ("350µs", 0.35), ("350us", 0.35), ("1500000ns", 1.5), ("1m30.5s", 90_500.0),
    ("2h", 7_200_000.0), ("42", 42.0), ("0.25", 0.25), ("12 parsecs", None), ("fast", None), ("", None),
])
def test_durations_read_by_their_unit_and_bare_numbers_in_the_default_unit(spark, text, expected):
    (row,) = spark.createDataFrame([(text,)], "d string").select(structured.duration_ms(F.col("d"), "ms").alias("ms")).collect()
    assert row.ms == (pytest.approx(expected) if expected is not None else None)


# Real logfmt lines: Grafana's request log, Prometheus, a Go service with logrus' text format.
LOGFMT = "\n".join([
    'logger=context userId=1 orgId=1 uname=admin t=2026-11-02T10:00:00.123+00:00 level=info msg="Request Completed" '
    'method=GET path=/api/dashboards/uid/abc status=200 remote_addr=127.0.0.1 time_ms=12 duration=12.136ms size=1234 '
    'referer=',
    'ts=2026-11-02T10:00:01.000Z caller=main.go:1234 level=error component=web msg="error serving: \\"broken\\" pipe" '
    'err="write: broken pipe"',
    'time="2026-11-02T10:00:02Z" level=warning msg="slow query" service=orders env=staging latency=1.5s status=ok',
    'just some words',
    'level=info msg="no time"',
])


def test_logfmt_lines_read_with_the_conventional_names(spark, tmp_path):
    rows = structured.parse_logfmt(lines_of(spark, tmp_path, LOGFMT), {}, service="grafana",
                                   environment="prod").collect()
    grafana, prometheus, logrus, words, untimed = rows
    assert grafana.reason is None and grafana.timestamp == utc(2026, 11, 2, 10, 0, 0, 123000)
    assert (grafana.service, grafana.environment, grafana.level, grafana.method, grafana.endpoint, grafana.status_code,
            grafana.response_time_ms, grafana.bytes_sent, grafana.client_ip, grafana.message) == (
        "grafana", "prod", "INFO", "GET", "/api/dashboards/uid/abc", 200, 12.0, 1234, "127.0.0.1", "Request Completed")
    assert (prometheus.level, prometheus.message, prometheus.status_code) == ("ERROR", 'error serving: "broken" pipe', None)
    # `status=ok` is no status code: no status, and the line's failure is told by its level
    assert (logrus.service, logrus.environment, logrus.level, logrus.response_time_ms, logrus.status_code) == (
        "orders", "staging", "WARN", 1500.0, None)
    assert [words.reason, untimed.reason] == ["unparseable:logfmt", "missing_field:timestamp"]


def test_logfmt_ingest_stage_reconciles_and_quarantines_with_reasons(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(spark, tmp_path, LOGFMT + "\n", "app.log",
                                                         input_format="logfmt", service="grafana")
    assert counts == counts_of(lines_out=3, quarantined=2, not_records=0)
    assert reasons == ["missing_field:timestamp", "unparseable:logfmt"]
    assert sorted(summary) == [("grafana", "prod"), ("orders", "staging")]
    assert summary[("grafana", "prod")].errors_5xx == 1  # Prometheus' level=error line, which has no status


def test_logfmt_survives_long_quoted_values_and_decodes_go_escapes(spark, tmp_path):
    trace = "at handler.go:42\\n" * 2000  # a quoted stack trace of 36,000 characters
    text = (f'ts=2026-11-02T10:00:00Z level=eror msg="first\\tline\\nsecond" err="{trace}" service=18ms\n'
            'ts=2026-11-02T10:00:01Z msg="go \\x41" service=api')
    long_line, go_escape = structured.parse_logfmt(lines_of(spark, tmp_path, text), {}, service="fallback").collect()
    assert (long_line.reason, long_line.message, long_line.level) == (None, "first\tline\nsecond", "ERROR")
    assert long_line.service == "fallback"  # Heroku's `service=18ms` is a service time, not a name
    assert go_escape.message == "go x41"  # no JSON escape: the backslash dropped, the text kept


def test_json_reads_flat_dotted_keys_ignores_empty_strings_and_pino_http(spark, tmp_path):
    lines = "\n".join([
        '{"@timestamp": "2026-11-02T10:00:00Z", "log.level": "ERROR", "service.name": "", "app": "billing", '
        '"trace.id": "t-1", "user_id": "", "message": "x"}',
        '{"time": 1793613600000, "level": 30, "req": {"id": 7, "method": "GET", "url": "/a?b=1", '
        '"remoteAddress": "::1"}, "res": {"statusCode": 404}, "responseTime": 3, "msg": "request completed"}',
    ])
    ecs, pino = structured.parse_json_lines(lines_of(spark, tmp_path, lines), {}, duration_unit="s",
                                            service="web").collect()
    assert (ecs.service, ecs.trace_id, ecs.user_id, ecs.level) == ("billing", "t-1", None, "ERROR")
    assert (pino.method, pino.endpoint, pino.client_ip, pino.status_code, pino.trace_id) == ("GET", "/a", "::1", 404, "7")
    assert pino.response_time_ms == 3.0  # a conventional name says milliseconds, whatever duration_unit says


def test_a_bare_duration_number_needs_a_field_map_saying_its_unit(spark, tmp_path):
    line = 'ts=2026-11-02T10:00:00Z duration=0.25 msg=x'
    (conventional,) = structured.parse_logfmt(lines_of(spark, tmp_path, line), {}, service="a").collect()
    (mapped,) = structured.parse_logfmt(lines_of(spark, tmp_path, line, "b.log"),
                                        {"ts": "timestamp", "duration": "response_time_ms"}, duration_unit="s",
                                        service="a").collect()
    assert conventional.response_time_ms is None and mapped.response_time_ms == pytest.approx(250.0)


def test_json_field_map_sources_fall_back_in_order_and_objects_are_no_values(spark, tmp_path):
    text = '{"t": "2026-11-02T10:00:00Z", "svc": {"name": "x"}, "app": "api", "msg": "{\\"k\\": 1}"}'
    (row,) = structured.parse_json_lines(lines_of(spark, tmp_path, text),
                                     {"t": "timestamp", "svc": "service", "app": "service", "msg": "message"},
                                     fill={"environment": "prod"}).collect()
    assert (row.service, row.message) == ("api", '{"k": 1}')


def test_csv_series_names_service_after_file_and_skips_header(spark, tmp_path):
    lines = lines_of(spark, tmp_path, "timestamp,value\n2014-02-14 14:30:00,42.5\n2014-02-14 14:35:00,abc\nnope\n",
                     name="cpu_load.csv")
    rows = csv_format.parse_csv_series(lines, "prod").collect()
    assert ingest.line_counts(lines, ingest.IngestSettings(input_format="csv_series"))[1] == 1
    assert [(r.service, r.response_time_ms, r.reason) for r in rows] == [
        ("cpu_load", 42.5, None), ("cpu_load", None, "wrong_type:value"), ("cpu_load", None, "unparseable:csv_series")]
    assert {r.level for r in rows} == {None}  # a reading is no log line: no invented level


# ---- issue #23: regex, apache / nginx with their own format strings, csv with a column map ----

def ingest_sample(spark, tmp_path, text, name, modified=None, **settings):
    """The ingest stage on one sample file (last modified at `modified`, a UTC datetime, when
    given): its reconciliation counts, the quarantine's reasons, the written records and their
    summary (the metrics stage's own per-series figures)."""
    sample = tmp_path / "in" / name
    sample.parent.mkdir()
    sample.write_text(text)
    if modified:
        stamp = modified.replace(tzinfo=timezone.utc).timestamp()
        os.utime(sample, (stamp, stamp))
    paths = DataPaths(str(tmp_path / "data"))
    counts = stages.ingest_logs(spark, paths, ingest.IngestSettings(input_path=str(sample), **settings))
    counts.pop("fields_present")
    assert counts["lines_in"] == counts["lines_out"] + counts["quarantined"] + counts["not_records"]
    reasons = sorted(r.reason for r in read_parquet(spark, paths.ingest_quarantine).collect())
    records = validation.read_raw_records(spark, paths.raw_logs)
    summary = {(r.service, r.environment): r for r in service_metrics.summarize(records).collect()}
    return counts, reasons, records.orderBy("timestamp").collect(), summary, paths


def assert_latency_summary(row, latencies_ms, errors_5xx, requests=None):
    requests = requests or len(latencies_ms)
    assert row.requests == requests
    assert row.errors_5xx == errors_5xx and row.error_rate_5xx == pytest.approx(errors_5xx / requests)
    assert [row.p50_ms, row.p95_ms, row.p99_ms] == pytest.approx(list(np.percentile(latencies_ms, [50, 95, 99])))
    assert row.mean_ms == pytest.approx(np.mean(latencies_ms))


def counts_of(lines_out, quarantined, not_records):
    return {"lines_in": lines_out + quarantined + not_records, "lines_out": lines_out,
            "quarantined": quarantined, "not_records": not_records}


OPENSTACK_REQUEST = ('nova-api.log.1.2017-05-16_13:53:08 2017-05-16 {time} 25746 INFO nova.osapi_compute.wsgi.server '
                     '[req-{req} 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 '
                     '"{request} HTTP/1.1" status: {status} len: {size} time: {seconds}')
OPENSTACK = "\n".join([
    OPENSTACK_REQUEST.format(time="00:00:00.008", req="38101a0b-2096-447d-96ea-a692162415ae", status=200,
                             request="GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail", size=1893,
                             seconds="0.2477829"),
    OPENSTACK_REQUEST.format(time="00:00:01.250", req="9bc36dd9-3a07-4d13-a5c5-1e8c3fb0f6c1", status=202,
                             request="POST /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers", size=733,
                             seconds="0.5310000"),
    # A line that is no request: the filter leaves it out, and it is counted as not a record.
    'nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:00:01.500 2931 INFO nova.compute.manager '
    '[req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] '
    'VM Started (Lifecycle Event)',
    OPENSTACK_REQUEST.format(time="00:00:02.000", req="a1b2c3d4-0000-4000-8000-000000000001", status=404,
                             request="GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/missing", size=120,
                             seconds="0.0500000"),
    OPENSTACK_REQUEST.format(time="00:00:03.999", req="a1b2c3d4-0000-4000-8000-000000000002", status=500,
                             request="DELETE /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/x1", size=230,
                             seconds="1.0000000"),
    # A request line cut short: the filter lets it through, the pattern does not match it.
    OPENSTACK_REQUEST.format(time="00:00:05.100", req="a1b2c3d4-0000-4000-8000-000000000003", status=200,
                             request="GET /v2/x", size=1, seconds="").rstrip(),
]) + "\n"
OPENSTACK_PATTERN = (
    r'^(?<service>[a-z]+-[a-z]+)\.log\S* (?<timestamp>\S+ \S+) \d+ (?<level>[A-Z]+) \S+ '
    r'\[(?<trace_id>req-[0-9a-f-]+) [^\]]*\] (?<client_ip>\S+) "(?<method>[A-Z]+) (?<endpoint>[^ ?"]+)[^"]*" '
    r'status: (?<status_code>\d{3}) len: (?<bytes_sent>\d+) time: (?<response_time_ms>\d+\.\d+)$')


def test_regex_openstack_requests_with_a_line_filter(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(
        spark, tmp_path, OPENSTACK, "nova-api.log", input_format="regex", pattern=OPENSTACK_PATTERN,
        line_filter=r'" status: \d{3} len: ', timestamp_format="yyyy-MM-dd HH:mm:ss.SSSSSS", duration_unit="s")
    assert counts == counts_of(lines_out=4, quarantined=1, not_records=1)
    assert reasons == ["unparseable:regex"]
    first = records[0]
    assert first.timestamp == utc(2017, 5, 16, 0, 0, 0, 8000)  # .008 s kept
    assert (first.service, first.environment, first.level, first.method, first.status_code) == (
        "nova-api", "prod", "INFO", "GET", 200)
    assert first.endpoint == "/v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail"
    assert (first.trace_id, first.client_ip, first.bytes_sent) == (
        "req-38101a0b-2096-447d-96ea-a692162415ae", "10.11.10.1", 1893)
    assert first.response_time_ms == pytest.approx(247.7829)
    row = summary[("nova-api", "prod")]
    assert_latency_summary(row, [247.7829, 531.0, 50.0, 1000.0], errors_5xx=1)
    assert row.errors_4xx == 1


APP_LOG = """2026-11-30 08:00:00,120 INFO  [checkout] order 17 placed
2026-11-30 08:00:01,500 warn  [checkout] retrying payment for order 17
2026-11-30 08:00:02,010 ERROR [payment] card declined: order 17
java.lang.IllegalStateException: declined
    at com.shop.Payment.charge(Payment.java:42)
2026-11-30 08:00:03,999 INFO  [payment] order 18 charged
2026-11-30 08:00:99,000 INFO  [payment] a second that does not exist
2026-11-30 08:00:04,000 [payment] a line without a level
"""


def test_regex_application_log_with_levels(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(
        spark, tmp_path, APP_LOG, "shop.log", input_format="regex",
        pattern=r"^(?<timestamp>\S+ \S+) (?<level>[A-Za-z]+)\s+\[(?<service>[\w-]+)\] (?<message>.*)$",
        line_filter=r"^\d{4}-\d{2}-\d{2} ", timestamp_format="yyyy-MM-dd HH:mm:ss,SSS")
    assert counts == counts_of(lines_out=4, quarantined=2, not_records=2)  # the stack trace is no record
    assert reasons == ["bad_timestamp", "unparseable:regex"]
    assert [(r.service, r.level, r.message) for r in records] == [
        ("checkout", "INFO", "order 17 placed"), ("checkout", "WARN", "retrying payment for order 17"),
        ("payment", "ERROR", "card declined: order 17"), ("payment", "INFO", "order 18 charged")]
    assert records[3].timestamp == utc(2026, 11, 30, 8, 0, 3, 999000)
    assert {key: row.requests for key, row in summary.items()} == {("checkout", "prod"): 2, ("payment", "prod"): 2}


TIMED_APP_LOG = """2026-11-30T08:00:00.120Z info  [jobs] job 1 done took 120 ms
2026-11-30T08:00:01.500Z WARNING [jobs] job 2 retried took 340 ms
2026-11-30T08:00:02.010Z ERROR [jobs] job 3 failed: timeout took 5000 ms
2026-11-30T08:00:03.000Z CRITICAL [jobs] queue unreachable
2026-11-30T08:00:04.000Z INFO  [jobs] job 4 done took 80 ms
2026-11-30T08:00:05.000Z Warn  [jobs] disk 91% full
2026-11-30T08:00:06.000Z DEBUG [jobs] heartbeat
"""


def test_application_log_failures_come_from_levels_with_warnings_counted(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(
        spark, tmp_path, TIMED_APP_LOG, "jobs.log", input_format="regex",
        pattern=r"^(?<timestamp>\S+) (?<level>[A-Za-z]+)\s+\[(?<service>[\w-]+)\] (?<message>.*?)"
                r"(?: took (?<response_time_ms>\d+) ms)?$")
    assert counts == counts_of(lines_out=7, quarantined=0, not_records=0) and reasons == []
    # every ecosystem's level name read as the canonical one
    assert [r.level for r in records] == ["INFO", "WARN", "ERROR", "FATAL", "INFO", "WARN", "DEBUG"]
    assert records[2].message == "job 3 failed: timeout" and records[3].response_time_ms is None
    # failures: ERROR and FATAL (2 of 7); the latency figures from the 4 lines that carry one
    assert_latency_summary(summary[("jobs", "prod")], [120.0, 340.0, 5000.0, 80.0], errors_5xx=2,
                           requests=7)
    levels = service_metrics.traffic_breakdown(validation.read_raw_records(spark, _.raw_logs), 5).where(
        "dimension = 'level'").toPandas().set_index("value")
    assert levels["requests"].to_dict() == {"INFO": 2, "WARN": 2, "ERROR": 1, "FATAL": 1, "DEBUG": 1}
    assert levels["errors_5xx"].to_dict() == {"INFO": 0, "WARN": 0, "ERROR": 1, "FATAL": 1, "DEBUG": 0}


APACHE_CUSTOM_FORMAT = '%h %l %u [%{%Y-%m-%d %H:%M:%S}t.%{usec_frac}t] %D "%r" %>s %b "%{Referer}i" "%{User-agent}i"'
APACHE_CUSTOM = """10.0.0.1 - - [2026-11-30 09:00:00.123456] 1500 "GET /api/orders?id=1 HTTP/1.1" 200 512 "-" "curl/8.0"
10.0.0.2 - bob [2026-11-30 09:00:00.654321] 250000 "POST /api/orders HTTP/1.1" 201 48 "-" "Mozilla/5.0 (\\"quoted\\")"
10.0.0.3 - - [2026-11-30 09:00:01.000001] 4000 "GET /api/items HTTP/1.1" 503 - "-" "curl/8.0"
10.0.0.4 - - [2026-11-30 09:00:02.500000] 12000 "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"
10.0.0.5 - - [30/Nov/2026:09:00:03 +0000] 12000 "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"
10.0.0.6 - - [2026-11-30 25:00:00.000000] 100 "GET / HTTP/1.1" 200 2 "-" "curl/8.0"
"""


def test_apache_custom_log_format_with_sub_second_time_and_duration_in_the_middle(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(
        spark, tmp_path, APACHE_CUSTOM, "access.log", input_format="apache", log_format=APACHE_CUSTOM_FORMAT,
        service="shop")
    assert counts == counts_of(lines_out=4, quarantined=2, not_records=0)
    assert reasons == ["bad_timestamp", "unparseable:apache"]
    assert [r.timestamp for r in records] == [utc(2026, 11, 30, 9, 0, 0, 123456), utc(2026, 11, 30, 9, 0, 0, 654321),
                                              utc(2026, 11, 30, 9, 0, 1, 1), utc(2026, 11, 30, 9, 0, 2, 500000)]
    assert [(r.method, r.endpoint, r.status_code, r.bytes_sent, r.user_id) for r in records] == [
        ("GET", "/api/orders", 200, 512, None), ("POST", "/api/orders", 201, 48, "bob"),
        ("GET", "/api/items", 503, 0, None), ("GET", "/health", 200, 2, None)]
    assert_latency_summary(summary[("shop", "prod")], [1.5, 250.0, 4.0, 12.0], errors_5xx=1)


NGINX_FORMAT = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
                '"$http_user_agent" $request_time $upstream_response_time $host')
NGINX = r"""192.168.1.10 - - [30/Nov/2026:10:15:00 +0100] "GET /cart HTTP/2.0" 200 1024 "-" "Mozilla/5.0" 0.020 0.018 shop.example.com
192.168.1.11 - - [30/Nov/2026:10:15:01 +0100] "GET /cart?step=2 HTTP/2.0" 502 157 "-" "Mozilla/5.0" 1.250 1.000, 0.249 shop.example.com
192.168.1.12 - alice [30/Nov/2026:10:15:02 +0100] "POST /login HTTP/1.1" 302 0 "https://auth.example.com/" "Mozilla/5.0" 0.105 - auth.example.com
192.168.1.13 - - [30/Nov/2026:10:15:03 +0100] "GET /cart HTTP/2.0" 200 2048 "-" "Mozilla/5.0" 0.300 0.290 shop.example.com
192.168.1.14 - - [30/Nov/2026:10:15:04 +0100] "\x16\x03\x01\x00\xF7\x01" 400 157 "-" "-" 0.001 - _
2026/11/30 10:15:05 [warn] 1234#1234: *5 an upstream response is buffered to a temporary file
"""


def test_nginx_log_format_with_request_time_and_vhost_services(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(
        spark, tmp_path, NGINX, "access.log", input_format="nginx", log_format=NGINX_FORMAT, service_from="vhost")
    assert counts == counts_of(lines_out=5, quarantined=1, not_records=0)
    assert reasons == ["unparseable:nginx"]
    assert records[0].timestamp == utc(2026, 11, 30, 9, 15, 0)  # +0100 honoured
    assert [(r.service, r.endpoint, r.status_code, r.level) for r in records[:3]] == [
        ("shop.example.com", "/cart", 200, "INFO"), ("shop.example.com", "/cart", 502, "ERROR"),
        ("auth.example.com", "/login", 302, "INFO")]
    assert records[2].user_id == "alice"
    assert_latency_summary(summary[("shop.example.com", "prod")], [20.0, 1250.0, 300.0], errors_5xx=1)
    assert_latency_summary(summary[("auth.example.com", "prod")], [105.0], errors_5xx=0)
    assert summary[("_", "prod")].errors_4xx == 1


def test_nginx_upstream_times_summed_over_the_upstreams_tried_and_epoch_msec(spark, tmp_path):
    text = ('1764494100.250 10.0.0.1 "GET / HTTP/1.1" 200 0.010, 0.250 : 0.003\n'
            '1764494101.000 10.0.0.1 "GET / HTTP/1.1" 499 -\n'
            '1764494102.500 10.0.0.1 "GET / HTTP/1.1" 200 0.042\n')
    rows = ingest.parse_access_log(lines_of(spark, tmp_path, text), "nginx", "web", "prod",
                                   log_format='$msec $remote_addr "$request" $status $upstream_response_time').collect()
    assert [r.reason for r in rows] == [None, None, None]
    assert rows[0].timestamp == utc(2025, 11, 30, 9, 15, 0, 250000)
    assert rows[0].response_time_ms == pytest.approx(263.0) and rows[2].response_time_ms == pytest.approx(42.0)
    assert rows[1].response_time_ms is None  # "-": the request never reached an upstream


CSV_SAMPLE = """"TimeStamp","Value","Label","Note"
"2026-11-30T00:00:00Z",10.0,0,
"2026-11-30T00:05:00Z",11.0,0,
"2026-11-30T00:10:00Z",95.5,1,"spike, fan stopped"
"2026-11-30T00:15:00Z",97.0,1,
"2026-11-30T00:20:00Z",12.0,0,
"2026-11-30T00:25:00Z","n/a",0,
"2026-11-30T00:30:00Z",13.0,0,,extra
"2026-11-30T00:35:00Z",14.0,0,
"2026-11-30T01:40:00+01:00",80.0,1,
"""


def test_csv_with_column_map_quoted_iso_timestamps_and_label_windows(spark, tmp_path):
    counts, reasons, records, summary, paths = ingest_sample(
        spark, tmp_path, CSV_SAMPLE, "machine_temp.csv", input_format="csv", service_from="file",
        column_map={"TimeStamp": "timestamp", "Value": "response_time_ms", "Note": "message"}, label_column="Label")
    assert counts == counts_of(lines_out=7, quarantined=2, not_records=1)  # the header is no record
    assert reasons == ["unparseable:csv", "wrong_type:response_time_ms"]
    assert records[2].message == "spike, fan stopped" and records[6].timestamp == utc(2026, 11, 30, 0, 40)
    assert_latency_summary(summary[("machine_temp", "prod")], [10.0, 11.0, 95.5, 97.0, 12.0, 14.0, 80.0],
                           errors_5xx=0)
    truth = read_parquet(spark, paths.ground_truth.incidents).orderBy("start").collect()
    # Runs of 1: 00:10-00:15 ends at the next point (00:20, exclusive); 00:40 ends the series, one step on.
    assert [(t.incident_id, t.kind, t.service, t.environment, t.start, t.end) for t in truth] == [
        (1, "labelled_window", "machine_temp", "prod", utc(2026, 11, 30, 0, 10), utc(2026, 11, 30, 0, 20)),
        (2, "labelled_window", "machine_temp", "prod", utc(2026, 11, 30, 0, 40), utc(2026, 11, 30, 0, 45))]
    (start,) = read_parquet(spark, paths.ground_truth.scoring_start).collect()
    assert start.start == utc(2026, 11, 30, 0, 5)  # floor(15% of 7 rows) = 1 warm-up row


def test_csv_header_with_a_byte_order_mark_and_columns_in_another_order(spark, tmp_path):
    text = "\ufeffhost,value,timestamp\nweb-1,5,2026-11-30T00:00:00Z\nweb-2,7,2026-11-30T00:01:00Z\n"
    rows = csv_format.parse_csv(lines_of(spark, tmp_path, text, name="x.csv"),
                            {"timestamp": "timestamp", "value": "response_time_ms", "host": "host"},
                            service="db", environment="prod").collect()
    assert [(r.host, r.service, r.response_time_ms, r.reason) for r in rows] == [
        ("web-1", "db", 5.0, None), ("web-2", "db", 7.0, None)]


def test_csv_refuses_a_column_map_no_header_names(spark, tmp_path):
    lines = lines_of(spark, tmp_path, CSV_SAMPLE, name="x.csv")
    with pytest.raises(ValueError, match="no CSV header line names every mapped column"):
        csv_format.parse_csv(lines, {"Time": "timestamp"})
    with pytest.raises(ValueError, match="not canonical fields"):
        csv_format.parse_csv(lines, {"TimeStamp": "when"})


@pytest.mark.parametrize("overrides,message", [
    ({"input_format": "regex", "pattern": r"(?<level>\w+) (?<msg>.*)"}, "pattern = "),
    ({"input_format": "apache", "log_format": "%h %J"}, "log_format = "),
    ({"input_format": "xml"}, "is not a known input format"),
    ({"service_from": "header"}, "must be constant, vhost, path_prefix, file or container"),
])
def test_parameter_check_refuses_bad_format_settings(overrides, message):
    with pytest.raises(params.ParameterError, match=message):
        params.check({"source": "ingest", "input_path": str(APACHE_LOG.parent if APACHE_LOG.exists() else "."),
                      **overrides})


def test_parameter_check_accepts_the_new_formats():
    for overrides in [{"input_format": "regex", "pattern": OPENSTACK_PATTERN, "service_from": "file"},
                      {"input_format": "nginx", "log_format": NGINX_FORMAT},
                      {"input_format": "csv", "column_map": {"TimeStamp": "timestamp"}, "label_column": "Label"}]:
        params.check({"source": "ingest", "input_path": ".", **overrides})


def test_regex_without_a_filter_quarantines_every_line_it_cannot_read(spark, tmp_path):
    text = "2026-11-30T08:00:00.250Z 200 12.5\nnot a line of this log\n2026-11-30T08:00:01Z 5xx 3\n"
    lines = lines_of(spark, tmp_path, text, name="edge-proxy.2026-11-30.log")
    settings = ingest.IngestSettings(input_format="regex", service_from="file", fill={"host": "edge-1"},
                                     pattern=r"^(?<timestamp>\S+) (?<status_code>\S+) (?<response_time_ms>\S+)$")
    rows = ingest.parse(lines, settings).collect()
    assert ingest.line_counts(lines, settings)[1] == 0
    assert [r.reason for r in rows] == [None, "unparseable:regex", "wrong_type:status_code"]
    assert (rows[0].timestamp, rows[0].service, rows[0].host, rows[0].level, rows[0].response_time_ms) == (
        utc(2026, 11, 30, 8, 0, 0, 250000), "edge-proxy", "edge-1", "INFO", 12.5)


@pytest.mark.parametrize("pattern,message", [
    (r"(?<time>\S+) (?<level>\S+)", r"pattern groups \['time'\] are not canonical fields"),
    (r"(?<level>\S+) (?<message>.*)", "pattern needs a"),
])
def test_regex_pattern_names_canonical_fields_and_a_timestamp(spark, tmp_path, pattern, message):
    with pytest.raises(ValueError, match=message):
        regex_format.parse_regex(lines_of(spark, tmp_path, "x\n"), pattern)


def test_regex_and_csv_refuse_an_access_log_service_rule(spark, tmp_path):
    lines = lines_of(spark, tmp_path, CSV_SAMPLE, name="x.csv")
    with pytest.raises(ValueError, match="service_from 'path_prefix' is for access logs"):
        regex_format.parse_regex(lines, r"(?<timestamp>\S+)", service_from="path_prefix")
    with pytest.raises(ValueError, match="service_from 'vhost' is for access logs"):
        csv_format.parse_csv(lines, {"TimeStamp": "timestamp"}, service_from="vhost")


NAB_FOLDER = SHARED / "nab" / "data" / "realKnownCause"


@pytest.mark.skipif(not NAB_FOLDER.exists(), reason="../shared/data is not beside the checkout")
def test_csv_with_a_column_map_reads_real_nab_files_as_csv_series_does(spark):
    lines = ingest.read_lines(spark, str(NAB_FOLDER), "*.csv")
    settings = ingest.IngestSettings(input_format="csv", service_from="file",
                                     column_map={"timestamp": "timestamp", "value": "response_time_ms"})
    by_map = ingest.parse(lines, settings).select("service", "timestamp", "response_time_ms", "reason")
    by_series = csv_format.parse_csv_series(lines, "prod").select("service", "timestamp", "response_time_ms", "reason")
    assert by_map.where("reason IS NOT NULL").count() == 0
    assert by_map.exceptAll(by_series).count() == 0 and by_series.exceptAll(by_map).count() == 0
    files = len(list(NAB_FOLDER.glob("*.csv")))
    assert ingest.line_counts(lines, settings)[1] == files  # one header per file


def test_a_name_no_folder_can_carry_is_quarantined_at_ingest(spark, tmp_path):
    """Raw logs are partitioned by service: a 300-byte or slash-bearing name would fail the whole
    write, so that line alone is quarantined with its reason."""
    text = "\n".join(json.dumps({"t": "2026-11-30T10:00:00Z", "s": name, "ms": 5})
                     for name in ("web", "x" * 300, "a/b", "café")) + "\n"
    settings = ingest.IngestSettings(input_format="json", field_map={"t": "timestamp", "s": "service", "ms": "response_time_ms"},
                                     fill={"environment": "prod"})
    parsed = ingest.parse(lines_of(spark, tmp_path, text), settings)
    reasons = {r.service[:5]: r.reason for r in parsed.collect()}
    assert reasons == {"web": None, "xxxxx": "bad_name:service", "a/b": "bad_name:service", "café": None}


def test_captures_read_in_one_pass_as_regexp_extract_would(spark):
    """fields.with_captures (one regex pass per line) against Spark's regexp_extract per group,
    on the lines where the two could part: a pattern found mid-line, a group that takes no part,
    a trailing carriage return, a line holding the capture separator, a line with no match."""
    pattern = r"(\d+)-(x)?(\w+)"
    texts = ["id 12-ab tail", "12-xab", "7-q\r", "9-a\u001fb", "no digits here", ""]
    lines = spark.createDataFrame([(t,) for t in texts], "raw_line string")
    captured, capture = fields.with_captures(lines, pattern, [1, 2, 3])
    got = captured.select(fields.matched().alias("m"), *[capture(g).alias(f"g{g}") for g in (1, 2, 3)],
                          *[F.regexp_extract("raw_line", pattern, g).alias(f"e{g}") for g in (1, 2, 3)],
                          F.col("raw_line").rlike(pattern).alias("found")).collect()
    for text, row in zip(texts, got):
        if "\u001f" in text:  # the separator in a line: not read, so never misread
            assert row.m is False and row.g1 is None
        elif row.found:
            assert row.m and (row.g1, row.g2, row.g3) == (row.e1, row.e2, row.e3), text
        else:
            assert not row.m and row.g1 is None, text
    assert [r.m for r in got] == [True, True, True, False, False, False]
    assert (got[0].g1, got[0].g2, got[0].g3) == ("12", "", "ab") and got[1].g2 == "x" and got[2].g3 == "q"


# ---- container logs: the runtime's wrapper taken off before the format reads the line ----------

POD_LOG = "shop_cart-7d9f4b_0a1b2c3d-1111-2222-3333-444455556666/cart/0.log"  # /var/log/pods/<ns>_<pod>_<uid>/<c>/
CRI_LINES = [
    '2026-11-30T10:00:00.100000000Z stdout F {"ts":"2026-11-30T10:00:00.050Z","level":"info","status":200,'
    '"duration_ms":12.5,"msg":"served"}',
    # One line of 3 parts (a runtime cuts lines past 16 KiB): joined back in order.
    '2026-11-30T10:00:01.000000000Z stdout P {"ts":"2026-11-30T10:00:01Z","level":"error",',
    '2026-11-30T10:00:01.000000001Z stdout P "status":503,"duration_ms":250,',
    '2026-11-30T10:00:01.000000002Z stdout F "msg":"upstream reset"}',
    # No time of its own (a print): the runtime's time, nanoseconds cut to microseconds.
    '2026-11-30T10:00:02.123456789Z stderr F {"level":"warn","msg":"retrying"}',
    'a line no runtime wrote',
    '2026-11-30T10:00:03Z stdout F {not json',
    # Both streams share the file: a stdout part followed by a stderr line is not joined to it.
    '2026-11-30T10:00:05Z stdout P {"ts":"2026-11-30T10:00:05Z","msg":"interleaved ',
    '2026-11-30T10:00:05.100Z stderr F {"level":"warn","msg":"meanwhile on stderr"}',
    '2026-11-30T10:00:05.200Z stdout F part"}',
    'yesterday stdout F {"msg":"a wrapper without a readable time"}',
    '2026-11-30T10:00:04Z stdout P {"ts":"2026-11-30T10:00:04Z","msg":"cut off by rotat',  # its end never came
]


def write_file(tmp_path, relative, text):
    path = tmp_path / "in" / relative
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def ingest_container_sample(spark, tmp_path, relative, text, **settings):
    write_file(tmp_path, relative, text)
    paths = DataPaths(str(tmp_path / "data"))
    counts = stages.ingest_logs(spark, paths, ingest.IngestSettings(input_path=str(tmp_path / "in"), **settings))
    quarantine = read_parquet(spark, paths.ingest_quarantine).orderBy("reason", "raw_line").collect()
    return counts, quarantine, validation.read_raw_records(spark, paths.raw_logs).orderBy("timestamp").collect()


def test_cri_lines_unwrapped_parts_joined_and_the_runtime_time_used_where_a_line_has_none(spark, tmp_path):
    counts, quarantine, records = ingest_container_sample(
        spark, tmp_path, POD_LOG, "\n".join(CRI_LINES) + "\n", input_format="json", container_log="cri",
        service_from="container")
    assert (counts["lines_in"], counts["lines_out"], counts["quarantined"], counts["not_records"]) == (12, 4, 6, 2)
    assert [(r.timestamp, r.service, r.level, r.status_code, r.response_time_ms, r.message) for r in records] == [
        (utc(2026, 11, 30, 10, 0, 0, 50000), "cart", "INFO", 200, 12.5, "served"),
        (utc(2026, 11, 30, 10, 0, 1), "cart", "ERROR", 503, 250.0, "upstream reset"),
        (utc(2026, 11, 30, 10, 0, 2, 123456), "cart", "WARN", None, None, "retrying"),
        (utc(2026, 11, 30, 10, 0, 5, 100000), "cart", "WARN", None, None, "meanwhile on stderr"),
    ]
    assert [(r.reason, r.raw_line) for r in quarantine] == [
        ("malformed_json", 'part"}'),
        ("malformed_json", "{not json"),
        ("partial_line", '{"ts":"2026-11-30T10:00:04Z","msg":"cut off by rotat'),
        ("partial_line", '{"ts":"2026-11-30T10:00:05Z","msg":"interleaved '),
        ("unparseable:cri", "a line no runtime wrote"),
        ("unparseable:cri", 'yesterday stdout F {"msg":"a wrapper without a readable time"}'),
    ]


def test_docker_json_file_lines_unwrapped_with_logfmt_inside_and_the_short_id_as_service(spark, tmp_path):
    container_id = "3f4e1d2c" * 8
    wrapped = [{"log": 'level=info msg="served" status=200 duration=12ms\r\n', "time": "2026-11-30T10:00:00.5Z"},
               {"log": "level=error msg=\"long ", "time": "2026-11-30T10:00:01Z"},  # a part: no newline
               {"log": 'line\" status=502 duration=1.5s\n', "time": "2026-11-30T10:00:01.1Z"},
               {"stream": "stdout", "time": "2026-11-30T10:00:02Z"}]  # no log: not the driver's line
    text = "".join(json.dumps({"stream": "stdout", **line}) + "\n" for line in wrapped)
    counts, quarantine, records = ingest_container_sample(
        spark, tmp_path, f"{container_id}/{container_id}-json.log", text, input_format="logfmt",
        container_log="docker", service_from="container")
    assert (counts["lines_in"], counts["lines_out"], counts["quarantined"], counts["not_records"]) == (4, 2, 1, 1)
    assert [(r.timestamp, r.service, r.status_code, r.response_time_ms, r.message) for r in records] == [
        (utc(2026, 11, 30, 10, 0, 0, 500000), "3f4e1d2c3f4e", 200, 12.0, "served"),
        (utc(2026, 11, 30, 10, 0, 1, 100000), "3f4e1d2c3f4e", 502, 1500.0, "long line"),
    ]
    assert [r.reason for r in quarantine] == ["unparseable:docker"]


def test_kubectl_timestamps_before_an_application_line_read_by_a_regex_with_a_line_filter(spark, tmp_path):
    text = ("2026-11-30T10:00:00.250000000Z ERROR payment 502 declined\n"
            "2026-11-30T10:00:01+01:00 INFO payment 200 accepted\n"
            "2026-11-30T10:00:02Z INFO healthz ok\n"              # the filter leaves it out: not a record
            "2026-11-30T10:00:03Z ERROR payment 5xx refused\n"    # the runtime's time; still a bad status
            "ERROR no time before me\n"                           # no wrapper: quarantined, filter or not
            "2026-11-30 ERROR payment 500 a date is not a time\n")
    counts, quarantine, records = ingest_container_sample(
        spark, tmp_path, "payment.log", text, input_format="regex", container_log="timestamped",
        pattern=r"^(?<level>[A-Z]+) payment (?<status_code>\S+) (?<message>.*)$", line_filter=r"^[A-Z]+ payment ",
        service_from="file")
    assert (counts["lines_in"], counts["lines_out"], counts["quarantined"], counts["not_records"]) == (6, 2, 3, 1)
    assert [(r.timestamp, r.service, r.level, r.status_code) for r in records] == [
        (utc(2026, 11, 30, 9, 0, 1), "payment", "INFO", 200), (utc(2026, 11, 30, 10, 0, 0, 250000), "payment", "ERROR", 502)]
    assert [(r.reason, r.raw_line) for r in quarantine] == [
        ("unparseable:timestamped", "2026-11-30 ERROR payment 500 a date is not a time"),
        ("unparseable:timestamped", "ERROR no time before me"),
        ("wrong_type:status_code", "ERROR payment 5xx refused")]


def test_container_names_read_from_where_each_runtime_keeps_its_logs(spark):
    from loganalysis.sources import container
    paths = ["/var/log/containers/cart-7d9f4b-xk2p_shop_cart-" + "ab" * 32 + ".log",
             "/var/log/pods/shop_cart-7d9f4b-xk2p_0a1b2c3d/istio-proxy/3.log.20261130-101500",
             "/var/lib/docker/containers/" + "cd" * 32 + "/" + "cd" * 32 + "-json.log.1",
             "/var/log/app/cart.log"]
    frame = spark.createDataFrame([(p,) for p in paths], "path string")
    assert [r[0] for r in frame.select(container.container_name(F.col("path"))).collect()] == [
        "cart", "istio-proxy", "cdcdcdcdcdcd", None]


@pytest.mark.parametrize("overrides,message", [
    ({"container_log": "podman"}, "container_log = 'podman' must be empty"),
    ({"container_log": "cri", "input_format": "csv_series"}, "csv_series files are not a container's output"),
    ({"input_format": "regex", "pattern": r"(?<level>\w+) (?<message>.*)"}, "pattern has no"),
])
def test_parameter_check_refuses_container_settings_that_cannot_work(overrides, message):
    with pytest.raises(params.ParameterError, match=message):
        params.check({"source": "ingest", "input_path": ".", **overrides})


@pytest.mark.parametrize("input_format,record", [
    ("json", '{"ts":"2026-11-30T10:00:00Z","level":"info","msg":"served","status":200}'),
    ("logfmt", 'ts=2026-11-30T10:00:00Z level=info msg=served status=200'),
    ("apache_combined", '10.0.0.1 - - [30/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0"'),
])
def test_blank_lines_are_not_records_in_any_format(spark, tmp_path, input_format, record):
    counts, reasons, records, _, _ = ingest_sample(spark, tmp_path, f"{record}\n\n   \t\n{record}\n\n", "app.log",
                                                   input_format=input_format)
    assert counts == counts_of(lines_out=2, quarantined=0, not_records=3) and reasons == []


# Real lines: loghub's Linux log (2005, BSD times), posts quoting a host's /var/log/messages,
# RFC 3164's and RFC 5424's own examples; an rsyslog RSYSLOG_FileFormat line, journalctl's
# short-iso and short-precise, its notes and continuation lines, daemons' own level words.
NGINX_ERROR = ('2026/11/30 10:00:02 [error] 812#812: *1 connect() failed (111: Connection refused) while connecting to '
               'upstream, client: 10.0.0.1, server: shop.example.com, request: "GET /api/cart HTTP/1.1", upstream: '
               '"http://127.0.0.1:8080/api/cart", host: "shop.example.com"')
SYSLOG = f"""Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4
Jun  9 06:06:20 combo syslogd 1.4.1: restart.
Jun 15 04:06:18 combo su(pam_unix)[21416]: session opened for user cyrus by (uid=0)
Nov 21 23:07:33 elfie last message repeated 2 times
Apr 21 17:13:29  sshd[3613]: last message repeated 2 times
Nov 30 10:00:00 mail01 postfix/smtpd[1234]: warning: hostname 10-0-0-1.example does not resolve to address 10.0.0.1
Nov 30 10:00:01 web01 sshd[812]: error: kex_exchange_identification: Connection closed by remote host
2026-11-30T10:00:02.123456+01:00 web01 nginx: {NGINX_ERROR}
<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8
<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...
<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.
-- Boot 0b1c2d3e4f5a6b7c8d9e --
<14>1 - web01 cron - - - a line without a time

<999>Nov 30 10:00:00 web01 app: no such priority
java.lang.IllegalStateException: not a syslog line
<13>Nov 30 10:00:03 app[12]: hello
<14>Nov 30 10:00:04 web01 app[12]: ERROR the priority says info
Nov 30 10:00:05 router1 1234: *Nov 30 10:00:05.123: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down
Nov 30 10:00:06 web01 -- MARK --
    at com.example.App.main(App.java:10)
<11>1 2026-11-30T10:00:09Z web03 billing - - [meta@1 note="a \\] b \\"c\\""] charge failed
2026-11-30T10:00:07+0100 web02 systemd[1]: Started Session 5 of User deploy.
Nov 30 10:00:08.123456 web02 kernel: [    5.123456] eth0: link up
Nov 30 10:00:10 web03 grafana[7]: logger=context t=2026-11-30T10:00:10Z level=error msg="Request Completed" status=500
Nov 30 10:00:11 db01 postgres[4321]: [5-1] FATAL:  password authentication failed for user "app"
Nov 30 10:00:12 web01 httpd[900]: [proxy:error] [pid 900:tid 140] (111)Connection refused: AH00957: attempt to connect to 127.0.0.1:8080 failed
"""


def test_syslog_lines_of_every_header_read_with_program_host_and_level(spark, tmp_path):
    counts, reasons, records, summary, paths = ingest_sample(spark, tmp_path, SYSLOG, "messages",
                                                             input_format="syslog", service="syslog",
                                                             modified=utc(2026, 12, 7, 12))
    # journalctl's note, its continuation line, syslogd's MARK and the blank line are not records
    assert counts == counts_of(lines_out=20, quarantined=3, not_records=4)
    assert reasons == ["missing_field:timestamp", "unparseable:syslog", "unparseable:syslog"]
    # page 01's table: each reason once, most lines first, with its shortest line
    by_reason = ingest.quarantined_with_examples(read_parquet(spark, paths.ingest_quarantine)).collect()
    assert [tuple(row) for row in by_reason] == [
        ("unparseable:syslog", 2, "<999>Nov 30 10:00:00 web01 app: no such priority"),
        ("missing_field:timestamp", 1, "<14>1 - web01 cron - - - a line without a time")]
    assert [(r.timestamp, r.service, r.host, r.level) for r in records] == [
        (utc(2003, 8, 24, 12, 14, 15, 3), "myproc", "192.0.2.1", "INFO"),  # <165>: notice
        (utc(2003, 10, 11, 22, 14, 15, 3000), "evntslog", "mymachine.example.com", "INFO"),
        # BSD times: the latest year not more than a day after the file's modification (2026-12-07)
        (utc(2026, 4, 21, 17, 13, 29), "sshd", None, None),  # a relay left the host empty
        (utc(2026, 6, 9, 6, 6, 20), "syslog", "combo", None),  # "syslogd 1.4.1:" is no tag
        (utc(2026, 6, 14, 15, 16, 1), "sshd", "combo", None),
        (utc(2026, 6, 15, 4, 6, 18), "su", "combo", None),
        (utc(2026, 10, 11, 22, 14, 15), "su", "mymachine", "FATAL"),  # <34>: crit
        (utc(2026, 11, 21, 23, 7, 33), "syslog", "elfie", None),
        (utc(2026, 11, 30, 9, 0, 2, 123456), "nginx", "web01", "ERROR"),  # after nginx's own time
        (utc(2026, 11, 30, 9, 0, 7), "systemd", "web02", None),  # +0100
        (utc(2026, 11, 30, 10, 0, 0), "postfix", "mail01", "WARN"),
        (utc(2026, 11, 30, 10, 0, 1), "sshd", "web01", "ERROR"),
        (utc(2026, 11, 30, 10, 0, 3), "app", None, "INFO"),  # no host at all, as logger sends it
        (utc(2026, 11, 30, 10, 0, 4), "app", "web01", "INFO"),  # the priority wins over a word
        (utc(2026, 11, 30, 10, 0, 5), "syslog", "router1", None),  # a sequence number is no program
        (utc(2026, 11, 30, 10, 0, 8, 123456), "kernel", "web02", None),
        (utc(2026, 11, 30, 10, 0, 9), "billing", "web03", "ERROR"),  # <11>: err
        (utc(2026, 11, 30, 10, 0, 10), "grafana", "web03", "ERROR"),  # logfmt's level=error
        (utc(2026, 11, 30, 10, 0, 11), "postgres", "db01", "FATAL"),  # after its [5-1]
        (utc(2026, 11, 30, 10, 0, 12), "httpd", "web01", "ERROR"),  # Apache's [proxy:error]
    ]
    messages = {r.service: r.message for r in records}
    assert messages["nginx"] == NGINX_ERROR and messages["billing"] == "charge failed"
    assert messages["myproc"] == "%% It's time to make the do-nuts."
    assert records[4].message == ("authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= "
                                  "rhost=218.188.2.4")
    assert records[14].message.startswith("1234: *Nov 30 10:00:05.123: %LINK-3-UPDOWN")
    failures = {key[0]: row.errors_5xx for key, row in summary.items() if row.errors_5xx}
    assert failures == {"sshd": 1, "nginx": 1, "su": 1, "billing": 1, "grafana": 1, "postgres": 1, "httpd": 1}


@pytest.mark.parametrize("message,level", [
    ("error: connect failed", "ERROR"), ("Warning: low disk", "WARN"), ("[warn] slow upstream", "WARN"),
    ("<crit> raid degraded", "FATAL"), ("CRIT disk full", "FATAL"), ("NOTICE: started", "INFO"),
    ("auth: Error: PAM authentication failed", "ERROR"), ("[alert] 12#0: worker exited", "FATAL"),
    ("message repeated 3 times: [ error: kex_exchange_identification]", "ERROR"),
    ("Alert sent to ops", None), ("alert: sent to ops", None), ("A user logged in", None), ("errors: 0", None),
    ("ERRORS seen", None), ("took 3 ms, level=", None),
    ("Error: Config: bad value", "ERROR"),  # the level first, not a module's name
    ("imap(bob)<123><abc>: Error: quota exceeded", "ERROR"),  # dovecot
    ("[5-1] 2026-11-30 10:00:00.123 UTC [1234] FATAL:  password authentication failed", "FATAL"),  # postgres
    ("ts=2026-11-30T10:00:00Z level=warn msg=retrying", "WARN"), ("battery level=85 ok", None),
])
def test_syslog_level_read_from_a_level_name_leading_the_message(spark, tmp_path, message, level):
    parsed = ingest.parse(lines_of(spark, tmp_path, f"Nov 30 10:00:00 web01 app[1]: {message}\n"),
                          ingest.IngestSettings(input_format="syslog"))
    assert [(r.level, r.reason) for r in parsed.collect()] == [(level, None)]


def test_syslog_bsd_times_across_new_year_and_a_given_year(spark, tmp_path):
    text = "Dec 31 23:59:59 web01 app: before\nJan  1 00:00:01 web01 app: after\nFeb 29 12:00:00 web01 app: leap\n"
    (tmp_path / "input.log").write_text(text)
    stamp = datetime(2027, 1, 1, 0, 5, tzinfo=timezone.utc).timestamp()
    os.utime(tmp_path / "input.log", (stamp, stamp))
    lines = ingest.read_lines(spark, str(tmp_path / "input.log"))
    inferred = ingest.parse(lines, ingest.IngestSettings(input_format="syslog")).collect()
    assert [(r.timestamp, r.reason) for r in inferred] == [
        (utc(2026, 12, 31, 23, 59, 59), None), (utc(2027, 1, 1, 0, 0, 1), None), (utc(2024, 2, 29, 12), None)]
    # the day the logs end, given: an archive copied without its modification time
    given = ingest.parse(lines, ingest.IngestSettings(input_format="syslog", syslog_end_date="2005-01-01")).collect()
    assert [(r.timestamp, r.reason) for r in given] == [
        (utc(2004, 12, 31, 23, 59, 59), None), (utc(2005, 1, 1, 0, 0, 1), None), (utc(2004, 2, 29, 12), None)]
    # a host's clock or zone a few hours ahead of the file's time keeps its year
    (tmp_path / "ahead.log").write_text("Jan  1 10:00:00 web01 app: ahead\n")
    os.utime(tmp_path / "ahead.log", (stamp, stamp))
    ahead = ingest.parse(ingest.read_lines(spark, str(tmp_path / "ahead.log")), ingest.IngestSettings(input_format="syslog"))
    assert [r.timestamp for r in ahead.collect()] == [utc(2027, 1, 1, 10)]


def test_syslog_in_a_container_takes_the_year_from_the_runtimes_time(spark, tmp_path):
    line = "2025-03-01T10:00:00.5Z stdout F Mar  1 10:00:00 web01 app[1]: started"
    lines = ingest.input_lines(spark, ingest.IngestSettings(input_path=str(write_file(tmp_path, "app.log", line)),
                                                            input_format="syslog", container_log="cri"))
    parsed = ingest.parse(lines, ingest.IngestSettings(input_format="syslog", container_log="cri")).collect()
    assert [(r.timestamp, r.service, r.reason) for r in parsed] == [(utc(2025, 3, 1, 10), "app", None)]


def test_a_quarantined_example_is_cut_to_the_start_of_the_line(spark):
    long_line = "x" * (ingest.EXAMPLE_CHARS + 50)
    quarantined = spark.createDataFrame([("partial_line", long_line), ("partial_line", long_line + "y")],
                                        "reason string, raw_line string")
    [row] = ingest.quarantined_with_examples(quarantined).collect()
    assert (row.lines, row.example) == (2, "x" * ingest.EXAMPLE_CHARS + "…")


def test_syslog_tag_without_a_space_and_a_broken_container_wrapper_never_left_out(spark, tmp_path):
    lines = lines_of(spark, tmp_path, "<13>Nov 30 10:00:00 app[12]:started in 3 s\n")
    parsed = ingest.parse(lines, ingest.IngestSettings(input_format="syslog")).collect()
    assert [(r.service, r.host, r.message) for r in parsed] == [("app", None, "started in 3 s")]
    # a line that is no CRI line is quarantined, even one that looks like journalctl's continuation
    counts, quarantine, records = ingest_container_sample(
        spark, tmp_path, "pods/shop_app-1_0a1b/app/0.log",
        "2026-11-30T10:00:00Z stdout F Nov 30 10:00:00 web01 app[1]: ok\n   an indented line, no wrapper\n",
        input_format="syslog", container_log="cri")
    assert counts["lines_out"] == 1 and counts["not_records"] == 0
    assert [(r.reason, r.raw_line) for r in quarantine] == [("unparseable:cri", "   an indented line, no wrapper")]


# HAProxy's HTTP log (its documentation's example, then lines of the same shape: a 503, a bad
# request no backend took, a client that gave up (-1), an IPv6 client, `option logasap`'s +
# marks), as HAProxy sends it to syslog; an event line of the same program; a request whose byte
# count is no number. Read by the pattern docs/log-formats.md gives.
HAPROXY = """Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"
Feb  6 12:14:15 localhost haproxy[14389]: 10.0.1.3:33320 [06/Feb/2009:12:14:15.001] http-in app/srv2 0/0/1/-1/5003 503 212 - - sC-- 2/2/1/1/0 0/0 {1wt.eu} {} "POST /api/orders?id=7 HTTP/1.1"
Feb  6 12:14:16 localhost haproxy[14389]: Server app/srv2 is DOWN, reason: Layer4 timeout, check duration: 2001ms.
Feb  6 12:14:17 localhost haproxy[14389]: 10.0.1.4:33400 [06/Feb/2009:12:14:17.100] http-in static/srv1 1/0/0/2/3 200 big - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /a HTTP/1.1"
Feb  6 12:14:18 localhost haproxy[14389]: 10.0.1.5:33500 [06/Feb/2009:12:14:18.000] http-in http-in/<NOSRV> -1/-1/-1/-1/2 400 187 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"
Feb  6 12:14:19 localhost haproxy[14389]: 10.0.1.6:33600 [06/Feb/2009:12:14:19.000] http-in app/srv1 0/0/0/-1/1500 -1 0 - - CD-- 1/1/0/0/0 0/0 "GET /slow HTTP/1.1"
Feb  6 12:14:20 localhost haproxy[14389]: 2001:db8::1:51234 [06/Feb/2009:12:14:20.000] http-in static/srv1 0/0/0/1/2 200 10 - - ---- 1/1/0/0/0 0/0 "GET /b HTTP/1.1"
Feb  6 12:14:21 localhost haproxy[14389]: 10.0.1.7:33700 [06/Feb/2009:12:14:21.000] http-in static/srv1 10/0/30/69/+109 200 +2750 - - ---- 1/1/1/1/0 0/0 "GET /c HTTP/2.0"
"""


def documented_profile(title: str) -> dict:
    """The profile lines docs/log-formats.md gives under the example that starts with `title`."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "log-formats.md").read_text()
    example = text[text.index(title):]
    return yaml.safe_load(example[:example.index("```")])


def test_syslog_messages_read_by_a_pattern_give_an_access_log_sent_to_syslog(spark, tmp_path):
    settings = documented_profile("# HAProxy's HTTP log")
    assert settings["input_format"] == "syslog"
    counts, reasons, records, summary, _ = ingest_sample(spark, tmp_path, HAPROXY, "haproxy.log",
                                                         syslog_end_date="2009-02-06", **settings)
    assert counts == counts_of(lines_out=7, quarantined=1, not_records=0) and reasons == ["wrong_type:bytes_sent"]
    assert [(r.timestamp, r.service, r.host, r.client_ip, r.status_code, r.level, r.response_time_ms, r.method,
             r.endpoint, r.bytes_sent) for r in records] == [
        # the request's own accept time (milliseconds) wins over the syslog header's; its backend is the service
        (utc(2009, 2, 6, 12, 14, 14, 655000), "static", "localhost", "10.0.1.2", 200, "INFO", 109.0, "GET",
         "/index.html", 2750),
        (utc(2009, 2, 6, 12, 14, 15, 1000), "app", "localhost", "10.0.1.3", 503, "ERROR", 5003.0, "POST",
         "/api/orders", 212),
        # an event, no request: the syslog fields only
        (utc(2009, 2, 6, 12, 14, 16), "haproxy", "localhost", None, None, None, None, None, None, None),
        (utc(2009, 2, 6, 12, 14, 18), "http-in", "localhost", "10.0.1.5", 400, "WARN", 2.0, None, None, 187),
        (utc(2009, 2, 6, 12, 14, 19), "app", "localhost", "10.0.1.6", None, None, 1500.0, "GET", "/slow", 0),
        (utc(2009, 2, 6, 12, 14, 20), "static", "localhost", "2001:db8::1", 200, "INFO", 2.0, "GET", "/b", 10),
        (utc(2009, 2, 6, 12, 14, 21), "static", "localhost", "10.0.1.7", 200, "INFO", 109.0, "GET", "/c", 2750),
    ]
    assert records[2].message.startswith("Server app/srv2 is DOWN")
    requests = {key[0]: (row.requests, row.errors_5xx) for key, row in summary.items()}
    assert requests == {"static": (3, 0), "app": (2, 1), "http-in": (1, 0), "haproxy": (1, 0)}


# AWS Application Load Balancer access logs (the AWS documentation's HTTP and HTTPS examples, and
# a request no target answered: -1 for its times, 503, "-" for the target), read by the regex
# docs/log-formats.md gives for them.
ALB = """http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"
https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/api/items?id=3 HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-"
http 2018-07-02T22:23:01.000000Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.40:2900 - -1 -1 -1 503 - 34 366 "POST http://www.example.com:80/api/orders HTTP/1.1" "curl/7.46.0" - - - "Root=1-58337263-36d228ad5d99923122bbe355" "-" "-" 0 2018-07-02T22:23:00.900000Z "forward" "-" "-" "-" "-" "-" "-"
h2 2018-07-02T22:23:02.000000Z app/my-loadbalancer/50dc6c495c0c9188 2a02:c7c:2e4f:1a00:b5a8:5c5b:e4ba:f215:50718 10.0.0.1:80 0.001 0.002 0.000 200 200 20 100 "GET https://www.example.com:443/v6 HTTP/2.0" "Mozilla/5.0 {long} \\"quoted\\"" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337264-36d228ad5d99923122bbe356" "www.example.com" "-" 0 2018-07-02T22:23:01.990000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"
http 2018-07-02T22:23:03.000000Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.41:2950 - -1 -1 -1 400 - 0 272 "- http://1.2.3.4:80- -" "-" - - - "-" "-" "-" - 2018-07-02T22:23:03.000000Z "-" "-" "-" "-" "-" "-" "-"
""".replace("{long}", "x" * 8000)  # a scanner's 8 KB user agent


def test_aws_load_balancer_logs_read_by_the_documented_pattern(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(spark, tmp_path, ALB, "alb.log",
                                                         **documented_profile("# AWS Application Load Balancer"))
    assert counts == counts_of(lines_out=5, quarantined=0, not_records=0)
    assert [(r.timestamp, r.service, r.client_ip, r.status_code, r.response_time_ms, r.method, r.endpoint,
             r.bytes_sent, r.trace_id) for r in records] == [
        (utc(2018, 7, 2, 22, 23, 0, 186641), "my-loadbalancer", "192.168.131.39", 200, 1.0, "GET", "/", 366,
         "Root=1-58337262-36d228ad5d99923122bbe354"),
        (utc(2018, 7, 2, 22, 23, 0, 186641), "my-loadbalancer", "192.168.131.39", 200, 48.0, "GET", "/api/items", 57,
         "Root=1-58337281-1d84f3d73c47ec4e58577259"),
        # no target answered: no latency (its -1 is none), the load balancer's 503
        (utc(2018, 7, 2, 22, 23, 1), "my-loadbalancer", "192.168.131.40", 503, None, "POST", "/api/orders", 366,
         "Root=1-58337263-36d228ad5d99923122bbe355"),
        (utc(2018, 7, 2, 22, 23, 2), "my-loadbalancer", "2a02:c7c:2e4f:1a00:b5a8:5c5b:e4ba:f215", 200, 2.0, "GET",
         "/v6", 100, "Root=1-58337264-36d228ad5d99923122bbe356"),
        # a request the balancer could not read: no method, path or trace
        (utc(2018, 7, 2, 22, 23, 3), "my-loadbalancer", "192.168.131.41", 400, None, None, None, 272, None),
    ]


# A program's own log files, one line of each ecosystem the `application` format reads without a
# pattern (loghub's Hadoop, Spark, ZooKeeper and HDFS lines as they are), a Java stack trace and a
# Python traceback after their entries, and lines no time starts.
APPLICATION = """2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster
17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]
2015-07-29 17:41:44,747 - WARN  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200
081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating
2026-11-30 10:00:00,123 - payment - ERROR - card declined
2026-11-30 10:00:00,500 ERROR [main] c.e.Payment: payment failed
java.lang.IllegalStateException: boom
\tat com.example.Payment.charge(Payment.java:42)
Caused by: java.io.IOException: refused
\t... 12 more

2026/11/30 10:00:01 http: TLS handshake error from 10.0.0.1:5555: EOF
2026-11-30T10:00:02.000Z\terror\tserver/main.go:12\tfailed to connect
Traceback (most recent call last):
  File "app.py", line 3, in <module>
ValueError: bad
30-Nov-2026 10:00:03.123 SEVERE [main] org.apache.catalina.startup.Catalina.start Server startup failed
[Mon Nov 30 10:00:04.123456 2026] [core:error] [pid 1234:tid 5678] AH00126: Invalid URI in request
2026/11/30 10:00:05 [warn] 812#812: *1 an upstream response is buffered to a temporary file
[2026-11-30 10:00:06,123] INFO [KafkaServer id=0] started (kafka.server.KafkaServer)
E, [2026-11-30T10:00:07.123456 #1234] ERROR -- : boom
[2026-11-30T10:00:08,123][WARN ][o.e.c.r.a.DiskThresholdMonitor] [node-1] high disk watermark exceeded
2026-11-30 10:00:09.123 UTC [1234] LOG:  statement: SELECT 1
2026-11-30T10:00:10.123456Z 0 [Warning] [MY-010068] [Server] CA certificate ca.pem is self signed.
2026-11-30T11:00:11.123+01:00  INFO 12345 --- [main] c.e.d.DemoApplication : Started
2026-11-30 10:00:12.123 +01:00 [INF] Starting web host
2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505
2026/11/30 10:00:13 Critical path computed
1796032814.5 cache warmed
2026-11-31 10:00:14 ERROR no such day
ERROR:root:a line without a time
"""


def test_application_logs_of_every_layout_read_with_time_level_and_message(spark, tmp_path):
    counts, reasons, records, summary, _ = ingest_sample(spark, tmp_path, APPLICATION, "app.log",
                                                         input_format="application", service="app")
    # the stack trace's four lines, the traceback's three and the blank line are not records
    assert counts == counts_of(lines_out=21, quarantined=2, not_records=8)
    assert reasons == ["bad_timestamp", "unparseable:application"]
    assert [(r.timestamp, r.level, r.message) for r in records] == [
        (utc(2008, 11, 9, 20, 36, 15), "INFO", "148 dfs.DataNode$PacketResponder: PacketResponder 1 for block "
                                               "blk_38865049064139660 terminating"),  # what precedes the level stays
        (utc(2015, 7, 29, 17, 41, 44, 747000), "WARN", "[QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection"
                                                       "@774] - Notification time out: 3200"),
        (utc(2015, 10, 18, 18, 1, 47, 978000), "INFO", "[main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
                                                       "Created MRAppMaster"),
        (utc(2016, 9, 28, 4, 30, 30), "INFO", "CBS    Loaded Servicing Stack v6.1.7601.23505"),
        (utc(2017, 6, 9, 20, 10, 40), "INFO", "executor.CoarseGrainedExecutorBackend: Registered signal handlers "
                                              "for [TERM, HUP, INT]"),
        (utc(2026, 11, 30, 9, 0, 12, 123000), "INFO", "Starting web host"),  # +01:00
        (utc(2026, 11, 30, 10, 0, 0, 123000), "ERROR", "payment - card declined"),
        (utc(2026, 11, 30, 10, 0, 0, 500000), "ERROR", "[main] c.e.Payment: payment failed"),
        # Go's log says no level ("error" inside the message is none)
        (utc(2026, 11, 30, 10, 0, 1), None, "http: TLS handshake error from 10.0.0.1:5555: EOF"),
        (utc(2026, 11, 30, 10, 0, 2), "ERROR", "server/main.go:12\tfailed to connect"),
        (utc(2026, 11, 30, 10, 0, 3, 123000), "ERROR", "[main] org.apache.catalina.startup.Catalina.start Server "
                                                       "startup failed"),
        (utc(2026, 11, 30, 10, 0, 4, 123456), "ERROR", "[pid 1234:tid 5678] AH00126: Invalid URI in request"),
        (utc(2026, 11, 30, 10, 0, 5), "WARN", "812#812: *1 an upstream response is buffered to a temporary file"),
        (utc(2026, 11, 30, 10, 0, 6, 123000), "INFO", "[KafkaServer id=0] started (kafka.server.KafkaServer)"),
        (utc(2026, 11, 30, 10, 0, 7, 123456), "ERROR", "boom"),
        (utc(2026, 11, 30, 10, 0, 8, 123000), "WARN", "[o.e.c.r.a.DiskThresholdMonitor] [node-1] high disk "
                                                      "watermark exceeded"),
        (utc(2026, 11, 30, 10, 0, 9, 123000), "INFO", "[1234] statement: SELECT 1"),
        (utc(2026, 11, 30, 10, 0, 10, 123456), "WARN", "0 [MY-010068] [Server] CA certificate ca.pem is self signed."),
        (utc(2026, 11, 30, 10, 0, 11, 123000), "INFO", "12345 --- [main] c.e.d.DemoApplication : Started"),  # +01:00
        (utc(2026, 11, 30, 10, 0, 13), None, "Critical path computed"),  # a sentence, no level
        (utc(2026, 11, 30, 10, 0, 14, 500000), None, "cache warmed"),  # an epoch in seconds
    ]
    assert {r.service for r in records} == {"app"}
    failures = {key: row.errors_5xx for key, row in summary.items()}  # failures by level: ERROR and FATAL
    assert failures == {("app", "prod"): 6}


@pytest.mark.parametrize("rest,level", [
    ("ERROR [main] c.e.A: x", "ERROR"), ("  WARN 1 --- [main] c.e.A : x", "WARN"), ("error: bad", "ERROR"),
    ("warning\tslow", "WARN"), ("[Warning] x", "WARN"), ("[WARN ][o.e.A] x", "WARN"), ("[proxy:error] x", "ERROR"),
    ("<crit> x", "FATAL"), ("- app - CRITICAL - x", "FATAL"), ("148 FATAL dfs.A: x", "FATAL"), ("[ERR] x", "ERROR"),
    ("[alert] x", "FATAL"), ("ALERT sent to ops", None), ("Alert sent to ops", None), ("Error connecting", None),
    ("info about the job", None), ("ERRORS: 0", None), ("org.ERROR.Handler ready", None),
    ("x" * 101 + " ERROR late", None),  # only the first 100 characters after the time say the level
])
def test_application_level_read_near_the_start_of_the_line(spark, tmp_path, rest, level):
    parsed = ingest.parse(lines_of(spark, tmp_path, f"2026-11-30 10:00:00,123 {rest}\n"),
                          ingest.IngestSettings(input_format="application"))
    assert [(r.level, r.reason) for r in parsed.collect()] == [(level, None)]


@pytest.mark.parametrize("line,timestamp,level,message", [
    # Monolog (Laravel, Symfony): channel.LEVEL
    ("[2026-11-30 10:00:00] production.ERROR: Call to undefined method", utc(2026, 11, 30, 10), "ERROR",
     "Call to undefined method"),
    # Apache 2.4 with mod_php: an empty module
    ("[Mon Nov 30 10:00:00.123456 2026] [:error] [pid 1234] PHP Fatal error: boom", utc(2026, 11, 30, 10, 0, 0, 123456),
     "ERROR", "[pid 1234] PHP Fatal error: boom"),
    # a colon after the time: Celery, Python's %(asctime)s:%(levelname)s, Jetty 9 and 10
    ("[2026-11-30 10:00:00,123: ERROR/MainProcess] consumer: Cannot connect", utc(2026, 11, 30, 10, 0, 0, 123000),
     "ERROR", "consumer: Cannot connect"),
    ("2026-11-30 10:00:00,123:ERROR:root:boom", utc(2026, 11, 30, 10, 0, 0, 123000), "ERROR", "root:boom"),
    ("2026-11-30 10:00:00.123:WARN :oejs.HttpChannel:qtp1-2: /favicon.ico", utc(2026, 11, 30, 10, 0, 0, 123000),
     "WARN", "oejs.HttpChannel:qtp1-2: /favicon.ico"),
    # PostgreSQL's zone abbreviation, logback's two-digit offset
    ('2026-11-30 10:00:09.123 CET [1234] ERROR:  relation "x" does not exist', utc(2026, 11, 30, 9, 0, 9, 123000),
     "ERROR", '[1234] relation "x" does not exist'),
    ("2026-11-30 10:00:09.123 EST [1234] LOG:  checkpoint", utc(2026, 11, 30, 15, 0, 9, 123000), "INFO",
     "[1234] checkpoint"),
    ("2026-11-30T10:00:00.123+01 INFO started", utc(2026, 11, 30, 9, 0, 0, 123000), "INFO", "started"),
    ("2026-11-30 10:00:00,123 ERROR [1] log4net - thing", utc(2026, 11, 30, 10, 0, 0, 123000), "ERROR",
     "[1] log4net - thing"),  # a level with a [1] after it is no zone
    # the level before the time (Cassandra)
    ("ERROR [ReadStage-2] 2026-11-30 10:00:00,123 CassandraDaemon.java:244 - boom",
     utc(2026, 11, 30, 10, 0, 0, 123000), "ERROR", "CassandraDaemon.java:244 - boom"),
    # a level past the first words: the start of the message stays
    ("2026/11/30 10:00:01 request failed: ERROR 1045 (28000): Access denied", utc(2026, 11, 30, 10, 0, 1), "ERROR",
     "request failed: 1045 (28000): Access denied"),
])
def test_application_lines_of_more_ecosystems(spark, tmp_path, line, timestamp, level, message):
    parsed = ingest.parse(lines_of(spark, tmp_path, line + "\n"), ingest.IngestSettings(input_format="application"))
    assert [(r.timestamp, r.level, r.message, r.reason) for r in parsed.collect()] == [
        (timestamp, level, message, None)]


@pytest.mark.parametrize("line,continues", [
    ("java.lang.IllegalStateException: boom", True), ("\tat com.example.A.b(A.java:1)", True),
    ("Caused by: java.io.IOException: refused", True), ("ValueError: bad", True), ("main.main()", True),
    ("github.com/gin-gonic/gin.(*Context).Next(...)", True), ("panic({0x45a7a0?, 0x4a5cd8?})", True),
    ("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0]", True), ("#0 /var/www/Kernel.php(54): foo()", True),
    ("--- End of stack trace from previous location ---", True),
    ("Error connecting to database, retrying", False), ("ERROR:root:no time", False), ("just some text", False),
])
def test_application_stack_trace_lines_are_not_records_and_other_timeless_lines_quarantined(spark, tmp_path, line,
                                                                                             continues):
    lines = lines_of(spark, tmp_path, line + "\n")
    settings = ingest.IngestSettings(input_format="application")
    assert ingest.line_counts(lines, settings) == (1, 1 if continues else 0)
    assert [r.reason for r in ingest.parse(lines, settings).collect()] == ([] if continues else
                                                                          ["unparseable:application"])


def test_application_klog_and_logcat_take_their_letter_and_a_year(spark, tmp_path):
    text = ("E1231 23:59:59.123456       1 reflector.go:138] Failed to watch *v1.Pod: unknown\n"
            "I0101 00:00:01.000000    4242 server.go:12] Error count 0\n"
            "01-01 00:00:02.811  1702  2395 W WindowManager: Slow operation\n")
    lines = lines_of(spark, tmp_path, text)
    parsed = ingest.parse(lines, ingest.IngestSettings(input_format="application", syslog_end_date="2027-01-01"))
    assert [(r.timestamp, r.level, r.message, r.reason) for r in parsed.collect()] == [
        (utc(2026, 12, 31, 23, 59, 59, 123456), "ERROR", "Failed to watch *v1.Pod: unknown", None),
        # the letter is the level, and the message is all after the layout
        (utc(2027, 1, 1, 0, 0, 1), "INFO", "Error count 0", None),
        (utc(2027, 1, 1, 0, 0, 2, 811000), "WARN", "WindowManager: Slow operation", None)]


def test_application_messages_read_by_the_documented_pattern_give_requests(spark, tmp_path):
    settings = documented_profile("# Application log, read by the format")
    assert settings["input_format"] == "application"
    text = ("2026-11-30 10:00:00,010 INFO [http-nio-8080-exec-1] c.e.Api: GET /api/orders 200 took 35 ms\n"
            "2026-11-30 10:00:00,020 INFO [http-nio-8080-exec-2] c.e.Api: POST /api/orders 503 took 1250 ms\n"
            "2026-11-30 10:00:01,000 INFO [main] c.e.Cache: cache warmed\n")
    counts, reasons, records, summary, _ = ingest_sample(spark, tmp_path, text, "api.log", **settings)
    assert counts == counts_of(lines_out=3, quarantined=0, not_records=0)
    assert [(r.level, r.method, r.endpoint, r.status_code, r.response_time_ms) for r in records] == [
        ("INFO", "GET", "/api/orders", 200, 35.0),
        ("ERROR", "POST", "/api/orders", 503, 1250.0),  # the status code's level
        ("INFO", None, None, None, None)]  # an event: the line's own fields only


def test_a_parsed_line_is_read_once_by_the_write(spark, tmp_path):
    """Spark pushes a filter down through projections by copying the expressions it reads: a
    filter on `reason` held the line's regex once more for every field it captures."""
    lines = lines_of(spark, tmp_path, "2026-11-30 10:00:00,123 ERROR x\n")
    for fmt in ("application", "apache_combined"):
        parsed = ingest.parse(lines, ingest.IngestSettings(input_format=fmt))
        regexes = lambda frame: frame._jdf.queryExecution().executedPlan().toString().count("^(?s:.*?)")  # noqa: E731
        assert regexes(ingest.lines_by_outcome(parsed)[0]) == regexes(parsed)


def test_application_lines_in_a_container_without_a_time_take_the_runtimes(spark, tmp_path):
    text = ("2026-11-30T10:00:00.250000000Z ERROR payment declined\n"
            "2026-11-30T10:00:01.000000000Z 2026-11-30 09:59:59,900 WARN [main] c.e.Payment: slow\n"
            "2026-11-30T10:00:02.000000000Z \tat com.example.Payment.charge(Payment.java:42)\n"
            "2026-11-30T10:00:03.000000000Z 2026-11-31 10:00:00 ERROR no such day\n")
    counts, quarantine, records = ingest_container_sample(spark, tmp_path, "payment.log", text, service="payment",
                                                          input_format="application", container_log="timestamped")
    assert (counts["lines_in"], counts["lines_out"], counts["quarantined"], counts["not_records"]) == (4, 2, 1, 1)
    assert [r.reason for r in quarantine] == ["bad_timestamp"]  # a time of its own that is none: not the runtime's
    assert [(r.timestamp, r.level, r.message) for r in records] == [
        (utc(2026, 11, 30, 9, 59, 59, 900000), "WARN", "[main] c.e.Payment: slow"),  # its own time wins
        (utc(2026, 11, 30, 10, 0, 0, 250000), "ERROR", "payment declined")]
