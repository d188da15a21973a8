"""Raw JSON lines to typed records, each bad line kept with the reason it was rejected.

Every line ends up in exactly one of two places, the clean records or the quarantine, so
`lines in = clean + quarantined` holds by construction and is checked after the write.
"""

from __future__ import annotations

from functools import reduce

import pandas as pd

from pyspark.sql import Column, DataFrame, SparkSession, functions as F, types as T

from loganalysis.schema import CORRUPT_RECORD, LOG_SCHEMA, RAW_JSON_SCHEMA, REQUIRED_FIELDS

# Values outside these bounds are not plausible measurements; they are quarantined, not fixed.
STATUS_RANGE = (100, 599)


def read_raw_records(spark: SparkSession, raw_path: str) -> DataFrame:
    """Raw JSON lines parsed with the canonical types; a line that cannot be typed keeps its
    text in `_corrupt_record`. Folder names are not read as columns (recursive lookup), so a
    line missing its service is caught, not silently filled in from its folder."""
    return (
        spark.read.schema(TYPED_JSON_SCHEMA)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .option("recursiveFileLookup", "true")
        .json(raw_path)
    )


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


def typed_reason() -> Column:
    """Why a well-typed record still cannot be used: a required field missing, a value out of range."""
    checks = [(F.col(name).isNull(), f"missing_field:{name}") for name in REQUIRED_FIELDS]
    checks += [
        (F.col("response_time_ms") < 0, "out_of_range:response_time_ms"),
        (~F.col("status_code").between(*STATUS_RANGE), "out_of_range:status_code"),
        (F.col("bytes_sent") < 0, "out_of_range:bytes_sent"),
    ]
    return _first_failure(checks)


def validate_records(records: DataFrame) -> DataFrame:
    """Every record with `reason` (null when clean) and, for a rejected one, the line itself
    and the file it came from.

    A line that parsed but failed a check is re-serialised from its parsed fields: the
    reader does not keep the text of lines it could type, and keeping it for every line
    would double the cost of the stage.
    """
    corrupt = F.col(CORRUPT_RECORD)
    reason = F.when(corrupt.isNotNull(), untyped_reason(corrupt)).otherwise(typed_reason())
    rejected = F.col("reason").isNotNull()
    return (
        records.withColumn("reason", reason)
        .withColumn("raw_line", F.when(rejected, F.coalesce(corrupt, F.to_json(F.struct(*LOG_SCHEMA.names)))))
        # The file is looked up for rejected lines only, so it must sit right on the scan (as
        # here). The `_metadata.file_path` column instead is attached to every row by the
        # reader: at 10M lines that cost 8-11 s of a 31-37 s parse-and-write.
        .withColumn("source_file", F.when(rejected, F.input_file_name()))
        .select(*LOG_SCHEMA.names, "reason", "raw_line", "source_file")
    )


def clean_records(validated: DataFrame) -> DataFrame:
    return validated.where(F.col("reason").isNull()).select(*LOG_SCHEMA.names)


def quarantined_lines(validated: DataFrame) -> DataFrame:
    return validated.where(F.col("reason").isNotNull()).select("reason", "raw_line", "source_file")


def reason_category(reason_col: str = "reason") -> Column:
    """`wrong_type:status_code` -> `wrong_type`: the kind of damage, as the generator names it."""
    return F.substring_index(F.col(reason_col), ":", 1)


def count_lines(spark: SparkSession, raw_path: str) -> int:
    """Lines that hold anything: the JSON reader skips blank lines, so they are not records."""
    return (
        spark.read.option("recursiveFileLookup", "true").text(raw_path)
        .where(F.trim("value") != "")
        .count()
    )


def quarantine_by_reason(quarantine: DataFrame) -> DataFrame:
    return (
        quarantine.groupBy("reason").agg(F.count(F.lit(1)).alias("lines"))
        .withColumn("kind", reason_category())
        .select("kind", "reason", "lines")
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
