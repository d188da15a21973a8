"""Message templates: what the logs say, with the parts that vary masked.

"user 8812 logged in from 10.0.0.7" and "user 17 logged in from 10.2.3.4" are one kind of line.
Grouping lines by template turns free text into a few kinds that can be counted, compared
across time and looked up in an incident window (Elastic's categorisation, Datadog's log
patterns).

How:
1. Spark masks the tokens that are variable by their look (UUIDs, IP addresses, hex ids,
   numbers, durations and sizes) with `<*>`, in the JVM, and counts the distinct masked
   messages: the pass over every line stays in Spark.
2. Drain (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017)
   groups the distinct masked messages on the driver, most frequent first: a message is routed
   by its token count and its first tokens to a few candidate templates, joins the most similar
   one if enough of its tokens agree, and the template then turns every position where they
   differ into `<*>` (the words that vary without looking variable, like user names).
   The driver's work follows the variety of messages, not the number of lines; past
   `max_distinct` messages the rarest are grouped as `OTHER_TEMPLATE`, counted, not dropped.
3. The template of each masked message is joined back: to the records (`with_templates`), or
   to the distinct messages and through them to the counts per series, message and hour
   (`template_counts`).

drain3, Drain's reference implementation, pins jsonpickle 1.5.1 and cachetools 4.2.1 (2021),
which this project will not hold back for; the algorithm is small enough to keep here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from pyspark.sql import Column, DataFrame, SparkSession, functions as F, types as T

from loganalysis.core.schema import SERIES_KEYS

WILDCARD = "<*>"
OTHER_TEMPLATE = "(rarer messages beyond the mining limit)"

# Applied in order: a UUID holds hex runs and an IP holds numbers, so the wider patterns first.
MASKS = (
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",  # UUID
    r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b",                                             # IPv4[:port]
    r"\b0[xX][0-9a-fA-F]+\b",                                                             # 0x1f
    r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b",                     # hex ids
    r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:ms|us|ns|s|m|h|B|KB|MB|GB|KiB|MiB|GiB|%)?(?![\w.])",  # 12, 3.5ms, 40%
)


@dataclass
class DrainSettings:
    depth: int = 4            # tree layers: root, token count, depth - 3 leading tokens, leaf
    similarity: float = 0.4   # share of a template's fixed tokens a message must repeat to join it
    max_children: int = 100   # a node's distinct tokens; past it, new tokens share the <*> child


@dataclass
class _Cluster:
    tokens: list[str]
    lines: int = 0

    @property
    def template(self) -> str:
        return " ".join(self.tokens)


@dataclass
class _Node:
    children: dict[str, "_Node"] = field(default_factory=dict)
    clusters: list[_Cluster] = field(default_factory=list)


class Drain:
    """Drain's fixed-depth tree, fed one message at a time."""

    def __init__(self, settings: DrainSettings = DrainSettings()):
        self.settings = settings
        self.root = _Node()

    def add(self, message: str, lines: int = 1) -> _Cluster:
        """Put a message (with the number of lines that carry it) in its cluster; return it."""
        tokens = message.split()
        leaf = self._leaf(tokens)
        cluster = self._most_similar(leaf.clusters, tokens)
        if cluster is None:
            cluster = _Cluster(list(tokens))
            leaf.clusters.append(cluster)
        else:
            cluster.tokens = [mine if mine == theirs else WILDCARD for mine, theirs in zip(cluster.tokens, tokens)]
        cluster.lines += lines
        return cluster

    def _leaf(self, tokens: list[str]) -> _Node:
        node = self.root.children.setdefault(str(len(tokens)), _Node())
        for token in tokens[: self.settings.depth - 3]:
            key = WILDCARD if any(character.isdigit() for character in token) else token
            if key not in node.children and len(node.children) >= self.settings.max_children:
                key = WILDCARD
            node = node.children.setdefault(key, _Node())
        return node

    def _most_similar(self, clusters: list[_Cluster], tokens: list[str]) -> _Cluster | None:
        best, best_key = None, (-1.0, -1)
        for cluster in clusters:
            same = sum(mine == theirs for mine, theirs in zip(cluster.tokens, tokens) if mine != WILDCARD)
            wildcards = cluster.tokens.count(WILDCARD)
            similarity = same / len(tokens) if tokens else 1.0
            # Ties go to the template with more wildcards: the one that already generalised.
            if (similarity, wildcards) > best_key:
                best, best_key = cluster, (similarity, wildcards)
        return best if best is not None and best_key[0] >= self.settings.similarity else None


