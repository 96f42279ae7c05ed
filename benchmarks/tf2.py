#!/usr/bin/env python3
"""Benchmark sigcheck on a TF2 SavedModel of realistic size, beside the TF1 figures.

    python benchmarks/tf2.py [--runs 5] [--quick]

The module: tf_keras' MobileNetV2 classifier (224x224 -> 1000 logits, weights=None,
random-initialised) exported with ``tf.saved_model.save``, built once into the
benchmark cache (``$SIGCHECK_BENCH_CACHE`` or ``~/.cache/sigcheck-bench``).
Interleaved with benchmarks/run.py's ``measure``, as whole processes:

- static: ``sigcheck --static`` on the TF2 model vs ``saved_model_cli show --all`` on it;
- static: the TF2 model vs the TF1 Hub MobileNetV2 of benchmarks/run.py (same architecture);
- full: ``sigcheck`` on the TF2 model (``tf.saved_model.load`` in the worker, the TF2 image API's
  probes on ``__call__``, ``hub.KerasLayer`` twice) vs a consumer (``hub.load`` + ``__call__`` on one image);
- full: the TF2 model vs the TF1 Hub MobileNetV2 (the same architecture, the TF1 runtime).

Ratios are the figures; the machine is shared.  The section it writes into
BENCHMARKS.md sits between markers that benchmarks/run.py keeps.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("bench_run", os.path.join(REPO, "benchmarks", "run.py"))
bench = sys.modules["bench_run"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
BEGIN, END = "<!-- tf2:begin -->", "<!-- tf2:end -->"
NAME = "tf2_mobilenet_v2_classifier-v1"
NOTE = ("Targets, as for TF1 (README, Benchmarks): a full check <= 2.0x the consumer's wall time and <= 1.5x its "
        "peak RSS. The TF2 full check costs about twice the TF1 one because restoring a TF2 object graph "
        "(`tf.saved_model.load`: functions and 262 variables) costs more than the TF1 loader; the consumer pays it too.")

BUILD = """\
import sys
import tensorflow as tf
import tf_keras
tf_keras.utils.set_random_seed(0)
model = tf_keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classes=1000,
                                          classifier_activation=None)
tf.saved_model.save(model, sys.argv[1])
"""
CONSUMER = """\
import sys
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
model = hub.load(sys.argv[1])
model(tf.constant(np.zeros((1, 224, 224, 3), np.float32)), training=False).numpy()
"""


def ensure_tf2_module(cache_dir: str) -> str:
    path = os.path.join(cache_dir, NAME)
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        bench.log(f"building {NAME} into {cache_dir} ...")
        partial = f"{path}.partial-{os.getpid()}"
        subprocess.run([sys.executable, "-c", BUILD, partial], check=True,
                       env={**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "3"})
        os.rename(partial, path)
    return path


def comparisons(tf2_path: str, tf1_path: str) -> list:
    sigcheck = bench.tool("sigcheck", "sigcheck")
    saved_model_cli = bench.tool("saved_model_cli", "tensorflow.python.tools.saved_model_cli")
    static = ("--static", "--format", "json")
    return [
        bench.Comparison("static", NAME,
                         bench.Command("sigcheck --static (TF2)", (*sigcheck, *static, tf2_path)),
                         bench.Command("saved_model_cli show --all (TF2)",
                                       (*saved_model_cli, "show", "--all", "--dir", tf2_path))),
        bench.Comparison("static", f"{NAME} vs {bench.SMALL}",
                         bench.Command("sigcheck --static (TF2)", (*sigcheck, *static, tf2_path)),
                         bench.Command("sigcheck --static (TF1 Hub)", (*sigcheck, *static, tf1_path))),
        bench.Comparison("full", NAME,
                         bench.Command("sigcheck --format json (TF2)", (*sigcheck, "--format", "json", tf2_path)),
                         bench.Command("consumer: hub.load + __call__ 1 image",
                                       (sys.executable, "-c", CONSUMER, tf2_path))),
        bench.Comparison("full", f"{NAME} vs {bench.SMALL}",
                         bench.Command("sigcheck --format json (TF2)", (*sigcheck, "--format", "json", tf2_path)),
                         bench.Command("sigcheck --format json (TF1 Hub)", (*sigcheck, "--format", "json", tf1_path))),
    ]


def section(results: list, runs: int, warmup: int, size_mb: float) -> str:
    host = dict(bench.machine())
    lines = [
        BEGIN,
        "## TF2 SavedModel of realistic size (`benchmarks/tf2.py`)",
        "",
        f"tf_keras MobileNetV2 classifier (224x224 -> 1000 logits, weights=None) exported with "
        f"`tf.saved_model.save` ({size_mb:.1f} MB saved_model.pb); median of {runs} interleaved run(s) after "
        f"{warmup} warm-up round(s), min-max in brackets; load average at start "
        f"{host.get('Load average at start (1, 5, 15 min)', '?')} on a shared machine: read the ratios. "
        "A full check loads the TF2 model once with `tf.saved_model.load` in the worker, runs the TF2 image "
        "API's probes on `__call__` (batch sizes 1, 2, 5, all 8 images, repeats with training=False and "
        "training=True) and wraps it in `hub.KerasLayer` twice (RSM811, RSM812); the TF1 row runs the TF1 "
        "Hub MobileNetV2 of the same architecture.",
        "",
        "| Scenario | Command | Wall s | CPU s | Peak RSS, tree MiB |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        for which in ("subject", "baseline"):
            samples = getattr(result, f"{which}_samples")
            lines.append(f"| {result.scenario} | `{getattr(result, which).label}` "
                         f"| {bench._spread([s.wall for s in samples], 1, 3)} | {result.median(which, 'cpu'):.2f} "
                         f"| {bench._spread([s.tree_rss for s in samples], bench.MIB, 0)} |")
    lines += ["", "| Ratio | Wall | CPU | Peak RSS, tree |", "|---|---|---|---|"]
    for result in results:
        lines.append(f"| `{result.subject.label}` / `{result.baseline.label}` | {result.ratio('wall'):.2f}x "
                     f"| {result.ratio('cpu'):.2f}x | {result.ratio('tree_rss'):.2f}x |")
    lines += ["", NOTE, "", f"(sigcheck {host.get('sigcheck', '?')})", END]
    return "\n".join(lines)


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 run, no warm-up, BENCHMARKS.md left alone")
    parser.add_argument("--cache-dir", default=bench.realistic.default_cache_dir())
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.warmup = 1, 0
    os.makedirs(args.cache_dir, exist_ok=True)
    modules = bench.ensure_modules(args.cache_dir, bench.log)
    tf2_path = ensure_tf2_module(args.cache_dir)
    results = comparisons(tf2_path, modules[bench.SMALL].path)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1"}
    with tempfile.TemporaryDirectory(prefix="sigcheck-bench-") as cwd:
        for result in results:
            bench.measure(result, args.runs, args.warmup, cwd, env, bench.log)
    size_mb = os.path.getsize(os.path.join(tf2_path, "saved_model.pb")) / 2**20
    text = section(results, args.runs, args.warmup, size_mb)
    print(text)
    if not args.quick:
        path = os.path.join(REPO, "BENCHMARKS.md")
        with open(path, encoding="utf-8") as f:
            existing = f.read()
        start, stop = existing.find(BEGIN), existing.find(END)
        if 0 <= start < stop:
            existing = existing[:start].rstrip("\n") + existing[stop + len(END):]
        bench.write_atomically(path, existing.rstrip("\n") + "\n\n" + text + "\n")
        bench.log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
