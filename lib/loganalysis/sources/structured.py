"""Structured logs, JSON lines and logfmt: named fields mapped onto the canonical record.

Both formats name their fields, so one mapping reads both: `field_map` (source name or path ->
canonical field), or without one the names common loggers give each field
(`CONVENTIONAL_FIELD_MAP`). Each line is split into its fields once; every mapped field is then a
lookup in them.
"""

from __future__ import annotations

import re
from typing import Callable

from pyspark.sql import Column, DataFrame, functions as F, types as T

from loganalysis.core.schema import LOG_FIELDS
from loganalysis.sources import container
from loganalysis.sources.fields import (canonical_level, level_for_status, line_columns, nth, own_or_runtime_time,
                                        record_columns, service_column)
from loganalysis.sources.logformat import TIME_UNITS_MS

# Without a `field_map`: the names common loggers and schemas give each field, tried in this
# order, the first a line has (with a usable value) winning. Elastic Common Schema (log4j2,
# logback, ecs-logging), Serilog's compact format (`@t`), logrus, zap, slog, winston,
# python-json-logger, pino, Grafana and Prometheus (logfmt), Caddy, Envoy and Traefik access
# logs. A dotted name comes before the flat name it starts with (`service.name` before
# `service`) and is read as a flat key (ECS writes `"log.level": ...`) or a nested path; an object
# is never read as a value, so `{"service": {"name": "api"}}` and `{"service": "api"}` both give
# api. A latency is read from names that say milliseconds, or from a value that carries its
# unit (`12.5ms`, `1.2s`, Go's `1m30s`): a bare `duration` number is seconds in Caddy,
# milliseconds in Envoy and nanoseconds in ECS and Traefik, so it is left to a `field_map`.
CONVENTIONAL_FIELD_MAP = {
    "@timestamp": "timestamp", "timestamp": "timestamp", "time": "timestamp", "ts": "timestamp", "t": "timestamp",
    "@t": "timestamp", "StartUTC": "timestamp", "start_time": "timestamp",
    "service.name": "service", "service": "service", "app": "service", "application": "service",
    "service.environment": "environment", "deployment.environment": "environment", "environment": "environment",
    "env": "environment",
    "host.name": "host", "host.hostname": "host", "host": "host", "hostname": "host",
    "log.level": "level", "level": "level", "lvl": "level", "severity": "level", "levelname": "level", "@l": "level",
    "http.response.status_code": "status_code", "status_code": "status_code", "status": "status_code",
    "statusCode": "status_code", "res.statusCode": "status_code", "response_code": "status_code",
    "DownstreamStatus": "status_code",
    "duration_ms": "response_time_ms", "response_time_ms": "response_time_ms", "latency_ms": "response_time_ms",
    "elapsed_ms": "response_time_ms", "time_ms": "response_time_ms", "responseTime": "response_time_ms",
    "duration": "response_time_ms", "latency": "response_time_ms", "elapsed": "response_time_ms",
    "took": "response_time_ms",
    "http.request.method": "method", "request.method": "method", "req.method": "method", "method": "method",
    "RequestMethod": "method",
    "url.path": "endpoint", "request.uri": "endpoint", "req.url": "endpoint", "endpoint": "endpoint",
    "path": "endpoint", "uri": "endpoint", "RequestPath": "endpoint",
    "client.ip": "client_ip", "request.remote_ip": "client_ip", "req.remoteAddress": "client_ip",
    "client_ip": "client_ip", "remote_addr": "client_ip", "ClientHost": "client_ip", "fwd": "client_ip",
    "user.id": "user_id", "user_id": "user_id",
    "message": "message", "msg": "message", "@m": "message",
    "trace.id": "trace_id", "trace_id": "trace_id", "traceID": "trace_id", "req.id": "trace_id",
    "request_id": "trace_id",
    "http.response.body.bytes": "bytes_sent", "bytes_sent": "bytes_sent", "size": "bytes_sent", "bytes": "bytes_sent",
}
# Names whose bare number says nothing of its unit: read only when the value carries one.
UNIT_REQUIRED = frozenset({"duration", "latency", "elapsed", "took"})

