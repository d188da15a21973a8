"""Real logs in: access logs, JSON lines with a field mapping, `timestamp,value` series.

Each reader turns raw lines into canonical records (schema.LOG_SCHEMA) plus a `reason` for
lines it cannot parse; `canonical_lines` then writes the records as the same JSON lines the
generator writes, so stages 02-04 run unchanged on real data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from pyspark.sql import Column, DataFrame, SparkSession, functions as F, types as T

from loganalysis.core.schema import LOG_FIELDS, LOG_SCHEMA

# %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"] [time]; optional leading %v[:%p]
_VHOST = r"(?:(\S+?)(?::\d+)? )?"
_COMMON = r'(\S+) \S+ (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\S+)'
_AGENTS = r' "([^"]*)" "([^"]*)"'
_ACCESS_PATTERNS = {
    "apache_common": _COMMON,
    "apache_combined": _COMMON + _AGENTS,
    "combined_with_time": _COMMON + _AGENTS + r" (\d+(?:\.\d+)?)",          # Apache %D or %T
    "nginx_combined_with_time": _COMMON + _AGENTS + r" (\d+(?:\.\d+)?)",    # $request_time
}
# Apache %D is microseconds; %T and nginx $request_time are seconds.
TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
ACCESS_TIME_FORMAT = "dd/MMM/yyyy:HH:mm:ss Z"
# Capture groups of the patterns above, the vhost group (possibly empty) first.
_GROUPS = {"vhost": 1, "client": 2, "user": 3, "time": 4, "request": 5, "status": 6, "bytes": 7,
           "referer": 8, "agent": 9, "response_time": 10}


def _nth(array: Column, position: int) -> Column:
    """1-based element, null when the array is shorter (a plain index raises under ANSI mode)."""
    return F.try_element_at(array, F.lit(position))


def read_lines(spark: SparkSession, path: str, glob: str | None = None) -> DataFrame:
    """Every line under a path (file, folder tree or URI) with the file it came from."""
    reader = spark.read.option("recursiveFileLookup", "true")
    if glob:
        reader = reader.option("pathGlobFilter", glob)
    return reader.text(path).select(F.col("value").alias("raw_line"),
                                    F.col("_metadata.file_path").alias("source_file"))


def level_for_status(status: Column) -> Column:
    return F.when(status >= 500, "ERROR").when(status >= 400, "WARN").otherwise("INFO")


def _record(**columns: Column) -> list[Column]:
    """Canonical columns in schema order; fields a source lacks are null."""
    return [columns.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in LOG_SCHEMA.fields]


def parse_access_log(lines: DataFrame, fmt: str, service: str, environment: str,
                     service_from: str = "constant", time_unit: str = "us") -> DataFrame:
    """Apache/Nginx access log lines to records; `service_from`: constant, vhost or path_prefix."""
    pattern = "^" + (_VHOST if service_from == "vhost" else "()") + _ACCESS_PATTERNS[fmt] + r"\s*$"
    group = lambda name: F.regexp_extract("raw_line", pattern, _GROUPS[name])  # noqa: E731
    matched = F.col("raw_line").rlike(pattern)
    request = F.split(group("request"), " ")
    path = _nth(F.split(_nth(request, 2), r"\?"), 1)
    timestamp = F.try_to_timestamp(group("time"), F.lit(ACCESS_TIME_FORMAT))
    status = group("status").try_cast("int")
    service_col = {
        "constant": F.lit(service),
        "vhost": F.nullif(group("vhost"), F.lit("")),
        "path_prefix": F.coalesce(F.nullif(_nth(F.split(path, "/"), 2), F.lit("")), F.lit(service)),
    }[service_from]
    response_ms = (group("response_time").try_cast("double") * TIME_UNITS_MS[time_unit]
                   if fmt.endswith("with_time") else F.lit(None))
    reason = (F.when(~matched, F.lit(f"unparseable:{fmt}"))
              .when(timestamp.isNull(), F.lit("bad_timestamp")))
    return lines.select(
        *_record(timestamp=timestamp, service=service_col, environment=F.lit(environment),
                 level=level_for_status(status), status_code=status, response_time_ms=response_ms,
                 method=_nth(request, 1), endpoint=path,
                 client_ip=group("client"), user_id=F.nullif(group("user"), F.lit("-")),
                 message=group("request"),
                 bytes_sent=F.when(group("bytes") == "-", F.lit(0)).otherwise(group("bytes").try_cast("long"))),
        reason.alias("reason"), "raw_line", "source_file",
    )


def parse_timestamp(value: Column, timestamp_format: str) -> Column:
    """'iso' (ISO 8601, offsets honoured), 'epoch_s', 'epoch_ms', or a Java date pattern."""
    if timestamp_format == "iso":
        return value.try_cast(T.TimestampType())
    if timestamp_format == "epoch_s":
        return F.timestamp_micros((value.try_cast("double") * 1_000_000).cast("long"))
    if timestamp_format == "epoch_ms":
        return F.timestamp_millis(value.try_cast("double").cast("long"))
    return F.try_to_timestamp(value, F.lit(timestamp_format))


def parse_json_lines(lines: DataFrame, field_map: dict, timestamp_format: str = "iso",
                     duration_unit: str = "ms", fill: dict | None = None) -> DataFrame:
    """JSON lines whose fields are mapped onto the canonical record.

    `field_map`: source JSON path (`@timestamp`, `http.status`) -> canonical field name.
    `fill`: constants for canonical fields the source lacks (e.g. environment: prod).
    """
    source = {target: F.get_json_object("raw_line", "$." + src if not src.startswith("$") else src)
              for src, target in field_map.items()}
    unknown = set(field_map.values()) - set(LOG_FIELDS)
    if unknown:
        raise ValueError(f"field_map targets {sorted(unknown)} are not canonical fields {LOG_FIELDS}")
    columns = {name: F.coalesce(source[name], F.lit((fill or {}).get(name))) if name in source
               else F.lit((fill or {}).get(name)) for name in LOG_FIELDS}
    timestamp = parse_timestamp(columns["timestamp"], timestamp_format)
    latency = columns["response_time_ms"].try_cast("double") * TIME_UNITS_MS[duration_unit]
    status = columns["status_code"].try_cast("int")
    is_object = F.from_json("raw_line", T.MapType(T.StringType(), T.StringType())).isNotNull()
    reason = (F.when(~is_object, F.lit("malformed_json"))
              .when(columns["timestamp"].isNull(), F.lit("missing_field:timestamp"))
              .when(timestamp.isNull(), F.lit("bad_timestamp")))
    overrides = dict(timestamp=timestamp, response_time_ms=latency, status_code=status,
                     level=F.coalesce(columns["level"], F.when(status.isNotNull(), level_for_status(status))))
    return lines.select(*_record(**{**columns, **overrides}), reason.alias("reason"), "raw_line", "source_file")


def parse_csv_series(lines: DataFrame, environment: str) -> DataFrame:
    """`timestamp,value` files: each file is one service (named after the file), value = latency."""
    parts = F.split("raw_line", ",")
    timestamp = F.trim(_nth(parts, 1)).try_cast(T.TimestampType())
    value = F.trim(_nth(parts, 2)).try_cast("double")
    service = F.regexp_extract("source_file", r"([^/]+)\.csv$", 1)
    reason = (F.when(F.size(parts) != 2, F.lit("unparseable:csv_series"))
              .when(timestamp.isNull(), F.lit("bad_timestamp"))
              .when(value.isNull(), F.lit("wrong_type:value")))
    return (
        lines.where(~is_csv_header(F.col("raw_line")))  # header lines
        .select(*_record(timestamp=timestamp, service=service, environment=F.lit(environment),
                         level=F.lit("INFO"), response_time_ms=value),
                reason.alias("reason"), "raw_line", "source_file")
    )


def is_csv_header(line: Column) -> Column:
    return F.lower(F.trim(line)).startswith("timestamp,")


def canonical_lines(parsed: DataFrame) -> DataFrame:
    """Parsed records as the generator's JSON lines, with the columns to partition by."""
    return (parsed.where(F.col("reason").isNull())
            .select(F.to_json(F.struct(*LOG_FIELDS)).alias("value"), "service", "environment"))


