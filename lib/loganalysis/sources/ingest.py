"""Real logs in: web server access logs (presets, or the server's own Apache LogFormat / nginx
log_format), lines read by a regex with named groups, JSON lines with a field mapping, CSV with
a header and a column mapping, `timestamp,value` series.

Each reader turns raw lines into canonical records (schema.LOG_SCHEMA) plus a `reason` for
lines it cannot parse; `canonical_lines` then writes the records as the same JSON lines the
generator writes, so stages 02-04 run unchanged on real data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial, reduce
from typing import Callable

from pyspark.sql import Column, DataFrame, SparkSession, functions as F, types as T

from loganalysis.core.names import NAME_FIELDS, unusable_name
from loganalysis.core.schema import LOG_FIELDS, LOG_SCHEMA
from loganalysis.sources import logformat
from loganalysis.sources.logformat import ACCESS_TIME_FORMAT, TIME_UNITS_MS  # noqa: F401  (re-exported)


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
    pattern = compiled.pattern

    def group(role: str) -> Column:
        if role not in compiled.groups:
            return F.lit(None).cast("string")
        return F.regexp_extract("raw_line", pattern, compiled.groups[role])

    matched = F.col("raw_line").rlike(pattern)
    request = F.split(group("request"), " ")
    uri = F.coalesce(group("endpoint"), group("request_uri"), _nth(request, 2))
    path = _nth(F.split(uri, r"\?"), 1)
    time_text = F.concat_ws(" ", *[F.regexp_extract("raw_line", pattern, g) for g in compiled.time_groups])
    timestamp = parse_timestamp(time_text, compiled.time_format)
    status = group("status_code").try_cast("int")
    service_col = {
        "constant": F.lit(service),
        "vhost": F.nullif(group("vhost"), F.lit("")),
        "path_prefix": F.coalesce(F.nullif(_nth(F.split(path, "/"), 2), F.lit("")), F.lit(service)),
    }[service_from]
    durations = [_seconds_list_total(F.regexp_extract("raw_line", pattern, g)) * unit if is_list
                 else F.regexp_extract("raw_line", pattern, g).try_cast("double") * unit
                 for g, unit, is_list in compiled.durations]
    size = F.coalesce(group("bytes_sent"), group("bytes_total"))
    reason = (F.when(~matched, F.lit(unparseable))
              .when(timestamp.isNull(), F.lit("bad_timestamp")))
    return lines.select(
        *_record(timestamp=timestamp, service=service_col, environment=F.lit(environment),
                 host=group("host"), level=level_for_status(status), status_code=status,
                 response_time_ms=F.coalesce(*durations, F.lit(None)),
                 method=F.coalesce(group("method"), _nth(request, 1)), endpoint=path,
                 client_ip=group("client_ip"), user_id=F.nullif(group("user_id"), F.lit("-")),
                 message=group("request"), trace_id=F.nullif(group("trace_id"), F.lit("-")),
                 bytes_sent=F.when(size == "-", F.lit(0)).otherwise(size.try_cast("long"))),
        reason.alias("reason"), "raw_line", "source_file",
    )


def _seconds_list_total(times: Column) -> Column:
    """nginx's "0.010, 0.250 : 0.003" (one time per upstream tried) summed; "-" is null."""
    parts = F.split(times, r"\s*[,:]\s*")
    return F.when(times != "-", F.aggregate(parts, F.lit(0.0), lambda total, part: total + part.try_cast("double")))


def parse_timestamp(value: Column, timestamp_format: str) -> Column:
    """'iso' (ISO 8601, offsets honoured), 'epoch_s', 'epoch_ms', 'epoch_us', or a Java date
    pattern (fractions of a second as S: `yyyy-MM-dd HH:mm:ss.SSSSSS`)."""
    if timestamp_format == "iso":
        return value.try_cast(T.TimestampType())
    if timestamp_format == "epoch_s":
        return F.timestamp_micros((value.try_cast("double") * 1_000_000).cast("long"))
    if timestamp_format == "epoch_ms":
        return F.timestamp_millis(value.try_cast("double").cast("long"))
    if timestamp_format == "epoch_us":
        return F.timestamp_micros(value.try_cast("long"))
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


