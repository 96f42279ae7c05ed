"""The cost of `sigcheck diff` against a full check of one module (target: under 1.5x).

Measures whole processes in the same run, alternating: `sigcheck M` (a full
check) and `sigcheck diff M M2`, where M is the MobileNetV2-sized classifier
of fixtures/realistic.py (built into ~/.cache/sigcheck-bench on first use) and
M2 a copy of it (so that both graphs are read and loaded). Prints wall and
CPU seconds (children included) and the ratio of medians; `--record` appends
them to BENCHMARKS.md.

    python benchmarks/diff.py [--runs 3] [--record]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from sigcheck.fixtures import realistic

NAME = "mobilenet_v2_classifier"


def timed(argv: list) -> tuple:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    module = realistic.build_cached(NAME)
    sigcheck = [sys.executable, "-m", "sigcheck", "--quiet"]
    with tempfile.TemporaryDirectory(prefix="sigcheck-bench-diff-") as tmp:
        copy = shutil.copytree(module, os.path.join(tmp, "v2"))
        check_argv = sigcheck + [module, "--format", "json"]
        diff_argv = sigcheck + ["diff", module, copy, "--format", "json"]
        timed(check_argv)  # warm the page cache for both
        checks, diffs = [], []
        for _ in range(args.runs):
            checks.append(timed(check_argv))
            diffs.append(timed(diff_argv))
    rows = []
    for label, samples in (("full check of one module", checks), ("diff of two modules", diffs)):
        rows.append((label, statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)))
    wall_ratio, cpu_ratio = rows[1][1] / rows[0][1], rows[1][2] / rows[0][2]
    lines = [f"### sigcheck diff ({NAME}, median of {args.runs} runs)", "",
             "| Run | Wall s | CPU s |", "|---|---|---|"]
    lines += [f"| {label} | {wall:.2f} | {cpu:.2f} |" for label, wall, cpu in rows]
    lines += ["", f"diff / full check: wall {wall_ratio:.2f}x, CPU {cpu_ratio:.2f}x "
                  f"(target < 1.5x: {'met' if wall_ratio < 1.5 else 'NOT met'})", ""]
    print("\n".join(lines))
    if args.record:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "BENCHMARKS.md"), "a",
                  encoding="utf-8") as f:
            f.write("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