def rejected_lines(parsed: DataFrame) -> DataFrame:
    return parsed.where(F.col("reason").isNotNull()).select("reason", "raw_line", "source_file")


def label_windows(labels: dict, environment: str) -> list[tuple]:
    """NAB-style labels {"<folder>/<name>.csv": [[start, end], ...]} as ground-truth rows, one
    per window, on the series named after the file (as parse_csv_series names it)."""
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
    from pyspark.sql import Window as W

    # Row numbers within each series in time order, and the series' size from the same partition.
    ordered = W.partitionBy("service", "environment").orderBy("timestamp")
    whole = W.partitionBy("service", "environment").rowsBetween(W.unboundedPreceding, W.unboundedFollowing)
    probation = F.least(F.floor(F.count(F.lit(1)).over(whole) * probation_share), F.lit(probation_max_rows))
    return (
        records.withColumn("row", F.row_number().over(ordered) - 1)
        .withColumn("probation_rows", probation)
        .where(F.col("row") == F.col("probation_rows"))
        .select("service", "environment", F.col("timestamp").alias("start"))
    )


@dataclass(frozen=True)
class IngestSettings:
    """How stage 01 reads real logs. Field names and defaults are the ingest notebook's
    parameters (a test holds the two equal), so this is the one place the defaults live."""

    input_path: str = "../../shared/data/access_logs/apache_combined_10k.log"
    input_format: str = "apache_combined"
    file_glob: str = ""
    service: str = "web"
    service_from: str = "constant"
    environment: str = "prod"
    time_unit: str = "us"
    field_map: dict = field(default_factory=dict)
    timestamp_format: str = "iso"
    duration_unit: str = "ms"
    fill: dict = field(default_factory=dict)
    labels_path: str = ""
    probation_share: float = 0.15
    probation_max_rows: int = 750


