"""The CSV input formats: `csv` (a header, a column map, an optional 0/1 label column) and
`csv_series` (`timestamp,value` files, one service per file)."""

from __future__ import annotations

import csv
from functools import reduce

from pyspark.sql import Column, DataFrame, Window as W, functions as F, types as T

from loganalysis.core.schema import CORRUPT_RECORD, LOG_FIELDS, SERIES_KEYS
from loganalysis.sources.fields import nth, record_columns, service_column, typed_fields, with_constants


def parse_csv_series(lines: DataFrame, environment: str) -> DataFrame:
    """`timestamp,value` files: each file is one service (named after the file), its value in the
    records' value column (`response_time_ms`; the pages call it by the run's `value_name`)."""
    parts = F.split("raw_line", ",")
    timestamp = F.trim(nth(parts, 1)).try_cast(T.TimestampType())
    value = F.trim(nth(parts, 2)).try_cast("double")
    service = F.regexp_extract("source_file", r"([^/]+)\.csv$", 1)
    reason = (F.when(F.size(parts) != 2, F.lit("unparseable:csv_series"))
              .when(timestamp.isNull(), F.lit("bad_timestamp"))
              .when(value.isNull(), F.lit("wrong_type:value")))
    return (
        lines.where(~is_csv_header(F.col("raw_line")))  # header lines
        # No level: a reading is not a log line, and an invented INFO would fill the pages'
        # traffic sentence with a level mix of one.
        .select(*record_columns(timestamp=timestamp, service=service, environment=F.lit(environment),
                                response_time_ms=value),
                reason.alias("reason"), "raw_line", "source_file")
    )


def _csv_fields(line: str) -> list[str]:
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


def header_columns(column_map: dict, label_column: str = "") -> list[str]:
    """The CSV columns a `csv` read needs its header to name."""
    return list(column_map) + ([label_column] if label_column else [])


def parse_csv(lines: DataFrame, column_map: dict, timestamp_format: str = "auto", duration_unit: str = "ms",
              service: str = "", environment: str = "", service_from: str = "constant",
              fill: dict | None = None, label_column: str = "") -> DataFrame:
    """CSV lines with a header: `column_map` maps CSV columns to canonical fields (quoted fields
    and quoted timestamps are read as CSV reads them). With `label_column`, its value (1 or 0)
    comes out as `label` beside the record, for `label_column_windows`."""
    unknown = sorted(set(column_map.values()) - set(LOG_FIELDS))
    if unknown:
        raise ValueError(f"column_map targets {unknown} are not canonical fields {LOG_FIELDS}")
    header, header_lines = csv_header(lines, header_columns(column_map, label_column))
    position = {name.lower(): index for index, name in enumerate(header)}
    schema = ", ".join(f"c{i} STRING" for i in range(len(header))) + f", {CORRUPT_RECORD} STRING"
    row = F.from_csv("raw_line", schema, {"columnNameOfCorruptRecord": CORRUPT_RECORD, "mode": "PERMISSIVE"})
    cell = lambda name: F.trim(row[f"c{position[name.strip().lower()]}"])  # noqa: E731
    text = with_constants({target: cell(source) for source, target in column_map.items()},
                           {"environment": environment, **(fill or {})})
    text["service"] = service_column(text.get("service"), service, service_from)
    fields, field_problem = typed_fields(text, timestamp_format, duration_unit)
    label = cell(label_column).try_cast("double").try_cast("int") if label_column else F.lit(None).cast("int")
    reason = (F.when(row[CORRUPT_RECORD].isNotNull(), F.lit("unparseable:csv"))
              .otherwise(field_problem))
    if label_column:
        reason = F.coalesce(reason, F.when(cell(label_column).isNotNull() & label.isNull(),
                                           F.lit(f"wrong_type:{label_column}")))
    return (
        lines.where(~F.col("raw_line").isin(header_lines))
        .select(*record_columns(**fields), reason.alias("reason"), "raw_line", "source_file", label.alias("label"))
    )


def label_column_windows(parsed: DataFrame) -> list[tuple]:
    """Runs of label 1 in each series as ground-truth rows (TRUTH_INCIDENT_SCHEMA, like
    `label_windows`): from the run's first point to the next point after it (the end is
    exclusive); a run that ends the series ends one step after its last point."""
    # Each series in time order; `run` counts the unlabelled points so far, so it stays the same
    # along a run of labelled points and tells runs apart.
    ordered = W.partitionBy(*SERIES_KEYS).orderBy("timestamp")
    so_far = ordered.rowsBetween(W.unboundedPreceding, W.currentRow)
    step_after = 2 * F.unix_micros("timestamp") - F.unix_micros(F.lag("timestamp").over(ordered))
    windows = (
        parsed.where(F.col("reason").isNull())
        .select(*SERIES_KEYS, "timestamp",
                F.sum(F.when(F.col("label") == 1, 0).otherwise(1)).over(so_far).alias("run"),
                F.coalesce(F.lead("timestamp").over(ordered), F.timestamp_micros(step_after),
                           F.timestamp_micros(F.unix_micros("timestamp") + 1)).alias("end"),
                (F.col("label") == 1).alias("labelled"))
        .where("labelled")
        .groupBy(*SERIES_KEYS, "run")
        .agg(F.min("timestamp").alias("start"), F.max("end").alias("end"))
        .orderBy(*SERIES_KEYS, "start")
        .collect()
    )
    return [(number, "labelled_window", w.service, w.environment, w.start, w.end, None)
            for number, w in enumerate(windows, start=1)]


def is_csv_header(line: Column) -> Column:
    return F.lower(F.trim(line)).startswith("timestamp,")