def mine(messages: Iterable[tuple[str, int]], settings: DrainSettings = DrainSettings()) -> dict[str, str]:
    """Each message's template. Templates only generalise as messages arrive, so a message's
    template is read after all are in: the cluster it joined, in its final form."""
    drain, joined = Drain(settings), {}
    for message, lines in messages:
        joined[message] = drain.add(message, lines)
    return {message: cluster.template for message, cluster in joined.items()}


def masked(message: Column) -> Column:
    """The message with its variable-looking tokens replaced by <*>, whitespace collapsed."""
    for pattern in MASKS:
        message = F.regexp_replace(message, pattern, WILDCARD)
    return F.trim(F.regexp_replace(message, r"\s+", " "))


MAPPING_SCHEMA = T.StructType([T.StructField("masked_message", T.StringType()),
                               T.StructField("template", T.StringType())])


def _templates_of(spark: SparkSession, lines_per_message: DataFrame, max_distinct: int,
                  settings: DrainSettings) -> tuple[DataFrame, Column]:
    """Mine the distinct masked messages of `lines_per_message` (masked_message, lines): the
    mapping masked_message -> template to join (broadcast), and the column that then gives a row
    its template (the rarest messages past `max_distinct` get OTHER_TEMPLATE)."""
    distinct = (lines_per_message.groupBy("masked_message").agg(F.sum("lines").alias("lines"))
                .orderBy(F.desc("lines"), "masked_message").limit(max_distinct + 1).collect())
    mapping = mine(((row.masked_message, row.lines) for row in distinct[:max_distinct]), settings)
    template = F.col("template")
    if len(distinct) > max_distinct:
        template = F.when(F.col("masked_message").isNotNull(), F.coalesce(template, F.lit(OTHER_TEMPLATE)))
    return F.broadcast(spark.createDataFrame(list(mapping.items()), MAPPING_SCHEMA)), template


def with_templates(spark: SparkSession, records: DataFrame, max_distinct: int = 200_000,
                   settings: DrainSettings = DrainSettings()) -> DataFrame:
    """`records` with a `template` column (null where the message is null)."""
    with_masked = records.withColumn("masked_message", masked(F.col("message")))
    mapping, template = _templates_of(spark, with_masked.where(F.col("masked_message").isNotNull())
                                      .select("masked_message", F.lit(1).alias("lines")), max_distinct, settings)
    return (with_masked.join(mapping, "masked_message", how="left")
            .select(*records.columns, template.alias("template")))


def template_counts(spark: SparkSession, records: DataFrame, max_distinct: int = 200_000,
                    settings: DrainSettings = DrainSettings()) -> tuple[DataFrame, DataFrame]:
    """(lines per service, environment and template, with when it was first and last seen and one
    example line, most frequent first; lines per service, environment, template and hour). The
    records are read once, into one row per series, distinct message and hour (cached: small);
    each distinct message is masked and mined once, whatever the number of series it occurs in."""
    per_message = (records.where(F.col("message").isNotNull())
                   .groupBy(*SERIES_KEYS, "message", F.date_trunc("hour", "timestamp").alias("hour"))
                   .agg(F.count(F.lit(1)).alias("lines"), F.min("timestamp").alias("first_seen"),
                        F.max("timestamp").alias("last_seen"))
                   .cache())
    # The masks are regexes, and a log repeats its messages: 2M generated lines over
    # 1,500 series hold 276k distinct (series, message, hour) but 6,380 distinct messages.
    # Masked once each, in that small table, not per series and hour (6.2 -> 5.1 s there, alone).
    try:
        messages = (per_message.groupBy("message").agg(F.sum("lines").alias("lines"))
                    .select("message", masked(F.col("message")).alias("masked_message"), "lines")
                    .cache())
        try:
            mapping, template = _templates_of(spark, messages, max_distinct, settings)
            message_templates = (messages.join(mapping, "masked_message", how="left")
                                 .select("message", template.alias("template")))
            tagged = (per_message.join(message_templates, "message")
                      .groupBy(*SERIES_KEYS, "template", "hour")
                      .agg(F.sum("lines").alias("lines"), F.min("first_seen").alias("first_seen"),
                           F.max("last_seen").alias("last_seen"), F.min("message").alias("example"))
                      .localCheckpoint())  # computed now, so the caches can go
        finally:
            messages.unpersist()
    finally:
        per_message.unpersist()
    totals = (tagged.groupBy(*SERIES_KEYS, "template")
              .agg(F.sum("lines").alias("lines"), F.min("first_seen").alias("first_seen"),
                   F.max("last_seen").alias("last_seen"), F.min("example").alias("example"))
              .orderBy(*SERIES_KEYS, F.desc("lines")))
    return totals, tagged.select(*SERIES_KEYS, "template", "hour", "lines").orderBy(*SERIES_KEYS, "template", "hour")
