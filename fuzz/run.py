#!/usr/bin/env python3
"""Fuzz sigcheck's static path with structure-aware mutations of real modules.

    python fuzz/run.py --seconds 1800                # a long run; prints executions and coverage
    python fuzz/run.py --runs 3000 --seed 1          # a fixed, reproducible budget (what CI runs)
    python fuzz/run.py --engine atheris --seconds 600  # libFuzzer's coverage feedback (pip install atheris)
    python fuzz/run.py --replay FINDING              # re-run one saved input and show what it does

Seeds are fixture modules (sigcheck.fixtures recipes, built once into
~/.cache/sigcheck-fuzz/seeds by a TensorFlow subprocess; this process never
imports TensorFlow).  Every input is written as a module directory and run
through the static path in this process (fuzz/target.py says what counts as a
finding).  Findings are saved under --findings (default fuzz/findings/) as
containers (fuzz/corpus.py); ``--unpack FINDING DIR`` writes one out as a
module directory for ``sigcheck --static DIR``.  Exit status: 0 no finding,
1 findings, 2 bad usage.

Engines: ``builtin`` (default) picks a corpus input, mutates it and keeps the
result when it executes a line-to-line arc of sigcheck no input did before
(sys.settrace); with --runs and --seed its run is exactly reproducible.
``atheris`` hands the same mutator and target to libFuzzer (coverage from
atheris' bytecode instrumentation; stops at the first finding).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# Built in this order by one fresh process, so that the names TensorFlow numbers (while_body_44) are
# the same on every machine; sec601-write-file is left out because its graph holds its own path.
SEED_RECIPES = ("fv-conformant", "classifier-conformant", "run-hangs", "sec601-abort", "img307-div255",
                "out405-hidden-train-dropout", "hub104-global-step", "hub107-const-content-size")
MAX_LEN = 2 * 2**20  # largest input the engines make (bytes)


def default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("SIGCHECK_FUZZ_CACHE") or os.path.join(base, "sigcheck-fuzz")


def ensure_seeds(seeds_dir: str, log) -> list:
    """Seed modules' directories, built by a TensorFlow subprocess when missing."""
    if not all(os.path.isfile(os.path.join(seeds_dir, n, "saved_model.pb")) for n in SEED_RECIPES):
        log(f"building {len(SEED_RECIPES)} seed modules into {seeds_dir} ...")
        shutil.rmtree(seeds_dir, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "sigcheck.fixtures", seeds_dir, *SEED_RECIPES], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [os.path.join(seeds_dir, n) for n in SEED_RECIPES]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- builtin engine


class Stats:
    def __init__(self):
        self.executions = 0
        self.findings: dict = {}  # signature -> (Finding, path)
        self.started = time.perf_counter()


def save_finding(data: bytes, finding, findings_dir: str) -> str:
    os.makedirs(findings_dir, exist_ok=True)
    path = os.path.join(findings_dir, f"{finding.kind.replace(' ', '-')}-{hashlib.sha1(data).hexdigest()[:12]}")
    with open(path, "wb") as f:
        f.write(data)
    return path


def fuzz_builtin(seed_dirs: list, args, stats: Stats):
    import corpus
    from mutator import Mutator
    from target import FORMATS, Finding, check_files, warm_up
    from tracing import ArcTracer

    rng = random.Random(args.seed)
    mutator = Mutator(rng)
    tracer = ArcTracer()
    entries = [corpus.pack(corpus.canonical(corpus.read_module_files(d))) for d in seed_dirs]
    seen: set = set()
    deadline = stats.started + args.seconds if args.seconds else None
    with tempfile.TemporaryDirectory(prefix="sigcheck-fuzz-") as work:
        directory = os.path.join(work, "module")
        os.makedirs(directory)

        def execute(data: bytes) -> bool:
            """Run one input; True when it reached new arcs."""
            files = corpus.unpack(data)
            stats.executions += 1
            try:
                check_files(files, directory, tracer=tracer)
                new = tracer.arcs - seen
                if new:  # new behaviour: time it untraced and render it in every format too
                    check_files(files, directory, formats=tuple(FORMATS))
            except Finding as finding:
                signature = (finding.kind, str(finding).split(" (at ")[0][:160])
                if signature not in stats.findings:
                    path = save_finding(data, finding, args.findings)
                    stats.findings[signature] = (finding, path)
                    log(f"FINDING #{len(stats.findings)} after {stats.executions} executions: {finding} -> {path}")
                return False
            seen.update(new)
            return bool(new)

        warm_up()
        for data in entries:
            execute(data)
        last_status = time.perf_counter()
        while True:
            if args.runs and stats.executions >= args.runs:
                break
            if deadline and time.perf_counter() >= deadline:
                break
            parent = entries[rng.randrange(len(entries))]
            child = corpus.pack(mutator.mutate_files(corpus.unpack(parent)))
            if len(child) > MAX_LEN:
                continue
            if execute(child):
                entries.append(child)
            if time.perf_counter() - last_status > 30:
                last_status = time.perf_counter()
                log(f"#{stats.executions} corpus {len(entries)} arcs {len(seen)} findings {len(stats.findings)} "
                    f"{stats.executions / (last_status - stats.started):.0f} exec/s")
    return entries, seen


