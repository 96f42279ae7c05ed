#!/usr/bin/env python3
"""Benchmark scanning a registry: local jobs vs a Dask cluster, the result cache, client memory.

    python benchmarks/registry.py [--small 64] [--entries 250,1000,2000] [--output BENCHMARKS.md]
    python benchmarks/registry.py --memory-only [--external] [--variants NAME=VAR=VALUE,...]

On a corpus of small fixture modules plus the two realistic benchmark modules
(see benchmarks/run.py), one whole-process run each of ``scan --jobs 1``,
``--jobs 2`` and ``--cluster local:2`` (modules per minute), then a scan that
fills a result cache and repeated fully cached scans; finally the peak memory
of the client process (the scan's own; the LocalCluster's scheduler runs in a
child process, measured apart) for JSONL scans of hard-linked copies of one
module, at two or more sizes, to show it does not grow with the number of
modules.  The section it writes to BENCHMARKS.md sits
between markers that benchmarks/run.py keeps when it rewrites the file.

``--memory-only`` runs the client-memory scans alone (a few minutes) and prints
them, once per environment variant (e.g. ``base=SIGCHECK_MALLOC_ARENAS=0``);
``--external`` adds each scan on a ``dask scheduler`` and ``dask worker`` started
apart, so that the client's and the scheduler's growth show separately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import REPO, TreeSampler, _load, _rss, ensure_modules, machine, tool  # noqa: E402

from sigcheck.fixtures import realistic  # noqa: E402

BEGIN = "<!-- registry benchmark: written by benchmarks/registry.py -->"
END = "<!-- end of registry benchmark -->"
MIB = 2**20
# Fixture recipes of the small corpus: conformant modules and typical violations, all quick to run
# (no hanging, aborting or unsafe modules: those cost their timeout, not sigcheck's speed).
SMALL_RECIPES = (
    "fv-conformant", "classifier-conformant", "fv-no-image-info", "hub102-no-empty-tags", "hub103-train-differs",
    "hub104-global-step", "sig201-no-default", "sig202-no-task-name", "sig203-default-differs",
    "img301-input-named-image", "img302-uint8-input", "img304-fixed-batch", "out402-float64",
    "out405-train-output-dropout", "out406-unprefixed-extra", "run503-batch-statistics",
)
_BUILD = ("import sys\nfrom sigcheck.fixtures import Workspace\nfrom sigcheck.runtime.tfimport import "
          "quiet_native_stderr\nw = Workspace(sys.argv[1])\nwith quiet_native_stderr():\n"
          "    for name in sys.argv[2:]:\n        w.build(name)\n")


@dataclass(frozen=True)
class Run:
    label: str
    modules: int
    wall: float
    cpu: float
    tree_rss: int
    parent_rss: int
    host_rss: int = 0  # a ``local`` cluster's host process (its scheduler and nannies), 0: none


    @property
    def per_minute(self) -> float:
        return self.modules / self.wall * 60


class ClusterSampler(TreeSampler):
    """A TreeSampler that also keeps the peak RSS of the scan's ``local`` cluster host (the child
    process running the scheduler: sigcheck.cluster.LocalHost), apart from the client's."""

    def __init__(self, pid: int):
        super().__init__(pid)
        self.host_peak = 0
        self._host = None

    def _sample(self, members: list) -> None:
        super()._sample(members)
        if self._host is None:
            self._host = next((pid for pid in members if pid != self.pid and _is_host(pid)), None)
        if self._host is not None:
            self.host_peak = max(self.host_peak, _rss(self._host))


