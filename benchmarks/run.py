#!/usr/bin/env python3
"""Benchmark sigcheck on realistic modules, side by side with what it replaces.

    python benchmarks/run.py [--runs 5] [--quick]

Publishers run sigcheck on every commit and registries on every upload, so its
cost is the product.  This measures it on full-size modules (an InceptionV3
feature vector and a MobileNetV2 classifier, see sigcheck.fixtures.realistic,
built on demand into a cache) against the honest baselines:

1. ``sigcheck --static`` vs ``saved_model_cli show --all`` (what one would
   otherwise run to read a module's signatures);
2. ``sigcheck`` (full: static + runtime rules in every tag set) vs a consumer
   script: import TensorFlow, ``hub.load``, one forward pass of one image;
3. ``sigcheck`` on N copies of a module with ``--jobs 1`` and ``--jobs 2``.

Every figure is a whole process, from spawn to exit: wall time, and peak RSS
of the process tree (the RSS of the process and all its descendants, summed,
sampled every ~10 ms), because sigcheck's inference runs in a child process
and only the sum is comparable with a baseline that does everything in one.
Commands of one comparison run interleaved (alternating which goes first) on
the same module, after a warm-up round, and the medians are reported.  The
table goes to stdout and, with the machine description, to BENCHMARKS.md at
the repository root.  Only the standard library is used besides sigcheck and
what it installs.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Callable, Optional

from sigcheck.fixtures import realistic

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 2**20
SAMPLE_INTERVAL = 0.01  # seconds between RSS samples
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
LARGE = "inception_v3_feature_vector"  # the module the static and full targets are judged on
SMALL = "mobilenet_v2_classifier"  # the module copied for the many-modules comparison

# What a consumer of the module does, and nothing more: the baseline of the full check.
CONSUMER = """\
import sys
import tensorflow as tf
import tensorflow_hub as hub
path, height, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
module = hub.load(path, tags=set())
module.signatures["default"](images=tf.zeros([1, height, width, 3]))
"""


class BenchmarkError(RuntimeError):
    """A measured command failed: its figures would mean nothing."""


# --------------------------------------------------------------------------- measuring one process


@dataclass(frozen=True)
class Sample:
    """One run of one command."""

    wall: float  # seconds, spawn to exit
    cpu: float  # seconds of user + system CPU of the process and the descendants it waited for
    tree_rss: int  # bytes: peak of the summed RSS of the process and its descendants
    parent_rss: int  # bytes: peak RSS of the process alone


def _process_parents() -> dict:
    """pid -> parent pid of every process, from /proc/<pid>/stat (processes may vanish meanwhile)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: the fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        parents[int(entry)] = int(fields[1])
    return parents


def _tree(root: int) -> list:
    """``root`` and all its descendants (the kernel here offers no /proc/<pid>/task/*/children)."""
    children: dict = {}
    for pid, parent in _process_parents().items():
        children.setdefault(parent, []).append(pid)
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier.extend(children.get(pid, ()))
    return tree


def _rss(pid: int) -> int:
    """Resident bytes of ``pid`` (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler(threading.Thread):
    """Tracks the peak RSS of a process tree by sampling /proc every SAMPLE_INTERVAL.

    A thread, so that the main thread can block in ``wait()`` and take the
    exit time precisely.  Finding the tree means reading every process's
    stat (~1 ms), so the tree is re-discovered only every RESCAN_EVERY
    samples and the RSS of the known members read in between: the sampler
    costs ~1 % of a core instead of ~10 %, which matters on a 2-core machine
    running ``--jobs 2``.  A new process is seen within ~0.1 s, long before a
    TensorFlow worker has grown; sampling misses peaks shorter than the
    interval, immaterial for processes that grow over seconds.
    """

    RESCAN_EVERY = 10

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.tree_peak = 0
        self.parent_peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        members, count = [self.pid], 0
        while not self._done.is_set():
            if count % self.RESCAN_EVERY == 0:
                members = _tree(self.pid)
            self._sample(members)
            count += 1
            self._done.wait(SAMPLE_INTERVAL)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def _sample(self, members: list) -> None:
        sizes = {pid: _rss(pid) for pid in members}
        self.tree_peak = max(self.tree_peak, sum(sizes.values()))
        self.parent_peak = max(self.parent_peak, sizes.get(self.pid, 0))


def run_once(argv: list, cwd: str, env: dict) -> Sample:
    """Run ``argv`` to completion (stdout to /dev/null) and measure it; raise if it fails."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
        sampler = TreeSampler(process.pid)
        sampler.start()
        # wait4, not wait: its rusage adds the CPU time of the descendants the process reaped.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)
        sampler.stop()
        if code != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-15:]
            raise BenchmarkError(f"exit code {code} from:\n  {' '.join(argv)}\nstderr (tail):\n  "
                                 + "\n  ".join(tail))
    return Sample(wall, usage.ru_utime + usage.ru_stime, sampler.tree_peak, sampler.parent_peak)


