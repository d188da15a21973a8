"""Raw JSON lines to typed records, each bad line kept with the reason it was rejected.

Every line ends up in exactly one of two places, the clean records or the quarantine, so
`lines in = clean + quarantined` holds by construction and is checked after the write: the
lines counted as the reader hands them on (`counted`) against the rows read back from both outputs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import reduce

import pandas as pd

from pyspark.sql import Column, DataFrame, Observation, SparkSession, functions as F, types as T

from loganalysis.core.schema import (CLEAN, CORRUPT_RECORD, LOG_SCHEMA, OUTCOME, QUARANTINED, RAW_JSON_SCHEMA,
                                     REQUIRED_FIELDS)
from loganalysis.core.names import NAME_FIELDS, unusable_name
from loganalysis.core.storage import read_parquet, require_complete

# The documented range of every field. A value outside it is not a plausible measurement: the
# line is quarantined with `out_of_range:<field>`, never fixed.
STATUS_RANGE = (100, 599)
# Finite and at most a day: NaN, Infinity and 1e308 are refused (they would poison every mean).
# A profile whose values are not latencies (a metric series read with csv_series) widens it.
RESPONSE_TIME_RANGE_MS = (0.0, 86_400_000.0)
# Timestamps: from `max_age_days` before the run to `ahead_hours` after it (clocks drift a
# little; nothing is logged in 2300). A 1970 timestamp in 2026 data would stretch every series'
# bucket grid over 56 years. 30 years back still admits old public data sets (NAB's are 2011-15).
MAX_AGE_DAYS, AHEAD_HOURS = 10_957, 24

def timestamp_window(now: datetime | None = None, max_age_days: int = MAX_AGE_DAYS,
                     ahead_hours: int = AHEAD_HOURS) -> tuple[datetime, datetime]:
    """The timestamps a clean record may carry, around the run's time `now` (UTC)."""
    now = now or datetime.now(timezone.utc)
    return now - timedelta(days=max_age_days), now + timedelta(hours=ahead_hours)


def read_raw_records(spark: SparkSession, raw_path: str) -> DataFrame:
    """Raw JSON lines parsed with the canonical types; a line that cannot be typed keeps its
    text in `_corrupt_record`. Folder names are not read as columns (recursive lookup), so a
    line missing its service is caught, not silently filled in from its folder.
    Raw logs are a stage output like any other: a folder without `_SUCCESS` is refused."""
    require_complete(spark, raw_path)
    return (
        spark.read.schema(TYPED_JSON_SCHEMA)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .option("recursiveFileLookup", "true")
        .json(raw_path)
    )


def read_raw_lines(spark: SparkSession, raw_path: str) -> DataFrame:
    """The raw logs as text, one row per line (`value`), refused without `_SUCCESS`."""
    require_complete(spark, raw_path)
    return spark.read.text(raw_path)


# The typed parse is the fast path for the many good lines; a line it cannot type is parsed
# again with every field as a string, only to name what is wrong with it.
TYPED_JSON_SCHEMA = T.StructType(LOG_SCHEMA.fields + [T.StructField(CORRUPT_RECORD, T.StringType())])
_PARSE_OPTIONS = {"columnNameOfCorruptRecord": CORRUPT_RECORD, "mode": "PERMISSIVE"}


def _first_failure(checks: list[tuple[Column, str]]) -> Column:
    """The reason of the first failing check, or null when all pass."""
    first, *rest = checks
    return reduce(lambda acc, check: acc.when(check[0], F.lit(check[1])),
                  rest, F.when(first[0], F.lit(first[1])))


def untyped_reason(raw_line: Column) -> Column:
    """Why the typed parse failed: malformed JSON, or the first field of the wrong type."""
    raw = F.from_json(raw_line, RAW_JSON_SCHEMA, _PARSE_OPTIONS)
    checks = [(raw.isNull() | raw[CORRUPT_RECORD].isNotNull(), "malformed_json")]
    checks += [(raw[f.name].isNotNull() & raw[f.name].try_cast(f.dataType).isNull(),
                f"wrong_type:{f.name}") for f in LOG_SCHEMA.fields]
    # Spark's parser is stricter than a cast (a quoted number is not a number): name that too.
    return F.coalesce(_first_failure(checks), F.lit("wrong_type:unknown"))


