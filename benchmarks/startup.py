#!/usr/bin/env python3
"""Start-up cost of the static path (issue 11): sigcheck vs ``saved_model_cli`` in the same run.

    python benchmarks/startup.py [--runs 9] [--baseline DIR] [--installed SCRIPT]

Checks the InceptionV3-sized module (cached by benchmarks/run.py) with
``sigcheck --static --format json`` and lists it with ``saved_model_cli show
--all``, interleaved so both see the same load; with ``--baseline DIR`` (a
source tree of another commit, e.g. ``git archive layout-1 | tar -x -C DIR``)
that tree's sigcheck runs in the same rounds; with ``--installed SCRIPT`` (the
``sigcheck`` console script of a normal, non-editable install, e.g. ``VENV/bin/sigcheck``)
that command too.  The interpreter's own start-up (``python -c pass``, this
environment's site hooks included) is measured beside them: it counts in every
figure and no change to sigcheck removes it.  Prints median wall and CPU
seconds and the ratio.  The machine is shared: CPU seconds are the steadier
figure.  Modules are compiled to bytecode first, as an install does (an
environment with PYTHONDONTWRITEBYTECODE would otherwise compile every run).
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(os.environ.get("SIGCHECK_BENCH_CACHE", os.path.expanduser("~/.cache/sigcheck-bench")),
                      "inception_v3_feature_vector-v1")


def timed(argv, env) -> tuple:
    """(wall, CPU) seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, cwd="/tmp")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed: {done.stderr.decode()[-500:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--baseline", metavar="DIR")
    parser.add_argument("--installed", metavar="SCRIPT", help="a non-editable install's sigcheck console script")
    args = parser.parse_args(argv)
    bindir = os.path.dirname(sys.executable)
    sigcheck = [sys.executable, "-m", "sigcheck", "--static", "--format", "json", MODULE]
    commands = {"python -c pass (interpreter floor)": ([sys.executable, "-c", "pass"], {}),
                "sigcheck --static --format json": (sigcheck, {"PYTHONPATH": REPO})}
    if args.baseline:
        commands["baseline sigcheck"] = (sigcheck, {"PYTHONPATH": args.baseline})
    if args.installed:
        commands["installed sigcheck (console script)"] = (
            [args.installed, "--static", "--format", "json", MODULE], {})
    script = os.path.join(bindir, "saved_model_cli")
    saved_model_cli = [script] if os.access(script, os.X_OK) else [
        sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    commands["saved_model_cli show --all"] = ([*saved_model_cli, "show", "--all", "--dir", MODULE], {})
    for tree in filter(None, (REPO, args.baseline)):
        compileall.compile_dir(os.path.join(tree, "sigcheck"), quiet=1)
    samples = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, (command, extra) in commands.items():
            samples[name].append(timed(command, {**os.environ, **extra, "CUDA_VISIBLE_DEVICES": "-1"}))
    medians = {name: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
               for name, s in samples.items()}
    for name, (wall, cpu) in medians.items():
        print(f"| {name} | {wall:.3f} | {cpu:.3f} |")
    cli_wall, cli_cpu = medians["saved_model_cli show --all"]
    for name in [n for n in commands if "sigcheck" in n and "floor" not in n]:
        wall, cpu = medians[name]
        print(f"saved_model_cli / {name}: {cli_wall / wall:.1f}x wall, {cli_cpu / cpu:.1f}x CPU")
    print("load average:", open("/proc/loadavg").read().split()[:3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