# --------------------------------------------------------------------------- atheris engine


def fuzz_atheris(seed_dirs: list, args, stats: Stats):
    """libFuzzer in a child process (it exits when done); then the corpus is replayed for line coverage."""
    import corpus

    corpus_dir = args.corpus or os.path.join(default_cache(), "atheris-corpus")
    os.makedirs(corpus_dir, exist_ok=True)
    for directory in seed_dirs:
        data = corpus.pack(corpus.canonical(corpus.read_module_files(directory)))
        with open(os.path.join(corpus_dir, "seed-" + os.path.basename(directory)), "wb") as f:
            f.write(data)
    os.makedirs(args.findings, exist_ok=True)
    libfuzzer = [f"-max_total_time={int(args.seconds or 60)}", f"-seed={args.seed}", f"-max_len={MAX_LEN}",
                 "-timeout=30", "-rss_limit_mb=4096", "-print_final_stats=1",
                 f"-artifact_prefix={os.path.join(args.findings, '')}", corpus_dir]
    if args.runs:
        libfuzzer.insert(0, f"-runs={args.runs}")
    with tempfile.TemporaryDirectory(prefix="sigcheck-fuzz-") as work:  # libFuzzer exits without cleaning up
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--atheris-child", work, *libfuzzer],
                               stderr=subprocess.PIPE, text=True)
    for line in child.stderr.splitlines():
        if line.startswith(("#", "stat::", "==", "INFO: ", "FINDING")) or "Error" in line or "Finding" in line:
            log(line)
        if line.startswith("stat::number_of_executed_units:"):
            stats.executions = int(line.split(":")[-1])
    if child.returncode != 0:
        stats.findings[("atheris", str(child.returncode))] = (f"libFuzzer exited {child.returncode}", args.findings)
    entries = []
    for name in sorted(os.listdir(corpus_dir)):
        with open(os.path.join(corpus_dir, name), "rb") as f:
            entries.append(f.read())
    return entries, None


def atheris_child(work: str, libfuzzer_args: list) -> None:
    import atheris

    with atheris.instrument_imports(include=["sigcheck"]):
        import corpus
        from mutator import Mutator
        from target import FORMATS, QUICK_FORMATS, check_files, warm_up

    directory = os.path.join(work, "module")
    os.makedirs(directory)

    count = 0

    warm_up()

    def test_one_input(data: bytes) -> None:
        nonlocal count
        count += 1
        check_files(corpus.unpack(data), directory, formats=FORMATS if count % 16 == 0 else QUICK_FORMATS)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        mutated = corpus.pack(Mutator(random.Random(seed)).mutate_files(corpus.unpack(data)))
        return mutated if len(mutated) <= max_size else atheris.Mutate(data, max_size)

    atheris.Setup([sys.argv[0], *libfuzzer_args], test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


# --------------------------------------------------------------------------- reporting


def corpus_coverage(entries: list) -> str:
    """Line coverage of the static path reached by replaying ``entries``, in a fresh process that
    traces from before sigcheck is imported (so definitions count, as in coverage.py)."""
    with tempfile.TemporaryDirectory(prefix="sigcheck-fuzz-") as work:
        for index, data in enumerate(entries):
            with open(os.path.join(work, f"{index:06d}"), "wb") as f:
                f.write(data)
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--coverage-child", work],
                              capture_output=True, text=True)
    if done.returncode != 0:
        return f"not measured ({done.stderr.strip().splitlines()[-1:]})"
    return done.stdout.strip()