# --------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class Command:
    label: str  # as shown in the table
    argv: tuple


@dataclass
class Comparison:
    """Two commands measured side by side on the same module(s); ratios are subject/baseline."""

    scenario: str
    module: str
    subject: Command
    baseline: Command
    subject_samples: list = field(default_factory=list)
    baseline_samples: list = field(default_factory=list)

    def median(self, which: str, metric: str) -> float:
        return statistics.median(getattr(s, metric) for s in getattr(self, f"{which}_samples"))

    def ratio(self, metric: str) -> float:
        return self.median("subject", metric) / self.median("baseline", metric)


def measure(comparison: Comparison, runs: int, warmup: int, cwd: str, env: dict, log: Callable) -> None:
    """Interleave the two commands, alternating which goes first, so drift hits both alike.

    Warm-up rounds (not recorded) bring the module and TensorFlow's libraries
    into the page cache for both, as on a CI machine that ran them before.
    """
    pair = [("subject", comparison.subject), ("baseline", comparison.baseline)]
    for round_ in range(-warmup, runs):
        for which, command in (pair if round_ % 2 == 0 else pair[::-1]):
            sample = run_once(list(command.argv), cwd, env)
            if round_ >= 0:
                getattr(comparison, f"{which}_samples").append(sample)
            tag = "warm-up" if round_ < 0 else f"run {round_ + 1}/{runs}"
            log(f"  {comparison.scenario:<6} {command.label:<34} {tag:<9} "
                f"{sample.wall:7.2f} s  cpu {sample.cpu:7.2f} s  tree {sample.tree_rss / MIB:6.0f} MiB  "
                f"parent {sample.parent_rss / MIB:7.0f} MiB")


def tool(script: str, module: str) -> list:
    """A console script of this interpreter's environment, else ``python -m module``.

    sys.executable is not resolved: in a virtualenv it is a symlink whose
    directory holds the environment's scripts.
    """
    path = os.path.join(os.path.dirname(sys.executable), script)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return [path]
    return [sys.executable, "-m", module]


def comparisons(modules: dict, copies: list) -> list:
    """The three comparisons of the issue, the static and full ones on both modules."""
    sigcheck = tool("sigcheck", "sigcheck")
    saved_model_cli = tool("saved_model_cli", "tensorflow.python.tools.saved_model_cli")
    result = []
    for name in (LARGE, SMALL):
        path = modules[name]
        result.append(Comparison(
            "static", name,
            Command("sigcheck --static --format json", (*sigcheck, "--static", "--format", "json", path)),
            Command("saved_model_cli show --all", (*saved_model_cli, "show", "--all", "--dir", path))))
    for name in (LARGE, SMALL):
        recipe = realistic.RECIPES[name]
        result.append(Comparison(
            "full", name,
            Command("sigcheck --format json", (*sigcheck, "--format", "json", modules[name])),
            Command("consumer: hub.load + 1 image", (sys.executable, "-c", CONSUMER, modules[name],
                                                     str(recipe.height), str(recipe.width)))))
    many = (*sigcheck, "--format", "json", *copies)
    result.append(Comparison(
        "jobs", f"{len(copies)} x {SMALL}",
        Command(f"sigcheck --jobs 2 ({len(copies)} modules)", (*many, "--jobs", "2")),
        Command(f"sigcheck --jobs 1 ({len(copies)} modules)", (*many, "--jobs", "1"))))
    return result


