"""Real logs in: every input format by name (`FORMATS`), and what the ingest stage does with
what they read.

Each reader turns raw lines into canonical records (schema.LOG_SCHEMA) plus a `reason` for
lines it cannot parse; `lines_by_outcome` then writes the records as the same JSON lines the
generator writes, so stages 02-04 run unchanged on real data. Web server access logs (presets,
or the server's own Apache LogFormat / nginx log_format) are read here; JSON lines and logfmt
in `structured`, lines read by a regex with named groups in `regex_format`, a host's system
log in `syslog_format`, a program's own log file in `application_format`, CSV in `csv_format`;
a container runtime's wrapper comes off first, in `container`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import pandas as pd

from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window as W, functions as F, types as T

from loganalysis.core.names import NAME_FIELDS, unusable_name
from loganalysis.core.schema import CLEAN, LOG_FIELDS, OUTCOME, QUARANTINED, SERIES_KEYS
from loganalysis.core.storage import path_exists
from loganalysis.sources import (application_format, container, csv_format, logformat, regex_format, structured,
                                 syslog_format)
from loganalysis.sources.fields import (FILE_MODIFIED, level_for_status, line_columns, matched, nth,
                                        parse_timestamp, record_columns, with_captures)


def read_lines(spark: SparkSession, path: str, glob: str | None = None) -> DataFrame:
    """Every line under a path (file, folder tree or URI) with the file it came from and when
    that was last modified (a BSD syslog time's year is read from it)."""
    reader = spark.read.option("recursiveFileLookup", "true")
    if glob:
        reader = reader.option("pathGlobFilter", glob)
    return reader.text(path).select(F.col("value").alias("raw_line"),
                                    F.col("_metadata.file_path").alias("source_file"),
                                    F.col("_metadata.file_modification_time").alias(FILE_MODIFIED))


def input_lines(spark: SparkSession, settings: "IngestSettings") -> DataFrame:
    """The input's lines as its format reads them: a container's lines out of their runtime's
    wrapper (`container_log`), every other line as it is."""
    lines = read_lines(spark, settings.input_path, settings.file_glob or None)
    return container.unwrapped(lines, settings.container_log) if settings.container_log else lines


def parse_access_log(lines: DataFrame, fmt: str, service: str, environment: str,
                     service_from: str = "constant", time_unit: str = "us", log_format: str = "") -> DataFrame:
    """Web server access log lines to records.

    `fmt`: a preset (apache_common, apache_combined, combined_with_time, nginx_combined_with_time)
    or `apache` / `nginx` with `log_format`, the server's own format string. `service_from`:
    constant, vhost (the format's %v / $host, else an optional leading `host[:port] `) or
    path_prefix (the first path segment). `time_unit` is only read by combined_with_time.
    """
    compiled = logformat.compile_format(fmt, log_format, time_unit)
    if service_from == "vhost":
        compiled = logformat.with_optional_vhost(compiled)
    return access_records(lines, compiled, f"unparseable:{fmt}", service, environment, service_from)


def access_records(lines: DataFrame, compiled: logformat.CompiledFormat, unparseable: str, service: str,
                   environment: str, service_from: str = "constant") -> DataFrame:
    """Lines read with a compiled access-log layout into canonical records (+ reason)."""
    lines, capture = with_captures(lines, compiled.pattern, [*compiled.groups.values(), *compiled.time_groups,
                                                             *[g for g, _, _ in compiled.durations]])

    def group(role: str) -> Column:
        if role not in compiled.groups:
            return F.lit(None).cast("string")
        return capture(compiled.groups[role])

    request = F.split(group("request"), " ")
    uri = F.coalesce(group("endpoint"), group("request_uri"), nth(request, 2))
    path = nth(F.split(uri, r"\?"), 1)
    time_text = F.concat_ws(" ", *[capture(g) for g in compiled.time_groups])
    timestamp = parse_timestamp(time_text, compiled.time_format)
    status = group("status_code").try_cast("int")
    service_col = {
        "constant": F.lit(service),
        "vhost": F.nullif(group("vhost"), F.lit("")),
        "path_prefix": F.coalesce(F.nullif(nth(F.split(path, "/"), 2), F.lit("")), F.lit(service)),
        "container": F.coalesce(container.container_name(F.col("source_file")), F.lit(service)),
    }[service_from]
    durations = [_seconds_list_total(capture(g)) * unit if is_list else capture(g).try_cast("double") * unit
                 for g, unit, is_list in compiled.durations]
    size = F.coalesce(group("bytes_sent"), group("bytes_total"))
    reason = (F.when(~matched(), F.lit(unparseable))
              .when(timestamp.isNull(), F.lit("bad_timestamp")))
    return lines.select(
        *record_columns(timestamp=timestamp, service=service_col, environment=F.lit(environment),
                        host=group("host"), level=level_for_status(status), status_code=status,
                        response_time_ms=F.coalesce(*durations, F.lit(None)),
                        method=F.coalesce(group("method"), nth(request, 1)), endpoint=path,
                        client_ip=group("client_ip"), user_id=F.nullif(group("user_id"), F.lit("-")),
                        message=group("request"), trace_id=F.nullif(group("trace_id"), F.lit("-")),
                        bytes_sent=F.when(size == "-", F.lit(0)).otherwise(size.try_cast("long"))),
        reason.alias("reason"), *line_columns(lines),
    )


def _seconds_list_total(times: Column) -> Column:
    """nginx's "0.010, 0.250 : 0.003" (one time per upstream tried) summed; "-" is null."""
    parts = F.split(times, r"\s*[,:]\s*")
    return F.when(times != "-", F.aggregate(parts, F.lit(0.0), lambda total, part: total + part.try_cast("double")))


# Microseconds kept: to_json's default writes milliseconds, which would cut a log's own
# sub-millisecond times (Apache %{usec_frac}t, Python's %f) short.
JSON_TIMESTAMP = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"}


def lines_by_outcome(parsed: DataFrame) -> tuple[DataFrame, Observation]:
    """Every parsed line as one text line for one write, split by `OUTCOME` and partitioned by
    series: a record as the generator's JSON line, a line to quarantine as JSON of its reason,
    text and file (`read_quarantined`; its series null, so no untrusted value names a folder).
    Counted as the writer takes them: `lines` (records), `quarantined` and, under each canonical
    field's name, the records that carry it (a mapping that finds nothing shows as 0).

    One write, so each line is parsed once; and no filter on `reason`: Spark pushes a filter
    down through projections by copying the expressions it reads, and a reason reads the whole
    parse (docs/performance.md, 2026-12-08: the line's regex once per field it captures)."""
    seen = Observation("lines_written")
    is_record = F.col("reason").isNull()
    counted = parsed.observe(seen, F.count_if(is_record).alias("lines"), F.count_if(~is_record).alias("quarantined"),
                             *[F.count(F.when(is_record, F.col(name))).alias(name) for name in LOG_FIELDS])
    text = F.when(is_record, F.to_json(F.struct(*LOG_FIELDS), JSON_TIMESTAMP)).otherwise(
        F.to_json(F.struct(*QUARANTINE_FIELDS)))
    return counted.select(text.alias("value"), *[F.when(is_record, F.col(key)).alias(key) for key in SERIES_KEYS],
                          F.when(is_record, F.lit(CLEAN)).otherwise(F.lit(QUARANTINED)).alias(OUTCOME)), seen


QUARANTINE_FIELDS = ("reason", "raw_line", "source_file")
_QUARANTINE_SCHEMA = T.StructType([T.StructField(name, T.StringType()) for name in QUARANTINE_FIELDS])


def read_quarantined(spark: SparkSession, folder: str) -> DataFrame:
    """The quarantined lines `lines_by_outcome` wrote under `folder` (none: no folder)."""
    if not path_exists(spark, folder):
        return spark.createDataFrame([], _QUARANTINE_SCHEMA)
    return spark.read.schema(_QUARANTINE_SCHEMA).json(folder).select(*QUARANTINE_FIELDS)


def field_coverage(fields_present: dict[str, int], records: int) -> pd.DataFrame:
    """Each canonical field with the records that carry it and their share of all records."""
    frame = pd.DataFrame({"field": list(fields_present), "records": list(fields_present.values())})
    return frame.assign(share=frame["records"] / records if records else 0.0)


EXAMPLE_CHARS = 300  # a quarantined line can be a 16 KiB container line: the page shows its start


def quarantined_with_examples(quarantined: DataFrame) -> DataFrame:
    """Quarantined lines per reason, most first, each with its shortest line as an example
    (cut at EXAMPLE_CHARS): what went wrong and what it looks like, one row a reason."""
    shortest = F.min_by("raw_line", F.length("raw_line"))
    example = F.when(F.length(shortest) > EXAMPLE_CHARS,
                     F.concat(F.substring(shortest, 1, EXAMPLE_CHARS), F.lit("…"))).otherwise(shortest)
    return (quarantined.groupBy("reason").agg(F.count(F.lit(1)).alias("lines"), example.alias("example"))
            .orderBy(F.desc("lines"), "reason"))


def label_windows(labels: dict, environment: str) -> list[tuple]:
    """NAB-style labels {"<folder>/<name>.csv": [[start, end], ...]} as ground-truth rows, one
    per window, on the series named after the file (as csv_format.parse_csv_series names it)."""
    from datetime import datetime

    rows = []
    for key, windows in sorted(labels.items()):
        service = key.rsplit("/", 1)[-1].removesuffix(".csv")
        for start, end in windows:
            rows.append((len(rows) + 1, "labelled_window", service, environment,
                         datetime.fromisoformat(start), datetime.fromisoformat(end), None))
    return rows


def scoring_start(records: DataFrame, probation_share: float, probation_max_rows: int) -> DataFrame:
    """Per series, the first timestamp after the warm-up ("probation") rows a benchmark leaves
    unscored: the first min(share x rows, max_rows) rows."""
    # Row numbers within each series in time order, and the series' size from the same partition.
    ordered = W.partitionBy(*SERIES_KEYS).orderBy("timestamp")
    whole = W.partitionBy(*SERIES_KEYS).rowsBetween(W.unboundedPreceding, W.unboundedFollowing)
    probation = F.least(F.floor(F.count(F.lit(1)).over(whole) * probation_share), F.lit(probation_max_rows))
    return (
        records.select(*SERIES_KEYS, "timestamp", (F.row_number().over(ordered) - 1).alias("row"),
                       probation.alias("probation_rows"))
        .where(F.col("row") == F.col("probation_rows"))
        .select(*SERIES_KEYS, F.col("timestamp").alias("start"))
    )


@dataclass(frozen=True)
class IngestSettings:
    """How stage 01 reads real logs. Field names and defaults are the ingest notebook's
    parameters (a test holds the two equal), so this is the one place the defaults live."""

    input_path: str = "../../shared/data/access_logs/apache_combined_10k.log"
    input_format: str = "apache_combined"
    file_glob: str = ""
    container_log: str = ""
    service: str = "web"
    service_from: str = "constant"
    environment: str = "prod"
    time_unit: str = "us"
    log_format: str = ""
    pattern: str = ""
    line_filter: str = ""
    field_map: dict = field(default_factory=dict)
    column_map: dict = field(default_factory=dict)
    label_column: str = ""
    timestamp_format: str = "auto"
    duration_unit: str = "ms"
    fill: dict = field(default_factory=dict)
    syslog_end_date: str = ""
    labels_path: str = ""
    probation_share: float = 0.15
    probation_max_rows: int = 750


@dataclass(frozen=True)
class InputFormat:
    """A way to read lines into canonical records. `is_not_record(lines, settings)` marks the
    lines that are neither records nor broken (a CSV header, a line the regex format's
    line_filter leaves out): the parser leaves them out and the reconciliation counts them apart."""

    parse: Callable[[DataFrame, IngestSettings], DataFrame]
    description: str
    is_not_record: Callable[[DataFrame, IngestSettings], Column] | None = None


def _access_log(fmt: str, lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return parse_access_log(lines, fmt, settings.service, settings.environment, settings.service_from,
                            settings.time_unit, settings.log_format)


def _json_lines(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return structured.parse_json_lines(lines, settings.field_map, settings.timestamp_format,
                                       settings.duration_unit, settings.fill, settings.service,
                                       settings.environment, settings.service_from)


def _logfmt(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return structured.parse_logfmt(lines, settings.field_map, settings.timestamp_format, settings.duration_unit,
                                   settings.fill, settings.service, settings.environment, settings.service_from)


def _csv_series(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return csv_format.parse_csv_series(lines, settings.environment)


def _regex(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return regex_format.parse_regex(lines, settings.pattern, settings.line_filter, settings.timestamp_format,
                                    settings.duration_unit, settings.service, settings.environment,
                                    settings.service_from, settings.fill)


def _syslog(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return syslog_format.parse_syslog(lines, settings.service, settings.environment, settings.service_from,
                                      settings.fill, settings.syslog_end_date, settings.pattern,
                                      settings.timestamp_format, settings.duration_unit)


def _syslog_no_entries(lines: DataFrame, settings: IngestSettings) -> Column:
    return syslog_format.is_no_entry(lines)


def _application(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return application_format.parse_application_log(lines, settings.service, settings.environment,
                                                    settings.service_from, settings.fill, settings.syslog_end_date,
                                                    settings.pattern, settings.timestamp_format,
                                                    settings.duration_unit)


def _stack_trace_lines(lines: DataFrame, settings: IngestSettings) -> Column:
    return application_format.is_continuation(lines)


def _csv(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return csv_format.parse_csv(lines, settings.column_map, settings.timestamp_format, settings.duration_unit,
                                settings.service, settings.environment, settings.service_from, settings.fill,
                                settings.label_column)


def _csv_header_lines(lines: DataFrame, settings: IngestSettings) -> Column:
    columns = csv_format.header_columns(settings.column_map, settings.label_column)
    return F.col("raw_line").isin(csv_format.csv_header(lines, columns)[1])


def _series_header_lines(lines: DataFrame, settings: IngestSettings) -> Column:
    return csv_format.is_csv_header(F.col("raw_line"))


def _filtered_out(lines: DataFrame, settings: IngestSettings) -> Column:
    return ~regex_format.kept_by_line_filter(lines, settings.line_filter)


# Every input format by name: the ingest stage and the parameter check both look here, so a new
# format is one parser plus one entry.
FORMATS: dict[str, InputFormat] = {
    "apache_common": InputFormat(partial(_access_log, "apache_common"), "Apache/Nginx common log format"),
    "apache_combined": InputFormat(partial(_access_log, "apache_combined"), "Apache/Nginx combined log format"),
    "combined_with_time": InputFormat(partial(_access_log, "combined_with_time"),
                                      "combined + Apache %D (us) or %T (s)"),
    "nginx_combined_with_time": InputFormat(partial(_access_log, "nginx_combined_with_time"),
                                            "combined + nginx $request_time (s)"),
    "apache": InputFormat(partial(_access_log, "apache"), "Apache access log in its own LogFormat (log_format)"),
    "nginx": InputFormat(partial(_access_log, "nginx"), "nginx access log in its own log_format (log_format)"),
    "regex": InputFormat(_regex, "lines read by a regex whose named groups are canonical fields (pattern, "
                                 "line_filter)", _filtered_out),
    "syslog": InputFormat(_syslog, "a host's system log: RFC 3164 (BSD), RFC 5424, rsyslog's and journalctl's "
                                   "ISO times", _syslog_no_entries),
    "application": InputFormat(_application, "a program's own log file (log4j, logback, Python, Go, klog, Rails, ...): "
                                             "a time in a common layout, then a level", _stack_trace_lines),
    "json": InputFormat(_json_lines, "JSON lines, fields by field_map or by their common names"),
    "logfmt": InputFormat(_logfmt, "key=value lines (logfmt), fields by field_map or by their common names"),
    "csv": InputFormat(_csv, "CSV with a header, columns mapped by column_map (label_column optional)",
                       _csv_header_lines),
    "csv_series": InputFormat(_csv_series, "timestamp,value files, one service per file", _series_header_lines),
}


def is_blank(line: Column) -> Column:
    """An empty or whitespace-only line: in every format, not a record and not a broken one (a
    file's trailing newline, a bare print())."""
    return line.rlike(r"^\s*$")


def parse(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    """Lines in the settings' format as canonical records, with a reason on lines that fail;
    lines that are not records (`line_counts`: blank lines, and the format's own) are left out."""
    parsed = FORMATS[settings.input_format].parse(lines.where(~is_blank(F.col("raw_line"))), settings)
    if settings.container_log:
        parsed = container.with_wrapper_problems(parsed)
    return parsed.transform(with_name_checks)


def with_name_checks(parsed: DataFrame) -> DataFrame:
    """A parsed line whose service or environment no folder can carry (too long, a '/', a
    control character) is quarantined as `bad_name:<field>`: raw logs are partitioned by them."""
    reason = F.coalesce(F.col("reason"), *[F.when(unusable_name(F.col(name)), F.lit(f"bad_name:{name}"))
                                           for name in NAME_FIELDS])
    return parsed.withColumn("reason", reason)


def line_counts(lines: DataFrame, settings: IngestSettings) -> tuple[int, int]:
    """(lines in, lines that are neither records nor broken: blank lines, CSV header lines, lines
    the line_filter leaves out, parts of a container's long line joined to its last), in one
    pass. Lines in = records + quarantined + not records."""
    is_not_record = FORMATS[settings.input_format].is_not_record
    not_record = is_blank(F.col("raw_line"))
    if is_not_record:
        not_record = not_record | F.coalesce(is_not_record(lines, settings), F.lit(False))
    parts = F.sum(container.JOINED_PARTS) if container.JOINED_PARTS in lines.columns else F.lit(0)
    row = lines.agg(F.count(F.lit(1)).alias("lines"), F.count_if(not_record).alias("not_records"),
                    F.coalesce(parts, F.lit(0)).alias("parts")).first()
    return row["lines"] + row["parts"], row["not_records"] + row["parts"]