def coverage_child(directory: str) -> None:
    from tracing import ArcTracer, format_coverage, line_coverage

    tracer = ArcTracer()
    with tracer:
        import corpus
        from target import FORMATS, Finding, check_files

        module = tempfile.mkdtemp(prefix="sigcheck-fuzz-")
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name), "rb") as f:
                files = corpus.unpack(f.read())
            try:
                check_files(files, module, formats=FORMATS)
            except Finding:
                pass  # a finding (or tracing making an input slow) still covered what it ran
    shutil.rmtree(module, ignore_errors=True)
    print(format_coverage(line_coverage(tracer.arcs)))


def replay(path: str) -> int:
    import corpus
    from target import FORMATS, Finding, check_files, warm_up

    with open(path, "rb") as f:
        data = f.read()
    files = corpus.unpack(data)
    print(f"{path}: " + ", ".join(f"{p} ({len(b)} bytes)" for p, b in sorted(files.items())))
    with tempfile.TemporaryDirectory(prefix="sigcheck-fuzz-") as work:
        directory = os.path.join(work, "module")
        os.makedirs(directory)
        warm_up()
        start = time.perf_counter()
        try:
            report = check_files(files, directory, formats=FORMATS)
        except Finding as finding:
            print(f"FINDING {finding}\n{finding.detail}")
            return 1
    print(f"no finding ({time.perf_counter() - start:.3f} s, verdict {report.verdict})")
    return 0


def parse_args(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no time limit)")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many executions (0: no limit)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--engine", choices=("builtin", "atheris"), default="builtin")
    parser.add_argument("--seeds-dir", default=None, help="where the seed modules are built and kept "
                        "($SIGCHECK_FUZZ_CACHE/seeds, default ~/.cache/sigcheck-fuzz/seeds)")
    parser.add_argument("--findings", default=os.path.join(HERE, "findings"), help="where findings are saved")
    parser.add_argument("--corpus", default=None, help="atheris: the corpus directory (kept between runs)")
    parser.add_argument("--save-corpus", metavar="DIR", help="write the final corpus there (benchmarks/static.py)")
    parser.add_argument("--no-coverage", action="store_true", help="skip the line-coverage report at the end")
    parser.add_argument("--replay", metavar="FINDING", help="run one saved input and report what it does")
    parser.add_argument("--unpack", nargs=2, metavar=("FINDING", "DIR"), help="write a saved input as a module")
    args = parser.parse_args(argv)
    if not (args.seconds or args.runs or args.replay or args.unpack):
        parser.error("give --seconds or --runs (or --replay / --unpack)")
    return args


def main(argv: list) -> int:
    if argv[:1] == ["--atheris-child"]:
        atheris_child(argv[1], argv[2:])
        return 0
    if argv[:1] == ["--coverage-child"]:
        coverage_child(argv[1])
        return 0
    args = parse_args(argv)
    if args.replay:
        return replay(args.replay)
    if args.unpack:
        import corpus

        with open(args.unpack[0], "rb") as f:
            corpus.write_module_files(corpus.unpack(f.read()), args.unpack[1])
        print(args.unpack[1])
        return 0
    seed_dirs = ensure_seeds(args.seeds_dir or os.path.join(default_cache(), "seeds"), log)
    stats = Stats()
    engine = fuzz_builtin if args.engine == "builtin" else fuzz_atheris
    entries, arcs = engine(seed_dirs, args, stats)
    elapsed = time.perf_counter() - stats.started
    if args.save_corpus:
        os.makedirs(args.save_corpus, exist_ok=True)
        for data in entries:
            with open(os.path.join(args.save_corpus, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
                f.write(data)
    print(f"executions: {stats.executions} in {elapsed:.1f} s ({stats.executions / max(elapsed, 1e-9):.0f}/s), "
          f"engine {args.engine}, seed {args.seed}")
    print(f"corpus: {len(entries)} inputs" + (f", {len(arcs)} arcs of sigcheck reached" if arcs is not None else ""))
    if not args.no_coverage:
        print(f"line coverage of the static path: {corpus_coverage(entries)}")
    print(f"findings: {len(stats.findings)}")
    for finding, path in stats.findings.values():
        print(f"  {finding}\n    saved as {path}; replay: python fuzz/run.py --replay {path}")
    return 1 if stats.findings else 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main(sys.argv[1:]))