# ---- durations with their unit -------------------------------------------------------------------

_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_UNITS = "ns|us|µs|μs|ms|s|m|h"
# One amount with an optional unit (nearly every duration logged), and Go's composite `1m30.5s`.
_ONE_AMOUNT = rf"^\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*({_UNITS})?\s*$"
_PART = rf"(\d+(?:\.\d+)?)({_UNITS})"
_COMPOSITE = rf"^\s*(?:{_PART}){{2,}}\s*$"


def duration_ms(text: Column, default_unit: str) -> Column:
    """A duration in milliseconds: `12.5ms`, `1.2s`, `350µs`, Go's `1m30.5s` by their units; a
    bare number in `default_unit`; anything else null."""
    per_unit = F.create_map(*[F.lit(v) for pair in _UNIT_MS.items() for v in pair])
    amount, unit = F.regexp_extract(text, _ONE_AMOUNT, 1), F.regexp_extract(text, _ONE_AMOUNT, 2)
    parts = F.arrays_zip(F.regexp_extract_all(text, F.lit(_PART), 1).alias("amount"),
                         F.regexp_extract_all(text, F.lit(_PART), 2).alias("unit"))
    composite = F.aggregate(parts, F.lit(0.0),
                            lambda total, part: total + part["amount"].cast("double") * per_unit[part["unit"]])
    return (F.when(amount != "", amount.try_cast("double") * F.coalesce(per_unit[unit], F.lit(TIME_UNITS_MS[default_unit])))
            .when(text.rlike(_COMPOSITE), composite))


# ---- reading a line's fields -----------------------------------------------------------------------

_FLAT_KEY = re.compile(r"\$\['([^']+)'\]")
Lookup = Callable[[str], Column]


def json_lookup(top_fields: Column) -> Lookup:
    """A JSON line's field as text, by path: a name (`@timestamp`), a dotted
    name (`http.status`: the flat key, else the path into nested objects), `$['k']` (the flat key
    alone) or any other JSONPath.
    `top_fields`: the line's top-level fields as text (`from_json` to a map), parsed once for
    every field: a JSONPath on the whole line parses it again for each field it looks up."""
    def field(path: str) -> Column:
        flat = _FLAT_KEY.fullmatch(path)
        if flat:
            return F.try_element_at(top_fields, F.lit(flat.group(1)))
        if path.startswith("$"):
            return F.get_json_object("raw_line", path)
        name, _, inner = path.partition(".")
        top = F.try_element_at(top_fields, F.lit(name))
        if not inner:
            return top
        # A dotted name is a flat key first (ECS loggers write `trace.id` so), then a path; only an
        # object is looked into: most lines hold a plain value there, or nothing.
        return F.coalesce(F.try_element_at(top_fields, F.lit(path)),
                          F.when(top.startswith("{"), F.get_json_object(top, "$." + inner)))
    return field


# key=value pairs; a value is bare (no spaces) or quoted, with \" and \\ inside. Possessive
# quantifiers: an alternation under `*` makes Java's regex engine recurse once per character,
# and a quoted stack trace of a few thousand characters would overflow its stack.
_LOGFMT_PAIR = r'([^\s="]++)=("[^"\\]*+(?:\\.[^"\\]*+)*+"|[^\s"]*+)'


def logfmt_fields(line: Column) -> tuple[Column, Column]:
    """A logfmt line's keys and values, in order (unquoted, unescaped; a bare `key=` is empty).
    Two arrays, not a map: a key may repeat (the first is read), which a map refuses."""
    keys = F.regexp_extract_all(line, F.lit(_LOGFMT_PAIR), 1)
    quoted = F.regexp_extract_all(line, F.lit(_LOGFMT_PAIR), 2)
    # A quoted value is a Go-quoted string: JSON decodes its escapes (\n, \t, \u00e9); one JSON
    # refuses (Go's \x41) keeps its text with each backslash dropped.
    values = F.transform(quoted, lambda v: F.when(v.startswith('"'), F.coalesce(
        F.get_json_object(F.concat(F.lit('{"v":'), v, F.lit("}")), "$.v"),
        F.regexp_replace(F.regexp_replace(v, r'^"|"$', ""), r"\\(.)", "$1"))).otherwise(v))
    return keys, values