# --------------------------------------------------------------------------- modules


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    build_seconds: Optional[float]  # None: found in the cache


def ensure_modules(cache_dir: str, log: Callable) -> dict:
    """Build the realistic modules that are not cached yet, each in its own process.

    A separate process keeps TensorFlow out of this one and makes the build
    time an honest figure (TensorFlow import included).
    """
    modules = {}
    for name, recipe in realistic.RECIPES.items():
        build_seconds = None
        if not realistic.is_cached(name, cache_dir):
            log(f"building {name} ({recipe.summary}) into {cache_dir} ...")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sigcheck.fixtures.realistic", "--cache-dir", cache_dir, name],
                           check=True, stdout=subprocess.DEVNULL)
            build_seconds = time.perf_counter() - start
            log(f"  built in {build_seconds:.1f} s")
        modules[name] = Module(name, realistic.cache_path(name, cache_dir), build_seconds)
    return modules


def make_copies(source: str, count: int, root: str) -> list:
    """``count`` copies of the module ``source`` under ``root`` (distinct directories, as in a scan)."""
    copies = []
    for index in range(count):
        dest = os.path.join(root, f"module-{index}")
        shutil.copytree(source, dest)
        copies.append(dest)
    return copies


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    what: str
    figure: str
    limit: str
    met: bool


def targets(results: list) -> list:
    """The issue's targets, judged on the InceptionV3-sized module and the many-modules run."""
    static = next(c for c in results if c.scenario == "static" and c.module == LARGE)
    full = next(c for c in results if c.scenario == "full" and c.module == LARGE)
    jobs = next(c for c in results if c.scenario == "jobs")
    static_wall = static.median("subject", "wall")
    speedup = 1 / static.ratio("wall")
    static_rss = static.median("subject", "tree_rss") / MIB
    full_wall, full_rss, jobs_wall = full.ratio("wall"), full.ratio("tree_rss"), jobs.ratio("wall")
    return [
        Target("static check wall time (InceptionV3)", f"{static_wall:.3f} s", "<= 0.3 s", static_wall <= 0.3),
        Target("static check vs saved_model_cli show --all (InceptionV3)", f"{speedup:.1f}x faster",
               ">= 10x faster", speedup >= 10),
        Target("static check peak RSS, process tree (InceptionV3)", f"{static_rss:.0f} MiB", "<= 100 MiB",
               static_rss <= 100),
        Target("full check wall time / consumer baseline (InceptionV3)", f"{full_wall:.2f}x",
               "<= 2.0x (aim 1.5x)", full_wall <= 2.0),
        Target("full check peak RSS / consumer baseline, process trees (InceptionV3)", f"{full_rss:.2f}x",
               "<= 1.5x", full_rss <= 1.5),
        Target(f"--jobs 2 / --jobs 1 wall time ({jobs.module})", f"{jobs_wall:.2f}x", "<= 0.6x",
               jobs_wall <= 0.6),
    ]


# --------------------------------------------------------------------------- report


def _spread(values: list, scale: float, digits: int) -> str:
    """Median, and the min-max range when there is more than one run."""
    values = [v / scale for v in values]
    text = f"{statistics.median(values):.{digits}f}"
    if len(values) > 1:
        text += f" ({min(values):.{digits}f}-{max(values):.{digits}f})"
    return text


def figures_table(results: list) -> list:
    lines = ["| Scenario | Module | Command | Wall s | CPU s | Cores busy | Peak RSS, tree MiB "
             "| Peak RSS, parent only MiB |",
             "|---|---|---|---|---|---|---|---|"]
    for c in results:
        for command, samples in ((c.subject, c.subject_samples), (c.baseline, c.baseline_samples)):
            lines.append(f"| {c.scenario} | {c.module} | `{command.label}` "
                         f"| {_spread([s.wall for s in samples], 1, 3)} "
                         f"| {statistics.median(s.cpu for s in samples):.2f} "
                         f"| {statistics.median(s.cpu / s.wall for s in samples):.2f} "
                         f"| {_spread([s.tree_rss for s in samples], MIB, 0)} "
                         f"| {_spread([s.parent_rss for s in samples], MIB, 0)} |")
    return lines