def _is_host(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"serve_local" in f.read()
    except OSError:
        return False


def measure(label: str, argv: list, modules: int, cwd: str, env: dict) -> Run:
    """One whole process, spawn to exit; exit 0 or 1 (the corpus has violations) are both fine."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
        sampler = ClusterSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop()
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            stderr.seek(0)
            raise SystemExit(f"exit code {code} from {' '.join(argv)}:\n{stderr.read().decode()[-2000:]}")
    run = Run(label, modules, wall, usage.ru_utime + usage.ru_stime, sampler.tree_peak, sampler.parent_peak,
              sampler.host_peak)
    host = f", scheduler {run.host_rss / MIB:.1f} MiB" if run.host_rss else ""
    print(f"  {label}: {wall:.1f} s, {run.per_minute:.1f} modules/min, client {run.parent_rss / MIB:.1f} MiB{host}",
          file=sys.stderr, flush=True)
    return run


def _copy_tree(source: str, dest: str, *, link: bool) -> None:
    def copy(src, dst):
        if link:
            try:
                return os.link(src, dst)
            except OSError:
                pass
        return shutil.copy2(src, dst)

    shutil.copytree(source, dest, copy_function=copy)


def small_corpus(workdir: str, count: int, env: dict) -> list:
    """``count`` distinct small modules: the recipes round-robin, each copy made unique by an asset."""
    built = os.path.join(workdir, "built")
    subprocess.run([sys.executable, "-c", _BUILD, built, *SMALL_RECIPES], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    corpus = os.path.join(workdir, "corpus")
    for index in range(count):
        name = SMALL_RECIPES[index % len(SMALL_RECIPES)]
        dest = os.path.join(corpus, f"{index:03d}-{name}")
        _copy_tree(os.path.join(built, name), dest, link=False)
        os.makedirs(os.path.join(dest, "assets"), exist_ok=True)
        with open(os.path.join(dest, "assets", "copy.txt"), "w") as f:
            f.write(f"copy {index}\n")  # a registry's modules differ: no cache hit among them
    return [built, corpus]


def hard_linked(source: str, count: int, root: str) -> str:
    for index in range(count):
        _copy_tree(source, os.path.join(root, f"entry-{index:05d}"), link=True)
    return root


def section(runs: dict, cached: list, memory: list, corpus_size: int, host: list, elapsed: float) -> str:
    jobs1, jobs2, dask, fill = runs["jobs1"], runs["jobs2"], runs["dask"], runs["fill"]
    cached_wall = statistics.median(r.wall for r in cached)
    dask_ratio = dask.wall / jobs2.wall
    small, large = memory[0], memory[-1]
    growth = (large.parent_rss - small.parent_rss) / MIB
    per_module = _per_module(small, large)
    host_per_module = _per_module(small, large, "host_rss")
    status = lambda ok: "MET" if ok else "NOT MET"  # noqa: E731
    lines = [
        BEGIN,
        "## Registry scale (`benchmarks/registry.py`)",
        "",
        f"Corpus: {corpus_size - 2} small fixture modules ({len(SMALL_RECIPES)} recipes, conformant and "
        "violating, each copy unique) plus `inception_v3_feature_vector` and `mobilenet_v2_classifier`: "
        f"{corpus_size} modules, full checks (static + runtime). One run per command (the machine is shared;"
        " see the load averages below).",
        "",
        "| Target | Figure | Limit | Status |",
        "|---|---|---|---|",
        f"| `--cluster local:2` wall / `--jobs 2` wall | {dask_ratio:.2f}x | <= 1.2x | {status(dask_ratio <= 1.2)} |",
        f"| fully cached scan of the {corpus_size} modules (median of {len(cached)}) | {cached_wall:.2f} s | "
        f"< 2 s | {status(cached_wall < 2)} |",
        f"| client peak RSS, {large.modules} vs {small.modules} entries (`--format jsonl`) | "
        f"{growth:+.1f} MiB, {per_module:+.2f} KB/module | flat: < 1 KB/module | {status(per_module < 1)} |",
        f"| (not a target) the local cluster's scheduler process, same scans | "
        f"{(large.host_rss - small.host_rss) / MIB:+.1f} MiB, {host_per_module:+.2f} KB/module | - | - |",
        "",
        "| Command | Modules | Wall s | Modules/min | CPU s | Cores busy | Peak RSS, tree MiB | "
        "Peak RSS, client MiB | Peak RSS, scheduler MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in (jobs1, jobs2, dask, fill, *cached, *memory):
        scheduler = f"{run.host_rss / MIB:.1f}" if run.host_rss else "-"
        lines.append(f"| {run.label} | {run.modules} | {run.wall:.2f} | {run.per_minute:.1f} | {run.cpu:.1f} | "
                     f"{run.cpu / run.wall:.2f} | {run.tree_rss / MIB:.0f} | {run.parent_rss / MIB:.1f} | {scheduler} |")
    lines += [
        "",
        f"- `--jobs 2` / `--jobs 1`: {jobs2.wall / jobs1.wall:.2f}x wall; `--cluster local:2` / `--jobs 1`: "
        f"{dask.wall / jobs1.wall:.2f}x; filling the cache costs {fill.wall / jobs2.wall:.2f}x a `--jobs 2` scan.",
        "- Growth per module between sizes, client / scheduler: " + ", ".join(
            f"{a.modules} -> {b.modules}: {_per_module(a, b):+.2f} / {_per_module(a, b, 'host_rss'):+.2f} KB/module"
            for a, b in zip(memory, memory[1:])) + ".",
        f"- The memory scans check {', '.join(str(m.modules) for m in memory)} hard-linked copies of "
        "`mobilenet_v2_classifier` with `--static` on `--cluster local:2` and stream JSONL to a file. The scan's "
        "process holds the Dask client alone (the client column); the LocalCluster's scheduler and nannies run in "
        "a child process of its own (the scheduler column; its worker processes are in the tree only). The client "
        "submits a bounded window of modules a batch at a time; the Dask logs kept in memory are 50 entries long.",
        f"- Machine: {dict(host)['CPU']}, {dict(host)['Cores']}; {dict(host)['Date']}; sigcheck "
        f"{dict(host)['sigcheck']}; Dask distributed {_dask_version()}.",
        f"- Load average at start: {dict(host)['Load average at start (1, 5, 15 min)']}; at the end: {_load()} "
        "(the benchmark's own scans count in it; other work on the same cores makes absolute figures "
        "pessimistic and ratios noisy).",
        f"- The registry benchmark took {elapsed / 60:.1f} min.",
        END,
    ]
    return "\n".join(lines) + "\n"


def _per_module(small: Run, large: Run, field: str = "parent_rss") -> float:
    """KB of growth per module from ``small`` to ``large``."""
    return (getattr(large, field) - getattr(small, field)) / 1024 / (large.modules - small.modules)


def _dask_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("distributed")
    except metadata.PackageNotFoundError:
        return "not installed"


def write_section(path: str, text: str) -> None:
    """Replace the marked section of ``path`` (or append it), leaving the rest alone."""
    current = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        current = head.rstrip("\n") + "\n\n" + rest.split(END, 1)[1].lstrip("\n")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(current.rstrip("\n") + "\n\n" + text)
    os.replace(path + ".tmp", path)


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=64, help="small modules in the corpus (64)")
    parser.add_argument("--entries", default="250,1000,2000", help="sizes of the client-memory scans (250,1000,2000)")
    parser.add_argument("--cached-runs", type=int, default=5, help="fully cached scans; the median counts (5)")
    parser.add_argument("--output", default=os.path.join(REPO, "BENCHMARKS.md"), help="where the section goes")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the client-memory scans, printed (BENCHMARKS.md untouched)")
    parser.add_argument("--external", action="store_true",
                        help="with --memory-only: also scan on a scheduler and workers started apart "
                             "(`dask scheduler`, `dask worker`), measuring client and scheduler separately")
    parser.add_argument("--variants", default="",
                        help="with --memory-only: NAME=VAR=VALUE,... extra environment per variant, each "
                             "variant measured at every size, interleaved (e.g. 'base=SIGCHECK_MALLOC_TRIM=0')")
    args = parser.parse_args(argv)
    entries = [int(n) for n in args.entries.split(",")]
    if args.memory_only:
        return memory_only(entries, args.variants, args.external)
    started = time.perf_counter()
    host = machine()
    modules = ensure_modules(realistic.default_cache_dir(), lambda m: print(m, file=sys.stderr))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1"}
    sigcheck = tool("sigcheck", "sigcheck")
    with tempfile.TemporaryDirectory(prefix="sigcheck-registry-bench-") as workdir:
        env["TMPDIR"] = workdir  # the workers' scratch space goes away with the rest
        _, corpus = small_corpus(workdir, args.small, env)
        for name in (realistic.RECIPES):
            _copy_tree(modules[name].path, os.path.join(corpus, f"zz-{name}"), link=True)
        size = args.small + len(realistic.RECIPES)
        cwd = os.path.join(workdir, "cwd")
        os.mkdir(cwd)
        cache = os.path.join(workdir, "cache")
        scan = [*sigcheck, "scan", corpus, "--format", "json", "-o", os.path.join(workdir, "out.json")]
        print(f"corpus of {size} modules ready; scanning", file=sys.stderr)
        runs = {
            "jobs1": measure("`scan --jobs 1`", [*scan, "--jobs", "1"], size, cwd, env),
            "jobs2": measure("`scan --jobs 2`", [*scan, "--jobs", "2"], size, cwd, env),
            "dask": measure("`scan --cluster local:2`", [*scan, "--cluster", "local:2"], size, cwd, env),
            "fill": measure("`scan --jobs 2 --cache DIR` (empty cache)", [*scan, "--jobs", "2", "--cache", cache],
                            size, cwd, env),
        }
        cached = [measure("`scan --jobs 2 --cache DIR` (all cached)", [*scan, "--jobs", "2", "--cache", cache],
                          size, cwd, env) for _ in range(args.cached_runs)]
        memory = []
        for count in entries:
            root = hard_linked(modules["mobilenet_v2_classifier"].path, count, os.path.join(workdir, f"big-{count}"))
            memory.append(measure(f"`scan --cluster local:2 --static --format jsonl` ({count} entries)",
                                  [*sigcheck, "scan", root, "--cluster", "local:2", "--static", "--format", "jsonl",
                                   "-o", os.path.join(workdir, f"big-{count}.jsonl")], count, cwd, env))
            shutil.rmtree(root)
    text = section(runs, cached, memory, size, host, time.perf_counter() - started)
    print(text)
    write_section(args.output, text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def external_scan(root: str, count: int, label: str, sigcheck: list, cwd: str, env: dict, out: str):
    """A scan on ``dask scheduler`` and ``dask worker --nworkers 2`` started apart: (client run,
    scheduler peak RSS)."""
    from sigcheck.cluster import _LOCAL_SETTINGS

    env = {**env, **{"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
                     for key, value in _LOCAL_SETTINGS.items()}}
    address = f"tcp://127.0.0.1:{_free_port()}"
    quiet = dict(cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", address.rsplit(":", 1)[1], "--no-dashboard"], **quiet)
    sampler = TreeSampler(scheduler.pid)
    sampler.start()
    workers = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2",
                                "--nthreads", "1", "--no-dashboard"], **quiet)
    try:
        time.sleep(3)
        run = measure(label, [*sigcheck, "scan", root, "--cluster", address, "--static", "--format", "jsonl",
                              "-o", out], count, cwd, env)
    finally:
        for process in (workers, scheduler):
            process.terminate()
            process.wait()
        sampler.stop()
    print(f"    scheduler {sampler.parent_peak / MIB:.1f} MiB", file=sys.stderr, flush=True)
    return run, sampler.parent_peak


def memory_only(entries: list, variants: str, external: bool = False) -> int:
    """The client-memory scans alone (a few minutes, not the whole benchmark), for each variant of
    the environment, sizes interleaved so that a change of load hits every variant alike."""
    named = {"default": {}}
    for item in filter(None, variants.split(",")):
        name, _, assignment = item.partition("=")
        var, _, value = assignment.partition("=")
        named.setdefault(name, {})[var] = value
    modules = ensure_modules(realistic.default_cache_dir(), lambda m: print(m, file=sys.stderr))
    sigcheck = tool("sigcheck", "sigcheck")
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    results = {name: [] for name in named}
    schedulers = {}
    with tempfile.TemporaryDirectory(prefix="sigcheck-registry-mem-") as workdir:
        cwd = os.path.join(workdir, "cwd")
        os.mkdir(cwd)
        for count in entries:
            root = hard_linked(modules["mobilenet_v2_classifier"].path, count, os.path.join(workdir, f"big-{count}"))
            for name, extra in named.items():
                env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TMPDIR": workdir, **extra}
                results[name].append(measure(f"{name}: {count} entries",
                                             [*sigcheck, "scan", root, "--cluster", "local:2", "--static",
                                              "--format", "jsonl", "-o", os.path.join(workdir, "out.jsonl")],
                                             count, cwd, env))
                if external:
                    run, peak = external_scan(root, count, f"{name} (scheduler apart): {count} entries", sigcheck,
                                              cwd, env, os.path.join(workdir, "out.jsonl"))
                    results.setdefault(f"{name} (scheduler apart)", []).append(run)
                    schedulers.setdefault(f"{name} (scheduler apart)", []).append(
                        Run("scheduler", count, 0, 0, peak, peak))
            shutil.rmtree(root)
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    local = [(f"{k}, its local scheduler", [replace(r, parent_rss=r.host_rss) for r in v])
             for k, v in results.items() if all(r.host_rss for r in v)]
    for name, runs in [*results.items(), *local, *((f"{k}, its scheduler", v) for k, v in schedulers.items())]:
        small, large = runs[0], runs[-1]
        steps = ", ".join(f"{a.modules} -> {b.modules}: {_per_module(a, b):+.2f}" for a, b in zip(runs, runs[1:]))
        print(f"{name}: peak RSS " + " / ".join(f"{r.parent_rss / MIB:.1f}" for r in runs) + " MiB; "
              f"{_per_module(small, large):+.2f} KB/module overall ({steps} KB/module)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