def _service_column(captured: Column | None, service: str, service_from: str) -> Column:
    """A captured service wins; else the file's name up to its first dot (service_from: file),
    else the `service` parameter."""
    if service_from not in ("constant", "file"):
        raise ValueError(f"service_from {service_from!r} is for access logs; regex and csv take constant or file "
                         f"(or a field mapped to service)")
    from_file = F.regexp_extract("source_file", r"([^/.]+)[^/]*$", 1)
    fallback = from_file if service_from == "file" else F.lit(service)
    return fallback if captured is None else F.coalesce(captured, fallback)


def _typed_fields(text: dict[str, Column], timestamp_format: str, duration_unit: str) -> tuple[dict, Column]:
    """Canonical fields read from text columns (absent ones null), and the reason a line with
    them must be quarantined (null when it is fine): a missing or unreadable timestamp, or a
    number that is not one."""
    column = lambda name: text.get(name, F.lit(None).cast("string"))  # noqa: E731
    timestamp = parse_timestamp(column("timestamp"), timestamp_format)
    numbers = {"status_code": column("status_code").try_cast("int"),
               "response_time_ms": column("response_time_ms").try_cast("double") * TIME_UNITS_MS[duration_unit],
               "bytes_sent": column("bytes_sent").try_cast("long")}
    reason = (F.when(column("timestamp").isNull(), F.lit("missing_field:timestamp"))
              .when(timestamp.isNull(), F.lit("bad_timestamp")))
    for name, value in numbers.items():
        reason = reason.when(column(name).isNotNull() & value.isNull(), F.lit(f"wrong_type:{name}"))
    status = numbers["status_code"]
    level = F.coalesce(F.upper(column("level")), F.when(status.isNotNull(), level_for_status(status)))
    return {**text, "timestamp": timestamp, "level": level, **numbers}, reason


def _with_constants(text: dict[str, Column], constants: dict) -> dict[str, Column]:
    """Captured text, empty as null, then constants (`fill`) for what is missing."""
    names = set(text) | {name for name, value in constants.items() if value not in (None, "")}
    return {name: F.coalesce(F.nullif(text[name], F.lit("")), F.lit(constants.get(name)))
            if name in text else F.lit(constants[name]) for name in names}


def regex_fields(pattern: str) -> tuple[str, dict[str, int]]:
    """A regex format's pattern for Spark and its canonical field per group number; refuses a
    group name that is no canonical field and a pattern without a timestamp group."""
    plain, names = logformat.named_groups(pattern)
    unknown = sorted(set(names) - set(LOG_FIELDS))
    if unknown:
        raise ValueError(f"pattern groups {unknown} are not canonical fields {LOG_FIELDS}")
    if "timestamp" not in names:
        raise ValueError("pattern needs a (?<timestamp>...) group: a record without a time cannot be placed")
    return plain, names


def pattern_ok(pattern: str) -> bool:
    try:
        regex_fields(pattern)
        return True
    except ValueError:
        return False


def matches_line_filter(line_filter: str) -> Column:
    """True for a line the filter finds (anywhere in it, as rlike does); every line without one."""
    return F.coalesce(F.col("raw_line").rlike(line_filter), F.lit(False)) if line_filter else F.lit(True)


def parse_regex(lines: DataFrame, pattern: str, line_filter: str = "", timestamp_format: str = "iso",
                duration_unit: str = "ms", service: str = "", environment: str = "",
                service_from: str = "constant", fill: dict | None = None) -> DataFrame:
    """Lines read with a Java regex whose named groups are canonical fields, e.g.
    `(?<timestamp>\\S+ \\S+) (?<level>[A-Z]+) (?<message>.*)`. Lines the `line_filter` does not
    find are not records: they are left out here and counted apart (`non_record_lines`); a line
    it lets through that the pattern does not match is quarantined as `unparseable:regex`."""
    plain, names = regex_fields(pattern)
    captured = {name: F.regexp_extract("raw_line", plain, index) for name, index in names.items()}
    text = _with_constants(captured, {"environment": environment, **(fill or {})})
    text["service"] = _service_column(text.get("service"), service, service_from)
    fields, field_problem = _typed_fields(text, timestamp_format, duration_unit)
    reason = F.when(~F.col("raw_line").rlike(plain), F.lit("unparseable:regex")).otherwise(field_problem)
    return (
        lines.where(matches_line_filter(line_filter))
        .select(*_record(**fields), reason.alias("reason"), "raw_line", "source_file")
    )