def logfmt_lookup(keys: Column, values: Column) -> Lookup:
    """A logfmt line's field as text by its key (a dotted key is one key; `$['k']` reads k)."""
    def field(path: str) -> Column:
        flat = _FLAT_KEY.fullmatch(path)
        position = F.array_position(keys, flat.group(1) if flat else path)
        return F.when(position > 0, F.nullif(F.element_at(values, position.cast("int")), F.lit("")))
    return field


# ---- fields to records -------------------------------------------------------------------------------

# Quick looks (the value itself is parsed once, after a source is chosen): a number; a duration
# with its unit.
_NUMERIC = r"^\s*-?\d"
_WITH_UNIT = rf"^\s*\d+(?:\.\d+)?\s*(?:{_UNITS})\s*$"


def usable(target: str, text: Column, unit_required: bool) -> Column:
    """`text` when it can be `target`'s value, else null, so the next source is tried: an empty
    string is no value, an object no field's value (except a message's: a message may well be
    JSON text), a status or a size must be a number, a latency look like one (with its unit,
    when `unit_required`)."""
    if target == "message":
        return F.when(text != "", text)
    if target in ("status_code", "bytes_sent"):
        return F.when(text.try_cast("long").isNotNull(), text)
    if target == "response_time_ms":
        with_unit = text.rlike(_WITH_UNIT) | text.rlike(_COMPOSITE)
        return F.when(with_unit if unit_required else text.rlike(_NUMERIC), text)
    value = (text != "") & ~text.startswith("{")
    if target == "service":  # Heroku's router logs its service time as `service=18ms`
        value &= ~text.rlike(_ONE_AMOUNT)
    return F.when(value, text)


def mapped_fields(lookup: Lookup, field_map: dict, unit_required: frozenset[str] = frozenset()) -> dict[str, Column]:
    """Each canonical field's text from `field_map` (source -> canonical field; several sources
    may name one field: the first a line has with a `usable` value wins). A latency under a
    name in `unit_required` is read only with its unit."""
    unknown = set(field_map.values()) - set(LOG_FIELDS)
    if unknown:
        raise ValueError(f"field_map targets {sorted(unknown)} are not canonical fields {LOG_FIELDS}")
    sources: dict[str, list[Column]] = {}
    for path, target in field_map.items():
        sources.setdefault(target, []).append(usable(target, lookup(path), path in unit_required))
    return {target: F.coalesce(*texts) for target, texts in sources.items()}


# Past this many distinct top-level names in an input, every conventional name is looked up.
MAX_NAMES_LISTED = 10_000


def conventions_present(lines: DataFrame, names: Column) -> dict:
    """The entries of `CONVENTIONAL_FIELD_MAP` a line of the input can have (`names`: a line's
    top-level names): a pass that lists the input's names spares every line the lookups of the
    many names it never has (1M JSON lines: about half the time; docs/performance.md)."""
    listed = lines.select(F.explode(names).alias("name")).distinct().limit(MAX_NAMES_LISTED + 1).collect()
    if len(listed) > MAX_NAMES_LISTED:
        return CONVENTIONAL_FIELD_MAP
    present = {row.name for row in listed}

    def looked_up(path: str) -> bool:  # as a flat key, or as a path from its first name
        flat = _FLAT_KEY.fullmatch(path)
        return (flat.group(1) if flat else path) in present or path.partition(".")[0] in present
    return {path: target for path, target in CONVENTIONAL_FIELD_MAP.items() if looked_up(path)}