def ratios_table(results: list) -> list:
    lines = ["| Scenario | Module | Ratio of | Wall | Peak RSS, tree | Peak RSS, parent only |",
             "|---|---|---|---|---|---|"]
    for c in results:
        lines.append(f"| {c.scenario} | {c.module} | `{c.subject.label}` / `{c.baseline.label}` "
                     f"| {c.ratio('wall'):.2f}x | {c.ratio('tree_rss'):.2f}x | {c.ratio('parent_rss'):.2f}x |")
    return lines


def targets_table(found: list) -> list:
    lines = ["| Target | Figure | Limit | Status |", "|---|---|---|---|"]
    lines += [f"| {t.what} | {t.figure} | {t.limit} | {'MET' if t.met else 'NOT MET'} |" for t in found]
    return lines


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _file_field(path: str, keys, separator: str):
    """The value after ``separator`` on the first line of ``path`` whose key is in ``keys``, or None."""
    try:
        with open(path) as f:
            for line in f:
                key, found, value = line.partition(separator)
                if found and key.strip() in keys:
                    return value.strip()
    except OSError:
        pass
    return None


def _cpuinfo_model() -> str:
    model = _file_field("/proc/cpuinfo", ("model name", "Model", "cpu model"), ":")
    return model or platform.processor() or platform.machine()


def _memory_total() -> str:
    total = _file_field("/proc/meminfo", ("MemTotal",), ":")
    return f"{int(total.split()[0]) / 2**20:.1f} GiB" if total else "unknown"