# ---- CSV with a header and a column map -------------------------------------------------------

def _csv_fields(line: str) -> list[str]:
    import csv

    # A byte-order mark (spreadsheets write one) is no part of the first column's name.
    return [name.strip() for name in next(csv.reader([line.lstrip("\ufeff")]), [])]


def csv_header(lines: DataFrame, columns: list[str]) -> tuple[list[str], list[str]]:
    """The header naming every column in `columns`, and the header lines as they appear (one per
    file, possibly quoted differently). Reads only the few lines that name all those columns;
    refuses files whose headers put them in different places."""
    wanted = [c.strip().lower() for c in columns]
    if not wanted:
        raise ValueError("csv needs column_map: CSV column -> canonical field")
    names_all = reduce(lambda a, b: a & b, [F.lower("raw_line").contains(c) for c in wanted])
    found = [row.raw_line for row in lines.where(names_all).select("raw_line").distinct().limit(50).collect()]
    headers = {line: _csv_fields(line) for line in found
               if set(wanted) <= {f.lower() for f in _csv_fields(line)}}
    if not headers:
        raise ValueError(f"no CSV header line names every mapped column {columns}")
    layouts = {tuple([f.lower() for f in fields].index(c) for c in wanted) for fields in headers.values()}
    if len(layouts) > 1:
        raise ValueError(f"CSV headers disagree on where the columns {columns} are: {sorted(headers)}")
    widest = max(headers.values(), key=len)
    return widest, sorted(headers)


def parse_csv(lines: DataFrame, column_map: dict, timestamp_format: str = "iso", duration_unit: str = "ms",
              service: str = "", environment: str = "", service_from: str = "constant",
              fill: dict | None = None, label_column: str = "") -> DataFrame:
    """CSV lines with a header: `column_map` maps CSV columns to canonical fields (quoted fields
    and quoted timestamps are read as CSV reads them). With `label_column`, its value (1 or 0)
    comes out as `label` beside the record, for `label_column_windows`."""
    unknown = sorted(set(column_map.values()) - set(LOG_FIELDS))
    if unknown:
        raise ValueError(f"column_map targets {unknown} are not canonical fields {LOG_FIELDS}")
    needed = list(column_map) + ([label_column] if label_column else [])
    header, header_lines = csv_header(lines, needed)
    position = {name.lower(): index for index, name in enumerate(header)}
    schema = ", ".join(f"c{i} STRING" for i in range(len(header))) + ", _corrupt_record STRING"
    row = F.from_csv("raw_line", schema, {"columnNameOfCorruptRecord": "_corrupt_record", "mode": "PERMISSIVE"})
    cell = lambda name: F.trim(row[f"c{position[name.strip().lower()]}"])  # noqa: E731
    text = _with_constants({target: cell(source) for source, target in column_map.items()},
                           {"environment": environment, **(fill or {})})
    text["service"] = _service_column(text.get("service"), service, service_from)
    fields, field_problem = _typed_fields(text, timestamp_format, duration_unit)
    label = cell(label_column).try_cast("double").try_cast("int") if label_column else F.lit(None).cast("int")
    reason = (F.when(row["_corrupt_record"].isNotNull(), F.lit("unparseable:csv"))
              .otherwise(field_problem))
    if label_column:
        reason = F.coalesce(reason, F.when(cell(label_column).isNotNull() & label.isNull(),
                                           F.lit(f"wrong_type:{label_column}")))
    return (
        lines.where(~F.col("raw_line").isin(header_lines))
        .select(*_record(**fields), reason.alias("reason"), "raw_line", "source_file", label.alias("label"))
    )