def structured_records(lines: DataFrame, lookup: Lookup, names: Column | None, not_structured: Column, malformed: str,
                       field_map: dict, timestamp_format: str, duration_unit: str, fill: dict | None,
                       service: str, environment: str, service_from: str) -> DataFrame:
    """Canonical records (+ reason) from lines whose fields `lookup` reads; a line where
    `not_structured` holds is quarantined as `malformed`. Without a `field_map`, the
    conventional names, only those among the input's `names` (a line's top-level names) when
    given. What a line lacks comes from `fill` (`environment` first); its service, as for a
    regex format, from `service_column`."""
    if field_map:
        source = mapped_fields(lookup, field_map)
    else:
        conventions = CONVENTIONAL_FIELD_MAP if names is None else conventions_present(lines, names)
        source = mapped_fields(lookup, conventions, UNIT_REQUIRED)
        duration_unit = "ms"  # the conventional names say milliseconds, or their values carry a unit
    constants = {"environment": environment or None, **(fill or {})}
    texts = {name: F.coalesce(source.get(name, F.lit(None)), F.lit(constants.get(name))) for name in LOG_FIELDS}
    texts["service"] = service_column(texts["service"], service, service_from)
    # Two steps, not one select: each field's text is chosen once, then typed. In one select
    # every typed column repeated its lookups, and the generated code outgrew the size Spark
    # compiles (1M JSON lines: 16-18 s against 6 s).
    carried = line_columns(lines)
    found = lines.select(*carried, not_structured.alias("not_structured"),
                         *[text.alias(name) for name, text in texts.items()])
    timestamp, time_problem = own_or_runtime_time(F.col("timestamp"), timestamp_format, container.runtime_time(found))
    status = F.col("status_code").try_cast("int")
    reason = F.when(F.col("not_structured"), F.lit(malformed)).otherwise(time_problem)
    typed = dict(timestamp=timestamp, status_code=status,
                 response_time_ms=duration_ms(F.col("response_time_ms"), duration_unit),
                 endpoint=nth(F.split("endpoint", r"\?"), 1),  # the path, as access logs give it
                 level=F.coalesce(canonical_level(F.col("level")),
                                  F.when(status.isNotNull(), level_for_status(status))))
    return found.select(*record_columns(**{**{name: F.col(name) for name in LOG_FIELDS}, **typed}),
                        reason.alias("reason"), *carried)


def parse_json_lines(lines: DataFrame, field_map: dict, timestamp_format: str = "auto",
                     duration_unit: str = "ms", fill: dict | None = None, service: str = "",
                     environment: str = "", service_from: str = "constant") -> DataFrame:
    """JSON lines onto the canonical record. `field_map`: source JSON path (`@timestamp`,
    `http.status`) -> canonical field; empty: `CONVENTIONAL_FIELD_MAP`. `fill`: constants for
    fields the source lacks (environment: prod)."""
    # A column of its own: every lookup reads the one parse.
    split = lines.withColumn("_fields", F.from_json("raw_line", T.MapType(T.StringType(), T.StringType())))
    return structured_records(split, json_lookup(F.col("_fields")), F.map_keys("_fields"), F.col("_fields").isNull(),
                              "malformed_json",
                              field_map, timestamp_format, duration_unit, fill, service, environment, service_from)


def parse_logfmt(lines: DataFrame, field_map: dict, timestamp_format: str = "auto",
                 duration_unit: str = "ms", fill: dict | None = None, service: str = "",
                 environment: str = "", service_from: str = "constant") -> DataFrame:
    """logfmt lines (`ts=... level=info msg="..." status=200 duration=12ms`) onto the canonical
    record, mapped as `parse_json_lines` maps JSON (a key is a source name)."""
    keys, values = logfmt_fields(F.col("raw_line"))
    split = lines.withColumns({"_keys": keys, "_values": values})  # split once, read by every lookup
    # Every conventional key looked up: listing the keys first would split every line twice
    # (1M lines: 34-43 s against 10-14 s).
    return structured_records(split, logfmt_lookup(F.col("_keys"), F.col("_values")), None, F.size("_keys") == 0,
                              "unparseable:logfmt", field_map, timestamp_format, duration_unit, fill, service,
                              environment, service_from)