def typed_reason(window: tuple[datetime, datetime],
                 response_time_range: tuple[float, float] = RESPONSE_TIME_RANGE_MS) -> Column:
    """Why a well-typed record still cannot be used: a required field missing (a blank name is
    missing too), a name no folder can carry, a value out of its range."""
    checks = [(F.col(name).isNull(), f"missing_field:{name}") for name in REQUIRED_FIELDS]
    checks += [(F.trim(F.col(name)) == "", f"missing_field:{name}") for name in NAME_FIELDS]
    checks += [(unusable_name(F.col(name)), f"bad_name:{name}") for name in NAME_FIELDS]
    earliest, latest = window
    checks += [
        (~F.col("timestamp").between(F.lit(earliest), F.lit(latest)), "out_of_range:timestamp"),
        # NaN fails `between` too (it is neither >= nor <= a number), and so does Infinity.
        (~F.col("response_time_ms").between(*response_time_range) | F.isnan("response_time_ms"),
         "out_of_range:response_time_ms"),
        (~F.col("status_code").between(*STATUS_RANGE), "out_of_range:status_code"),
        (F.col("bytes_sent") < 0, "out_of_range:bytes_sent"),
    ]
    return _first_failure(checks)


# A line the typed parse could not type is first marked with this placeholder; what is wrong
# with it is named later, on the quarantined lines alone. Naming it takes a second JSON parse
# (`from_json`), and Spark runs any projection holding a `from_json` outside its generated
# code, so in the per-line pass it would slow every line for the sake of the few rejected.
UNTYPED = "untyped"


def check_records(records: DataFrame, window: tuple[datetime, datetime] | None = None,
                  response_time_range: tuple[float, float] = RESPONSE_TIME_RANGE_MS) -> DataFrame:
    """Every record with `reason` (null when clean, `UNTYPED` when the typed parse failed) and,
    for a rejected one, the line itself and the file it came from. Timestamps outside `window`
    (default: `timestamp_window()` around now) and response times outside `response_time_range`
    are out of range.

    A line that parsed but failed a check is re-serialised from its parsed fields: the
    reader does not keep the text of lines it could type, and keeping it for every line
    would double the cost of the stage.
    """
    corrupt = F.col(CORRUPT_RECORD)
    reason = F.when(corrupt.isNotNull(), F.lit(UNTYPED)).otherwise(
        typed_reason(window or timestamp_window(), response_time_range))
    rejected = F.col("reason").isNotNull()
    # Steps, not one select: `reason` (every check) is computed once, and the columns after it
    # only test it.
    return (
        records.withColumn("reason", reason)
        .withColumn("raw_line", F.when(rejected, F.coalesce(corrupt, F.to_json(F.struct(*LOG_SCHEMA.names)))))
        # The file is looked up for rejected lines only, so it must sit right on the scan (as
        # here). The `_metadata.file_path` column instead is attached to every row by the
        # reader, a cost paid by every clean line too.
        .withColumn("source_file", F.when(rejected, F.input_file_name()))
        .select(*LOG_SCHEMA.names, "reason", "raw_line", "source_file")
    )


def name_untyped(lines: DataFrame) -> DataFrame:
    """Replace the `UNTYPED` placeholder with what is wrong with the line (its `raw_line`)."""
    reason = F.col("reason")
    return lines.withColumn("reason", F.when(reason == UNTYPED, untyped_reason(F.col("raw_line"))).otherwise(reason))


def validate_records(records: DataFrame, window: tuple[datetime, datetime] | None = None) -> DataFrame:
    """`check_records` with every reason named, for small inputs (tests, samples): the stage
    names the untyped lines in the quarantine only."""
    return name_untyped(check_records(records, window))