@dataclass(frozen=True)
class InputFormat:
    """A way to read lines into canonical records; `is_header` marks lines that are neither
    records nor broken (a CSV header), counted apart in the reconciliation."""

    parse: Callable[[DataFrame, IngestSettings], DataFrame]
    description: str
    is_header: Callable[[Column], Column] | None = None


def _access_log(fmt: str, lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return parse_access_log(lines, fmt, settings.service, settings.environment, settings.service_from,
                            settings.time_unit)


def _json_lines(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return parse_json_lines(lines, settings.field_map, settings.timestamp_format, settings.duration_unit,
                            settings.fill)


def _csv_series(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return parse_csv_series(lines, settings.environment)


# Every input format by name: the ingest stage and the parameter check both look here, so a new
# format is one parser plus one entry.
FORMATS: dict[str, InputFormat] = {
    "apache_common": InputFormat(partial(_access_log, "apache_common"), "Apache/Nginx common log format"),
    "apache_combined": InputFormat(partial(_access_log, "apache_combined"), "Apache/Nginx combined log format"),
    "combined_with_time": InputFormat(partial(_access_log, "combined_with_time"),
                                      "combined + Apache %D (us) or %T (s)"),
    "nginx_combined_with_time": InputFormat(partial(_access_log, "nginx_combined_with_time"),
                                            "combined + nginx $request_time (s)"),
    "json": InputFormat(_json_lines, "JSON lines mapped by field_map"),
    "csv_series": InputFormat(_csv_series, "timestamp,value files, one service per file", is_csv_header),
}


def parse(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    """Lines in the settings' format as canonical records, with a reason on lines that fail."""
    return FORMATS[settings.input_format].parse(lines, settings)


def header_lines(lines: DataFrame, input_format: str) -> DataFrame:
    is_header = FORMATS[input_format].is_header
    return lines.where(is_header(F.col("raw_line"))) if is_header else lines.limit(0)