def _os_name() -> str:
    name = _file_field("/etc/os-release", ("PRETTY_NAME",), "=")
    return f"{name.strip(chr(34))}, kernel {platform.release()}" if name else platform.platform()


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> list:
    """What the figures depend on: hardware, OS and the versions of the stack."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("CPU", _cpuinfo_model()),
        ("Cores", f"{os.cpu_count()} logical ({usable} usable by this process)"),
        ("RAM", _memory_total()),
        ("OS", _os_name()),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("TensorFlow", _version("tensorflow")),
        ("tensorflow-hub", _version("tensorflow-hub")),
        ("tf-keras", _version("tf-keras")),
        ("protobuf", _version("protobuf")),
        ("sigcheck", f"{_version('sigcheck')}, commit {_git_commit()}"),
        ("Date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("Load average at start (1, 5, 15 min)", _load()),
    ]


def _load() -> str:
    """Other work on the machine skews every figure (above all --jobs): record how busy it was."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def report(results: list, found: list, modules: dict, host: list, runs: int, warmup: int, elapsed: float) -> str:
    """BENCHMARKS.md: the figures, ratios and targets, the machine, and how they were taken."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/run.py` (re-run it to refresh; do not edit by hand). Ratios are the",
        "targets, not absolute times: machines are noisy.",
        "",
        "## Targets",
        "",
        *targets_table(found),
        "",
        f"## Figures (median of {runs} run(s), min-max in brackets)",
        "",
        *figures_table(results),
        "",
        "## Ratios (medians)",
        "",
        *ratios_table(results),
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in host],
        f"- Load average at the end (1, 5, 15 min): {_load()}",
        "",
        "## Modules",
        "",
        "Built by `sigcheck.fixtures.realistic` (random-initialised tf_keras architectures exported as TF1 Hub",
        "modules with tag sets `{}` and `{train}`; never committed, cached under `$SIGCHECK_BENCH_CACHE` or",
        "`~/.cache/sigcheck-bench`).",
        "",
        *[f"- `{m.name}`: {realistic.RECIPES[m.name].summary}; "
          + (f"built in {m.build_seconds:.1f} s this run" if m.build_seconds is not None else "taken from the cache")
          for m in modules.values()],
        "",
        "## Method",
        "",
        f"- Whole processes, spawn to exit; {warmup} unrecorded warm-up round(s), then {runs} recorded round(s);",
        "  the two commands of a comparison alternate which runs first. The working directory is an empty",
        "  temporary directory, stdout goes to /dev/null, every command must exit 0.",
        "- Peak RSS of the process tree: RSS of the process and all its descendants, summed, sampled from",
        f"  /proc every {SAMPLE_INTERVAL * 1000:.0f} ms, the tree re-discovered every "
        f"{SAMPLE_INTERVAL * TreeSampler.RESCAN_EVERY * 1000:.0f} ms (sigcheck runs inference",
        "  in a child process). \"Parent only\" is the top process alone. Shared pages count once per process.",
        "- Baselines: `saved_model_cli show --all --dir MODULE`; a consumer script that imports TensorFlow and",
        "  tensorflow_hub, `hub.load(path, tags=set())` and runs `signatures[\"default\"]` on one zero image.",
        "- CPU s: user + system time of the process and of the descendants it reaped (`wait4`); cores busy:",
        "  CPU s / wall s, per run. A command already keeping every core busy has nothing to gain from more jobs.",
        "- `CUDA_VISIBLE_DEVICES=-1` for every command (CPU only, as sigcheck itself defaults to).",
        f"- The whole benchmark took {elapsed / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


def _kept_sections(path: str) -> str:
    """Sections other benchmarks wrote between their markers (benchmarks/registry.py,
    benchmarks/static.py, benchmarks/probes_select.py, benchmarks/startup.py): kept as they are when this
    script rewrites the rest."""
    try:
        with open(path, encoding="utf-8") as f:
            existing = f.read()
    except OSError:
        return ""
    kept = ""
    for begin, end in (("<!-- registry benchmark:", "<!-- end of registry benchmark -->"),
                       ("<!-- static-path:begin -->", "<!-- static-path:end -->"),
                       ("<!-- select-probes:begin -->", "<!-- select-probes:end -->"),
                       ("<!-- startup:begin -->", "<!-- startup:end -->"),
                       ("<!-- tf2:begin -->", "<!-- tf2:end -->")):
        start, stop = existing.find(begin), existing.find(end)
        if 0 <= start < stop:
            kept += "\n" + existing[start:stop + len(end)] + "\n"
    return kept


def write_atomically(path: str, text: str) -> None:
    """Write beside ``path`` and rename over it: a reader never sees a half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, partial = tempfile.mkstemp(prefix=".benchmarks-", suffix=".md", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise


# --------------------------------------------------------------------------- main


def parse_args(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="recorded runs per command; medians are reported (5)")
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded warm-up rounds per comparison (1)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1 run, no warm-up, and BENCHMARKS.md is left alone unless --output")
    parser.add_argument("--copies", type=int, default=8, help="modules in the --jobs comparison (8)")
    parser.add_argument("--cache-dir", default=realistic.default_cache_dir(),
                        help=f"where the realistic modules are built and kept (${realistic.CACHE_ENV} or "
                             "~/.cache/sigcheck-bench)")
    parser.add_argument("--output", default=None, help="the report to write (BENCHMARKS.md at the repository root)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.warmup = 1, 0
    if args.runs < 1 or args.warmup < 0 or args.copies < 1:
        parser.error("--runs and --copies must be >= 1, --warmup >= 0")
    if args.output is None and not args.quick:
        args.output = os.path.join(REPO, "BENCHMARKS.md")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    host = machine()  # now: the commit measured is the one checked out when the run starts
    modules = ensure_modules(args.cache_dir, log)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1"}
    with tempfile.TemporaryDirectory(prefix="sigcheck-bench-") as workdir:
        copies = make_copies(modules[SMALL].path, args.copies, os.path.join(workdir, "copies"))
        cwd = os.path.join(workdir, "cwd")
        os.mkdir(cwd)
        results = comparisons({name: m.path for name, m in modules.items()}, copies)
        try:
            for comparison in results:
                log(f"{comparison.scenario}: {comparison.module}")
                measure(comparison, args.runs, args.warmup, cwd, env, log)
        except BenchmarkError as error:
            log(f"benchmark failed: {error}")
            return 1
    found = targets(results)
    text = report(results, found, modules, host, args.runs, args.warmup, time.perf_counter() - started)
    print(text)
    if args.output:
        write_atomically(args.output, text + _kept_sections(args.output))
        log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