def label_column_windows(parsed: DataFrame) -> list[tuple]:
    """Runs of label 1 in each series as ground-truth rows (TRUTH_INCIDENT_SCHEMA, like
    `label_windows`): from the run's first point to the next point after it (the end is
    exclusive); a run that ends the series ends one step after its last point."""
    from pyspark.sql import Window as W

    # Each series in time order; `run` counts the unlabelled points so far, so it stays the same
    # along a run of labelled points and tells runs apart.
    ordered = W.partitionBy("service", "environment").orderBy("timestamp")
    so_far = ordered.rowsBetween(W.unboundedPreceding, W.currentRow)
    step_after = 2 * F.unix_micros("timestamp") - F.unix_micros(F.lag("timestamp").over(ordered))
    windows = (
        parsed.where(F.col("reason").isNull())
        .select("service", "environment", "timestamp", (F.col("label") == 1).alias("labelled"))
        .withColumn("run", F.sum(F.when(F.col("labelled"), 0).otherwise(1)).over(so_far))
        .withColumn("end", F.coalesce(F.lead("timestamp").over(ordered), F.timestamp_micros(step_after),
                                      F.timestamp_micros(F.unix_micros("timestamp") + 1)))
        .where("labelled")
        .groupBy("service", "environment", "run")
        .agg(F.min("timestamp").alias("start"), F.max("end").alias("end"))
        .orderBy("service", "environment", "start")
        .collect()
    )
    return [(number, "labelled_window", w.service, w.environment, w.start, w.end, None)
            for number, w in enumerate(windows, start=1)]


def is_csv_header(line: Column) -> Column:
    return F.lower(F.trim(line)).startswith("timestamp,")


# Microseconds kept: to_json's default writes milliseconds, which would cut a log's own
# sub-millisecond times (Apache %{usec_frac}t, Python's %f) short.
JSON_TIMESTAMP = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"}


def canonical_lines(parsed: DataFrame) -> DataFrame:
    """Parsed records as the generator's JSON lines, with the columns to partition by."""
    return (parsed.where(F.col("reason").isNull())
            .select(F.to_json(F.struct(*LOG_FIELDS), JSON_TIMESTAMP).alias("value"), "service", "environment"))


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
    log_format: str = ""
    pattern: str = ""
    line_filter: str = ""
    field_map: dict = field(default_factory=dict)
    column_map: dict = field(default_factory=dict)
    label_column: str = ""
    timestamp_format: str = "iso"
    duration_unit: str = "ms"
    fill: dict = field(default_factory=dict)
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
    return parse_json_lines(lines, settings.field_map, settings.timestamp_format, settings.duration_unit,
                            settings.fill)


def _csv_series(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return parse_csv_series(lines, settings.environment)


def _regex(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return parse_regex(lines, settings.pattern, settings.line_filter, settings.timestamp_format,
                       settings.duration_unit, settings.service, settings.environment, settings.service_from,
                       settings.fill)


def _csv(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    return parse_csv(lines, settings.column_map, settings.timestamp_format, settings.duration_unit,
                     settings.service, settings.environment, settings.service_from, settings.fill,
                     settings.label_column)


def _csv_header_lines(lines: DataFrame, settings: IngestSettings) -> Column:
    columns = list(settings.column_map) + ([settings.label_column] if settings.label_column else [])
    return F.col("raw_line").isin(csv_header(lines, columns)[1])


def _series_header_lines(lines: DataFrame, settings: IngestSettings) -> Column:
    return is_csv_header(F.col("raw_line"))


def _filtered_out(lines: DataFrame, settings: IngestSettings) -> Column:
    return ~matches_line_filter(settings.line_filter)


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
    "json": InputFormat(_json_lines, "JSON lines mapped by field_map"),
    "csv": InputFormat(_csv, "CSV with a header, columns mapped by column_map (label_column optional)",
                       _csv_header_lines),
    "csv_series": InputFormat(_csv_series, "timestamp,value files, one service per file", _series_header_lines),
}


def parse(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    """Lines in the settings' format as canonical records, with a reason on lines that fail;
    lines that are not records (`non_record_lines`) are left out."""
    return FORMATS[settings.input_format].parse(lines, settings).transform(with_name_checks)


def with_name_checks(parsed: DataFrame) -> DataFrame:
    """A parsed line whose service or environment no folder can carry (too long, a '/', a
    control character) is quarantined as `bad_name:<field>`: raw logs are partitioned by them."""
    reason = F.coalesce(F.col("reason"), *[F.when(unusable_name(F.col(name)), F.lit(f"bad_name:{name}"))
                                           for name in NAME_FIELDS])
    return parsed.withColumn("reason", reason)


def non_record_lines(lines: DataFrame, settings: IngestSettings) -> DataFrame:
    """Lines that are neither records nor broken: CSV header lines, lines the line_filter leaves
    out. Counted apart: lines in = records + quarantined + these."""
    is_not_record = FORMATS[settings.input_format].is_not_record
    return lines.where(F.coalesce(is_not_record(lines, settings), F.lit(False))) if is_not_record else lines.limit(0)
