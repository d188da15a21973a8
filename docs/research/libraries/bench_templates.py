"""Message templates: drain3 (default config; with our masks) against the project's own Drain.

Run from anywhere with the scratch venv (no pyspark needed, no Spark started):
    /tmp/libvenv/bin/python docs/research/libraries/bench_templates.py --lines 3000 100000

Lines: tests/test_templates.py's generated_lines(n, seed=7), 16 known kinds.
Methods:
  drain3_default   drain3 TemplateMiner, TemplateMinerConfig() untouched, every line fed.
  drain3_masks     drain3 with one MaskingInstruction per pattern of our MASKS (mask "<*>").
  drain3_distinct  as drain3_masks, but fed the distinct masked messages once each, most frequent
                   first (what the project does with its own Drain): separates dedup from algorithm.
  ours_unmasked    our Drain (templates.mine) on the raw distinct messages, no masks: the algorithm
                   alone against drain3_default.
  drain3_unmasked_distinct  drain3 default fed the same input as ours_unmasked.
  ours             MASKS applied with Python `re` (stand-in for Spark's regexp_replace pass),
                   distinct masked messages counted, then templates.mine on them (the driver step).
Figures: majority-kind accuracy (share of lines whose group's most common true kind is their own),
the test's Loghub grouping accuracy (group == kind exactly), groups found, lines/s (best of
--repeats, without tracemalloc) and tracemalloc peak (a separate pass).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
import tracemalloc
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import project_code  # noqa: E402

from drain3 import TemplateMiner  # noqa: E402
from drain3.masking import MaskingInstruction  # noqa: E402
from drain3.template_miner_config import TemplateMinerConfig  # noqa: E402

logging.disable(logging.CRITICAL)   # drain3 logs every new cluster at INFO

T = project_code.templates()
K = project_code.test_templates()
WILDCARD = T["WILDCARD"]
# Java's \d \w \s \b are ASCII by default: re.ASCII keeps Python's the same.
MASKS_RE = [re.compile(p, re.ASCII) for p in T["MASKS"]]
SPACES = re.compile(r"\s+", re.ASCII)


def spark_masked(message: str) -> str:
    """templates.masked() in Python: regexp_replace per mask in order, \\s+ -> ' ', trim."""
    for pattern in MASKS_RE:
        message = pattern.sub(WILDCARD, message)
    return SPACES.sub(" ", message).strip(" ")


def drain3_miner(with_masks: bool) -> TemplateMiner:
    config = TemplateMinerConfig()   # defaults; TemplateMiner() would also read ./drain3.ini if present
    if with_masks:
        config.masking_instructions = [MaskingInstruction("(?a)" + p, "*") for p in T["MASKS"]]
    return TemplateMiner(config=config)


def run_drain3_default(messages):
    miner = drain3_miner(False)
    ids = [miner.add_log_message(m)["cluster_id"] for m in messages]
    return ids, {c.cluster_id: c.get_template() for c in miner.drain.clusters}, {}


def run_drain3_masks(messages):
    miner = drain3_miner(True)
    ids = [miner.add_log_message(m)["cluster_id"] for m in messages]
    return ids, {c.cluster_id: c.get_template() for c in miner.drain.clusters}, {}


def run_drain3_distinct(messages):
    start = time.perf_counter()
    masked = [spark_masked(m) for m in messages]
    counts = Counter(masked)
    mask_s = time.perf_counter() - start
    start = time.perf_counter()
    miner = drain3_miner(False)   # already masked
    cluster_of = {m: miner.add_log_message(m)["cluster_id"]
                  for m, _ in sorted(counts.items(), key=lambda mc: (-mc[1], mc[0]))}
    mine_s = time.perf_counter() - start
    ids = [cluster_of[m] for m in masked]
    return ids, {c.cluster_id: c.get_template() for c in miner.drain.clusters}, \
        {"mask_s": mask_s, "mine_s": mine_s, "distinct": len(counts)}


def run_ours(messages):
    start = time.perf_counter()
    masked = [spark_masked(m) for m in messages]
    counts = Counter(masked)
    mask_s = time.perf_counter() - start
    start = time.perf_counter()
    # _templates_of: orderBy(desc(lines), masked_message), then mine() on the driver
    mapping = T["mine"](sorted(counts.items(), key=lambda mc: (-mc[1], mc[0])), T["DrainSettings"]())
    mine_s = time.perf_counter() - start
    groups = [mapping[m] for m in masked]
    return groups, {t: t for t in set(mapping.values())}, {"mask_s": mask_s, "mine_s": mine_s, "distinct": len(counts)}


def run_ours_unmasked(messages):
    """Our Drain alone on the raw messages (no masks), most frequent first: the algorithm against
    drain3_default, each distinct message once."""
    counts = Counter(messages)
    start = time.perf_counter()
    mapping = T["mine"](sorted(counts.items(), key=lambda mc: (-mc[1], mc[0])), T["DrainSettings"]())
    mine_s = time.perf_counter() - start
    groups = [mapping[m] for m in messages]
    return groups, {t: t for t in set(mapping.values())}, {"mine_s": mine_s, "distinct": len(counts)}


def run_drain3_unmasked_distinct(messages):
    """drain3 (default config) fed what ours_unmasked gets: each distinct raw message once, most
    frequent first. Per-message speed of the two Drain implementations on equal input."""
    counts = Counter(messages)
    start = time.perf_counter()
    miner = drain3_miner(False)
    cluster_of = {m: miner.add_log_message(m)["cluster_id"]
                  for m, _ in sorted(counts.items(), key=lambda mc: (-mc[1], mc[0]))}
    mine_s = time.perf_counter() - start
    ids = [cluster_of[m] for m in messages]
    return ids, {c.cluster_id: c.get_template() for c in miner.drain.clusters}, \
        {"mine_s": mine_s, "distinct": len(counts)}


METHODS = {"drain3_default": run_drain3_default, "drain3_masks": run_drain3_masks,
           "drain3_distinct": run_drain3_distinct, "ours": run_ours,
           "ours_unmasked": run_ours_unmasked, "drain3_unmasked_distinct": run_drain3_unmasked_distinct}


def majority_accuracy(kinds, groups) -> float:
    per_group = defaultdict(Counter)
    for kind, group in zip(kinds, groups):
        per_group[group][kind] += 1
    majority = {g: c.most_common(1)[0][0] for g, c in per_group.items()}
    return sum(majority[g] == k for k, g in zip(kinds, groups)) / len(kinds)


def mixups(kinds, groups, names):
    """Kinds split over several groups, groups holding several kinds."""
    by_group, by_kind = defaultdict(Counter), defaultdict(Counter)
    for kind, group in zip(kinds, groups):
        by_group[group][kind] += 1
        by_kind[kind][group] += 1
    merged = {names[g]: dict(c) for g, c in by_group.items() if len(c) > 1}
    split = {k: {names[g]: n for g, n in c.items()} for k, c in by_kind.items() if len(c) > 1}
    return merged, split


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, nargs="+", default=[3000, 100000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    import drain3
    from importlib.metadata import version
    print(f"project code at {project_code.commit()}, drain3 {version('drain3')}, python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()}")
    results = []
    for n in args.lines:
        pairs = K["generated_lines"](n, 7)
        kinds, messages = [k for k, _ in pairs], [m for _, m in pairs]
        for name in args.methods:
            run = METHODS[name]
            best, extra_best = None, None
            for _ in range(args.repeats):
                start = time.perf_counter()
                groups, names, extra = run(messages)
                elapsed = time.perf_counter() - start
                if best is None or elapsed < best:
                    best, extra_best = elapsed, extra
            tracemalloc.start()
            run(messages)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            row = {"lines": n, "method": name, "groups": len(set(groups)),
                   "majority_acc": majority_accuracy(kinds, groups),
                   "loghub_ga": K["grouping_accuracy"](kinds, groups),
                   "seconds": best, "lines_per_s": n / best, "peak_mib": peak / 2**20,
                   **{k: v for k, v in extra_best.items()}}
            merged, split = mixups(kinds, groups, names)
            row["merged"], row["split"] = merged, split
            results.append(row)
            print(f"{n:>7} {name:<16} groups {row['groups']:>4}  majority {row['majority_acc']:.4f}  "
                  f"loghub GA {row['loghub_ga']:.4f}  {row['lines_per_s']:>10,.0f} lines/s  "
                  f"({best:.3f} s; {', '.join(f'{k} {v:.3f}' if isinstance(v, float) else f'{k} {v}' for k, v in extra_best.items())})"
                  f"  peak {row['peak_mib']:.2f} MiB", flush=True)
            for label, what in (("  merged (group: kinds)", merged), ("  split (kind: groups)", split)):
                if what:
                    print(label)
                    for key, value in list(what.items())[:8]:
                        print("     ", key, "->", json.dumps(value)[:300])
                    if len(what) > 8:
                        print(f"      ... {len(what) - 8} more")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
