#!/usr/bin/env python3
"""Benchmark the static path against the size of saved_model.pb.

    python benchmarks/static.py [--corpus-runs 1000] [--repeat 3] [--quick]

The target (issue 17): static time and memory linear in the size of
saved_model.pb -- no input under 10 MB takes more than 1 s or 200 MB.  Inputs:

- synthetic worst cases built by fixture recipes (sigcheck.fixtures.catalog
  EXTRA_RECIPES): a 10^5-node chain, many call sites of many library functions,
  deeply nested function calls, a Const with 65,536 dimensions of 2^62; plus the
  conformant TinyNet and, when benchmarks/run.py has cached it, InceptionV3;
- the corpus a seeded run of the fuzzer (fuzz/run.py) keeps: every input that
  reached new code, i.e. the most varied inputs it found.

Each input is checked (``check(dir, Config(static=True))`` and the JSON
rendering, what ``sigcheck --static --format json`` does) in a fresh Python
process, ``--repeat`` times: wall and CPU seconds (median), and the peak RSS
of the process (max) and what the check added to the RSS after imports.  The
machine is shared, so CPU seconds are what the target is judged on (wall
seconds are shown beside them).  The section it writes into BENCHMARKS.md
sits between markers that benchmarks/run.py keeps.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "fuzz"))  # the fuzzer's corpus container
_spec = importlib.util.spec_from_file_location("bench_run", os.path.join(REPO, "benchmarks", "run.py"))
bench = sys.modules["bench_run"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
MB = 2**20
BEGIN, END = "<!-- static-path:begin -->", "<!-- static-path:end -->"
TIME_LIMIT, MEMORY_LIMIT, SIZE_LIMIT = 1.0, 200, 10  # s, MB, MB
# Corpus inputs smaller than this (truncated files) would turn the fixed cost of a check into absurd
# seconds per MB; they still count for the worst seconds and peak memory.
PER_MB_FLOOR = 16 * 1024
SYNTHETIC = ("fv-conformant", "hub107-const-many-huge-dims", "worst-node-chain", "worst-call-sites",
             "worst-nested-calls")

MEASURE = """\
import json, resource, sys, time
from sigcheck.api import check
from sigcheck.config import Config
from sigcheck.render import renderer
from sigcheck.rules import load_rules
from sigcheck.checks import registered_checks
render = renderer("json"); load_rules(); registered_checks()
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = rss()
wall, cpu = time.perf_counter(), time.process_time()
render([check(sys.argv[1], Config(static=True))])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "peak": rss(), "added": rss() - base}))
"""


def measure(directory: str, repeat: int):
    """Figures of the static check of ``directory``, or None if it did not complete (a fuzz finding)."""
    samples = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", MEASURE, directory], capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            return None
        samples.append(json.loads(done.stdout))
    size = os.path.getsize(os.path.join(directory, "saved_model.pb")) if os.path.isfile(
        os.path.join(directory, "saved_model.pb")) else 0
    return {
        "size": size,
        "wall": statistics.median(s["wall"] for s in samples),
        "cpu": statistics.median(s["cpu"] for s in samples),
        "peak": max(s["peak"] for s in samples),
        "added": max(s["added"] for s in samples),
    }


def within(row: dict) -> bool:
    return row["size"] >= SIZE_LIMIT * MB or (row["cpu"] <= TIME_LIMIT and row["peak"] <= MEMORY_LIMIT)


def per_mb(row: dict, key: str) -> float:
    return row[key] / (row["size"] / MB) if row["size"] else 0.0


def build_synthetic(root: str, log) -> dict:
    import sigcheck.fixtures

    log(f"building {', '.join(SYNTHETIC)} (TensorFlow subprocess) ...")
    subprocess.run([sys.executable, "-m", "sigcheck.fixtures", root, *SYNTHETIC], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    modules = {name: os.path.join(root, name) for name in SYNTHETIC}
    from sigcheck.fixtures import realistic

    for name in realistic.RECIPES:
        if realistic.is_cached(name, realistic.default_cache_dir()):
            modules[name] = realistic.cache_path(name, realistic.default_cache_dir())
    summaries = {r.name: r.summary for r in sigcheck.fixtures.catalog.EXTRA_RECIPES + sigcheck.fixtures.RECIPES}
    summaries.update({name: recipe.summary for name, recipe in realistic.RECIPES.items()})
    return {name: (path, summaries.get(name, "")) for name, path in modules.items()}


def fuzz_corpus(root: str, runs: int, log) -> list:
    """Module directories of the corpus kept by ``fuzz/run.py --runs RUNS --seed 1``."""
    import corpus

    saved = os.path.join(root, "corpus")
    log(f"fuzzing {runs} executions (seed 1) for a corpus ...")
    subprocess.run([sys.executable, os.path.join(REPO, "fuzz", "run.py"), "--runs", str(runs), "--seed", "1",
                    "--no-coverage", "--save-corpus", saved, "--findings", os.path.join(root, "findings")],
                   check=False, stdout=subprocess.DEVNULL)
    directories = []
    for name in sorted(os.listdir(saved)):
        with open(os.path.join(saved, name), "rb") as f:
            files = corpus.unpack(f.read())
        directory = os.path.join(root, "modules", name)
        os.makedirs(directory)
        corpus.write_module_files(files, directory)
        directories.append(directory)
    return directories


def section(synthetic: list, corpus_rows: list, runs: int, repeat: int, host: list, note: str = "") -> str:
    lines = [
        BEGIN,
        "## Static path against input size",
        "",
        "Written by `python benchmarks/static.py` (do not edit by hand). Target: static time and memory",
        f"linear in the size of saved_model.pb; no input under {SIZE_LIMIT} MB takes more than "
        f"{TIME_LIMIT:g} s or {MEMORY_LIMIT} MB.",
        f"CPU seconds of `check(dir, Config(static=True))` + JSON rendering in a fresh process (median of {repeat});",
        "wall seconds beside them (the machine is shared: judge CPU seconds); peak RSS of the whole process",
        "and what the check added to it after imports. \"Within target\" is the absolute bound (1 s, 200 MB);",
        "CPU s per MB shows whether the cost is linear (InceptionV3 is the reference).",
        "",
        "| Input | saved_model.pb | CPU s | wall s | CPU s per MB | peak RSS MB | added MB | within target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, summary, row in synthetic:
        lines.append(f"| `{name}` | {row['size'] / MB:.2f} MB | {row['cpu']:.3f} | {row['wall']:.3f} | "
                     f"{per_mb(row, 'cpu'):.3f} | {row['peak']:.0f} | {row['added']:.0f} | "
                     f"{'yes' if within(row) else 'NO'} |")
    lines += ["", *[f"- `{name}`: {summary}" for name, summary, _ in synthetic]]
    if corpus_rows:
        sized = [r for r in corpus_rows if r["size"] >= PER_MB_FLOOR] or corpus_rows
        worst_rate = max(sized, key=lambda r: per_mb(r, "cpu"))
        worst_time = max(corpus_rows, key=lambda r: r["cpu"])
        worst_peak = max(corpus_rows, key=lambda r: r["peak"])
        failing = sum(1 for r in corpus_rows if not within(r))
        lines += [
            "",
            f"Fuzz corpus: the {len(corpus_rows)} inputs kept by `python fuzz/run.py --runs {runs} --seed 1` "
            f"({min(r['size'] for r in corpus_rows) / 1024:.0f}-{max(r['size'] for r in corpus_rows) / 1024:.0f} KB):",
            "",
            f"- worst CPU s per MB (the {len(sized)} inputs of at least {PER_MB_FLOOR // 1024} KB): "
            f"{per_mb(worst_rate, 'cpu'):.3f} ({worst_rate['cpu']:.3f} s for {worst_rate['size'] / 1024:.0f} KB; "
            "at this size the fixed cost of a check dominates)",
            f"- worst CPU s: {worst_time['cpu']:.3f} (wall {worst_time['wall']:.3f})",
            f"- worst peak RSS: {worst_peak['peak']:.0f} MB ({worst_peak['added']:.0f} MB added by the check)",
            f"- inputs outside the target: {failing}",
        ]
    if note:
        lines += ["", f"Note: {note}"]
    lines += ["", *[f"- {key}: {value}" for key, value in host], END]
    return "\n".join(lines)


def write_section(path: str, text: str) -> None:
    """Replace the section between the markers in ``path`` (or append it)."""
    existing = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        updated = head + text + rest.split(END, 1)[1]
    else:
        updated = existing.rstrip("\n") + "\n\n" + text + "\n"
    bench.write_atomically(path, updated)


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus-runs", type=int, default=1000, help="fuzzer executions for the corpus (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="processes per input; medians reported (3)")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 200 fuzz runs, BENCHMARKS.md left alone")
    parser.add_argument("--note", default="", help="a sentence of context printed under the figures")
    parser.add_argument("--output", default=None, help="the file to write the section into (BENCHMARKS.md)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.corpus_runs = 1, 200
    output = args.output or (None if args.quick else os.path.join(REPO, "BENCHMARKS.md"))
    log = bench.log
    host = [item for item in bench.machine() if item[0] in ("CPU", "Cores", "Python", "protobuf", "sigcheck", "Date",
                                                       "Load average at start (1, 5, 15 min)")]
    with tempfile.TemporaryDirectory(prefix="sigcheck-static-bench-") as root:
        synthetic = []
        for name, (path, summary) in build_synthetic(os.path.join(root, "synthetic"), log).items():
            row = measure(path, args.repeat)
            log(f"{name:<32} {row['size'] / MB:7.2f} MB  cpu {row['cpu']:7.3f} s  wall {row['wall']:7.3f} s  "
                f"peak {row['peak']:5.0f} MB")
            synthetic.append((name, summary, row))
        corpus_rows = []
        for directory in fuzz_corpus(root, args.corpus_runs, log):
            row = measure(directory, 1)
            if row is not None and row["size"]:  # inputs without a saved_model.pb end at once
                corpus_rows.append(row)
        log(f"corpus: {len(corpus_rows)} inputs measured")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    text = section(synthetic, corpus_rows, args.corpus_runs, args.repeat,
                   host + [("Load average at the end (1, 5, 15 min)", load)], note=args.note)
    print(text)
    if output:
        write_section(output, text)
        log(f"wrote the static-path section of {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
