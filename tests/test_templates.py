"""Message templates: lines of one kind grouped, whatever their numbers, ids and names."""

import random
import uuid
from datetime import datetime, timedelta

import pandas as pd

from loganalysis.metrics import templates

USERS = ["alice", "bob", "carol", "dmitri", "erin", "farouk", "grace", "heidi"]
SERVICES = ["auth", "billing", "search", "inventory", "gateway"]
TABLES = ["orders", "users", "payments", "sessions"]
GROUPS = ["ingest", "audit", "mailer"]

# The true kinds of line, each a template with its variable parts drawn at random.
KINDS = {
    "login": lambda r: f"User {r.choice(USERS)} logged in from 10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
    "logout": lambda r: f"User {r.choice(USERS)} logged out after {r.randint(1, 9000)} seconds",
    "timeout": lambda r: f"Connection to {r.choice(SERVICES)}.internal:{r.randint(1000, 9999)} timed out after {r.randint(100, 5000)}ms",
    "order": lambda r: f"Order {uuid.UUID(int=r.getrandbits(128))} placed by customer {r.choice(USERS)} total {r.randint(1, 900)}.{r.randint(10, 99)}",
    "declined": lambda r: f"Payment {uuid.UUID(int=r.getrandbits(128))} declined: insufficient funds",
    "cache": lambda r: f"Cache miss for key session:{r.getrandbits(48):012x}",
    "request": lambda r: f"GET /api/items/{r.randint(1, 99999)} returned {r.choice([200, 404, 500])} in {r.randint(1, 900)} ms",
    "job": lambda r: f"Worker worker-{r.randint(1, 16)} started job job-{r.getrandbits(40):010x}",
    "disk": lambda r: f"Disk usage on /var/data{r.randint(1, 4)} at {r.randint(50, 99)}%",
    "retry": lambda r: f"Retrying request to {r.choice(SERVICES)} (attempt {r.randint(1, 5)} of 5)",
    "config": lambda r: f"Failed to parse config file /etc/app/{r.choice(SERVICES)}.yaml: unexpected token at line {r.randint(1, 400)}",
    "backup": lambda r: f"Scheduled backup completed in {r.randint(10, 999)}s, {r.randint(1, 9000)}MB written",
    "healthy": lambda r: "Health check passed",
    "unhealthy": lambda r: f"Health check failed for {r.choice(SERVICES)}",
    "slow_query": lambda r: f"Slow query on table {r.choice(TABLES)}: {r.randint(500, 9000)} ms",
    "rebalance": lambda r: f"Kafka consumer group {r.choice(GROUPS)} rebalanced, {r.randint(1, 64)} partitions assigned",
}