def split_by_outcome(validated: DataFrame) -> DataFrame:
    """Validated records as one frame for one write, with their `outcome`.

    A rejected line's record fields are nulled (its text is in `raw_line`): its service and
    environment are then null too, so every rejected line lands in a single partition folder
    and no untrusted value ever names a folder.
    """
    rejected = F.col("reason").isNotNull()
    return validated.select(
        *[F.when(~rejected, F.col(name)).alias(name) for name in LOG_SCHEMA.names],
        "reason", "raw_line", "source_file",
        F.when(rejected, F.lit(QUARANTINED)).otherwise(F.lit(CLEAN)).alias(OUTCOME),
    )


def quarantined_lines(split: DataFrame) -> DataFrame:
    """The rejected lines, each with its reason named. The filter is on the partition column,
    so only the quarantined folder is read."""
    return name_untyped(split.where(F.col(OUTCOME) == QUARANTINED).select("reason", "raw_line", "source_file"))


def read_clean_records(spark: SparkSession, clean_path: str) -> DataFrame:
    """The clean records with the canonical schema.

    Their files also hold the quarantine's columns, always null (one write produced both),
    so they are read with the explicit schema, never the one in the files.
    """
    return read_parquet(spark, clean_path, LOG_SCHEMA)


class NoCleanRecords(ValueError):
    """The raw logs held no line that passed validation: there is nothing to analyse."""


def require_clean_records(spark: SparkSession, quarantine_path: str, clean: int) -> None:
    """Refuse to go on without clean records, saying why: no lines at all, or every line
    quarantined (its commonest reasons named)."""
    if clean:
        return
    reasons = quarantine_by_reason(read_parquet(spark, quarantine_path)).limit(3).collect()
    if not reasons:
        raise NoCleanRecords("the raw logs hold no lines: check input_path and file_glob (or n_records)")
    named = ", ".join(f"{row['reason']} {row['lines']:,}" for row in reasons)
    raise NoCleanRecords(f"no clean records: every line was quarantined (commonest reasons: {named}); "
                         f"the lines and their reasons are in {quarantine_path}")


def reason_category(reason_col: str = "reason") -> Column:
    """`wrong_type:status_code` -> `wrong_type`: the kind of damage, as the generator names it."""
    return F.substring_index(F.col(reason_col), ":", 1)


def counted(records: DataFrame) -> tuple[DataFrame, Observation]:
    """The raw records, counted as the reader hands them on: `lines_counted` has the count once
    an action has read them all.

    The count comes with the one pass, before validation: in permissive mode the reader turns
    every line that holds anything into exactly one row (one it cannot parse keeps its text in
    `_corrupt_record`) and skips blank lines, which are not records. Counting here spares a
    second scan of the raw text.
    """
    seen = Observation("lines_read")
    return records.observe(seen, F.count(F.lit(1)).alias("lines")), seen


def lines_counted(seen: Observation) -> int:
    """The count of a `counted` frame; waits for the action that reads it."""
    return seen.get["lines"]


def quarantine_by_reason(quarantine: DataFrame) -> DataFrame:
    return (
        quarantine.groupBy("reason").agg(F.count(F.lit(1)).alias("lines"))
        .select(reason_category().alias("kind"), "reason", "lines")
        .orderBy(F.col("lines").desc(), "reason")
    )


def reconcile_with_ground_truth(reasons: pd.DataFrame, injected: pd.DataFrame) -> pd.DataFrame:
    """Quarantined lines per kind of damage next to the generator's count of injected ones."""
    quarantined = reasons.groupby("kind", as_index=False)["lines"].sum().rename(columns={"lines": "quarantined"})
    expected = injected.rename(columns={"lines": "injected"})
    return (
        expected.merge(quarantined, on="kind", how="outer")
        .fillna(0).astype({"injected": int, "quarantined": int})
        .sort_values("kind").reset_index(drop=True)
    )