def generated_lines(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    weights = [rng.randint(1, 20) for _ in KINDS]
    kinds = rng.choices(list(KINDS), weights=weights, k=n)
    return [(kind, KINDS[kind](rng)) for kind in kinds]


def grouping_accuracy(true_kinds: list[str], mined: list[str]) -> float:
    """Loghub's grouping accuracy: a line counts when the lines sharing its mined template are
    exactly the lines sharing its true kind."""
    by_template, by_kind = {}, {}
    for kind, template in zip(true_kinds, mined):
        by_template.setdefault(template, set()).add(kind)
        by_kind.setdefault(kind, set()).add(template)
    right = sum(len(by_template[template]) == 1 and len(by_kind[kind]) == 1
                for kind, template in zip(true_kinds, mined))
    return right / len(true_kinds)


def test_generated_lines_are_grouped_by_their_true_template(spark):
    lines = generated_lines(3000)
    start = datetime(2026, 11, 2)
    records = spark.createDataFrame(
        [("api", "prod", start + timedelta(seconds=i), message) for i, (_, message) in enumerate(lines)],
        "service string, environment string, timestamp timestamp, message string")
    mined = {row.timestamp: row.template for row in templates.with_templates(spark, records).collect()}
    accuracy = grouping_accuracy([kind for kind, _ in lines],
                                 [mined[start + timedelta(seconds=i)] for i in range(len(lines))])
    assert accuracy >= 0.95, accuracy
    assert len(set(mined.values())) == len(KINDS)


def test_names_that_do_not_look_variable_become_wildcards_where_messages_differ():
    mapping = templates.mine([("User alice logged in from <*>", 5), ("User bob logged in from <*>", 3),
                              ("Health check passed", 9)])
    assert set(mapping.values()) == {"User <*> logged in from <*>", "Health check passed"}


def test_messages_of_one_length_that_share_too_little_stay_apart():
    mapping = templates.mine([("Disk full on <*>", 1), ("Cache warmed for tenants", 1)])
    assert mapping == {"Disk full on <*>": "Disk full on <*>", "Cache warmed for tenants": "Cache warmed for tenants"}


def test_masks_cover_what_varies_by_its_look(spark):
    rows = [("id 123e4567-e89b-12d3-a456-426614174000 from 192.168.0.1:8080",), ("took 35.5ms and 12% cpu, ptr 0x7ffe12",),
            ("hash 9f86d081884c7d65 ok",), ("v2 api stays",), ("  spaced   out  ",)]
    got = [r.m for r in spark.createDataFrame(rows, "message string").select(
        templates.masked("message").alias("m")).collect()]
    assert got == ["id <*> from <*>", "took <*> and <*> cpu, ptr <*>", "hash <*> ok", "v2 api stays", "spaced out"]


def test_past_the_mining_limit_the_rarest_messages_are_counted_as_other(spark):
    records = spark.createDataFrame(
        [("a", "p", datetime(2026, 11, 2), m) for m in ["Health check passed"] * 3 + ["Cache warmed", None]],
        "service string, environment string, timestamp timestamp, message string")
    rows = templates.with_templates(spark, records, max_distinct=1).collect()
    assert sorted((r.message or "", r.template or "") for r in rows) == [
        ("", ""), ("Cache warmed", templates.OTHER_TEMPLATE)] + [("Health check passed", "Health check passed")] * 3
    counts = templates.template_counts(spark, records, max_distinct=1)[0].collect()
    assert [(r.template, r.lines) for r in counts] == [("Health check passed", 3), (templates.OTHER_TEMPLATE, 1)]


def test_template_counts_give_each_kind_its_lines_first_and_last_time_and_lines_per_hour(spark):
    lines = generated_lines(1500, seed=3)
    start = datetime(2026, 11, 2)
    at = lambda i: start + timedelta(seconds=7 * i)  # noqa: E731  (about three hours)
    records = spark.createDataFrame(
        [("api", "prod", at(i), message) for i, (_, message) in enumerate(lines)],
        "service string, environment string, timestamp timestamp, message string")
    totals, per_hour = templates.template_counts(spark, records)
    counts, per_hour = totals.toPandas(), per_hour.toPandas()
    kinds = {}
    for i, (kind, _) in enumerate(lines):
        kinds.setdefault(kind, []).append(i)
    expected = sorted((len(seen), at(seen[0]), at(seen[-1])) for seen in kinds.values())
    got = sorted(zip(counts["lines"], counts["first_seen"], counts["last_seen"]))
    assert [(n, pd.Timestamp(a), pd.Timestamp(b)) for n, a, b in got] == \
        [(n, pd.Timestamp(a), pd.Timestamp(b)) for n, a, b in expected]
    # per hour: the same lines, split by the hour they were logged in
    expected_hours = sorted(sorted(pd.Series([at(i).replace(minute=0, second=0) for i in seen]).value_counts()
                                   .sort_index().tolist()) for seen in kinds.values())
    got_hours = sorted(sorted(g["lines"].tolist()) for _, g in per_hour.groupby("template"))
    assert got_hours == expected_hours and per_hour["hour"].nunique() == 3
