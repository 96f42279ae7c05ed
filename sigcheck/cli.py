"""Command line: parse arguments, call the api, render, choose the exit code.

Exit codes: 0 conforms, 1 violations, 2 unreadable module or wrong command,
3 internal error (a bug in sigcheck), 4 could not check (no violation, but some
checks could not complete: timeout, killed worker...; 1 wins over 4),
130 interrupted (SIGINT), 143 terminated (SIGTERM), 129 hung up (SIGHUP).
Errors are one line on stderr, never a traceback (set SIGCHECK_DEBUG=1 to see one).

Subcommands: one argparse parser reads every command line, and ``COMMANDS``
is the one table of subcommands.  The command is the first positional word
(``check`` when the first word names none, so ``sigcheck PATH...`` checks), and
options go before or after it (``sigcheck --static scan exports/`` =
``sigcheck scan exports/ --static``).  ``--help``'s usage and command list are
made from the table.

Adding a subcommand (``sigcheck diff OLD NEW``, say) is one entry in
``COMMANDS``; nothing else dispatches::

    def _diff(args) -> int:             # args.modules: the words after "diff"
        from .diffing import diff       # import the work lazily: start-up is paid per commit
        return diff(*_words(args, "diff", 2), baseline=args.baseline)

    Command("diff", "OLD NEW", "compares the reports of two module versions", _diff,
            options=(Option(("--baseline",), {"metavar": "FILE", "help": "..."}),))

An ``Option`` of a command shows in ``--help`` under its name; given to another
command it is a one-line usage error (exit 2).  Shared options (``--format``,
``--select``, ``--config``...) are in ``build_parser`` and every command reads
what applies to it from ``args``.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import signal
import sys
import tempfile
from typing import Callable

from . import __version__
from .config import (
    Config,
    codes,
    load_config,
    parse_batch_sizes,
    parse_memory,
    parse_tag_set,
    parse_timeout,
)
from .errors import SigcheckError, UsageError, one_line
from .outputs import destinations, prepare, write_reports
from .record import record, replace
from .render import FORMATS
from .resolve import parse_size
from .results import EXIT_OK, EXIT_VIOLATIONS, FAIL_ON, worst_exit_code

EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
RULES_FORMATS = ("text", "json", "markdown")


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes in one line and exit code 2."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C (workers stopped, temp dirs removed), exits 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def _terminate(signum, frame):
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)  # a second signal must not cut the clean-up short
    raise Terminated(signum)


def _on_termination(handler) -> dict:
    """Install ``handler`` for SIGTERM and SIGHUP; return the previous handlers."""
    previous = {}
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread: leave signals to the caller
            pass
    return previous


def main(argv=None) -> int:
    _exit_without_collecting()
    previous = _on_termination(_terminate)
    try:
        return _main(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _exit_without_collecting() -> None:
    """At exit, leave what is still alive to the operating system instead of collecting it.

    The interpreter's last collections (and the module teardown they start) cost a static check
    ~0.007 s of its ~0.12 s (issue 11, BENCHMARKS.md); sigcheck needs no finaliser then: files are
    closed and workers stopped by their context managers, atexit handlers and the standard streams'
    flush still run.  ``gc.freeze`` only moves objects to the permanent generation, so a process
    that calls ``main`` and goes on (a test) collects as before; registered once however often
    ``main`` runs."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _main(argv) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_intermixed_args(argv)
        command = COMMANDS[args.modules.pop(0) if args.modules and args.modules[0] in COMMANDS else "check"]
        _only_its_options(args, command, parser.owners)
        return command.run(args)
    except SigcheckError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt as exc:
        _error(f"terminated by {exc}" if isinstance(exc, Terminated) else "interrupted")
        return getattr(exc, "exit_code", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug in sigcheck: still one line
        if os.environ.get("SIGCHECK_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (rerun with SIGCHECK_DEBUG=1 for a traceback)")
        return EXIT_INTERNAL


def _error(message: str) -> None:
    print(f"sigcheck: error: {one_line(message)}", file=sys.stderr)


# --- the subcommands -----------------------------------------------------------------------------

@record
class Option:
    """An option only one command takes: ``add_argument(*flags, **settings)``."""

    flags: tuple
    settings: dict


@record
class Command:
    """``sigcheck NAME WORDS [options]``: ``run(args)`` returns the exit code; ``args.modules`` holds the words."""

    name: str
    words: str  # what follows the name in --help
    summary: str  # what it does, after "'sigcheck NAME WORDS'" in --help
    run: Callable
    options: tuple = ()  # of Option


def _rules(args) -> int:
    from . import commands

    _words(args, "rules", 0)
    if args.format is not None and args.format not in RULES_FORMATS:
        raise UsageError(f"sigcheck rules --format: choose from {', '.join(RULES_FORMATS)}, not {args.format!r}")
    return commands.rules(args.format or "text")


def _explain(args) -> int:
    from . import commands

    return commands.explain(args.modules)


def _words(args, command: str, count: int) -> list:
    """The words after ``command``, when it takes exactly ``count`` (0: none, so none is a module)."""
    if count == 0 and args.modules:
        raise UsageError(f"'sigcheck {command}' takes no module: {' '.join(args.modules)}")
    if len(args.modules) != count:
        raise UsageError(f"'sigcheck {command}' takes {count} argument(s), not {len(args.modules)}")
    return args.modules


def _diff(args) -> int:
    from .diffing.render import FORMATS as DIFF_FORMATS

    old, new = _words(args, "diff", 2)
    fmt = args.format or "text"
    if fmt not in DIFF_FORMATS:
        raise UsageError(f"sigcheck diff --format: choose from text, json, markdown, not {fmt!r}")
    config = config_from_args(args)
    if not config.static:
        from .api import require_tensorflow

        require_tensorflow(config, hint="--static (interfaces only)")
        _check_sandbox(config)
    from .diffing import diff

    report = diff(old, new, config)
    text = DIFF_FORMATS[fmt](report)
    if args.output:
        _write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return report.exit_code


def _snapshot(args) -> int:
    (module,) = _words(args, "snapshot", 1)
    if not args.out:
        raise UsageError("'sigcheck snapshot MODULE' needs --out DIR (a new or empty directory)")
    config = config_from_args(args)
    if config.static:
        raise UsageError("'sigcheck snapshot' runs the module: --static does not apply")
    from .api import require_tensorflow

    require_tensorflow(config, hint="nothing: a snapshot needs TensorFlow")
    _check_sandbox(config)
    from .diffing.golden import snapshot

    manifest = snapshot(module, args.out, config, rtol=args.rtol, atol=args.atol)
    print(f"sigcheck: wrote {len(manifest['outputs'])} golden output(s) of {module} to {args.out}", file=sys.stderr)
    return 0


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    try:
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, encoding="utf-8",
                                         prefix=".sigcheck-") as f:
            f.write(text)
        os.replace(f.name, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


COMMANDS = {c.name: c for c in (
    Command("check", "PATH...", "checks modules (the default)", lambda args: run_check(args),
            options=(Option(("--golden",), {"metavar": "DIR", "help": "compare the outputs with golden outputs "
                                            "written by 'sigcheck snapshot' (rule RUN506)"}),)),
    Command("scan", "DIR...", "checks every module found under DIR", lambda args: run_check(args, scan=True)),
    Command("rules", "[--format text|json|markdown]", "lists every rule", _rules),
    Command("explain", "CODE|NAME", "documents one rule", _explain),
    Command("diff", "OLD NEW", "compares two versions of a module: interface (breaking/compatible) and behaviour "
            "(exit 1 if breaking or changed)", _diff),
    Command("snapshot", "MODULE --out DIR", "writes the module's golden outputs for --golden", _snapshot,
            options=(Option(("--out",), {"metavar": "DIR", "help": "the golden directory to write (new or empty)"}),
                     Option(("--rtol",), {"type": float, "metavar": "X", "help": "relative tolerance recorded for "
                                          "every output (default 1e-3)"}),
                     Option(("--atol",), {"type": float, "metavar": "X", "help": "absolute tolerance recorded for "
                                          "every output (default 1e-5)"}))),
)}


def _only_its_options(args, command: Command, owners: dict) -> None:
    """An option that belongs to another command is a usage error, not silently ignored."""
    for action, owner in owners.items():
        if owner != command.name and getattr(args, action.dest) != action.default:
            raise UsageError(f"{action.option_strings[0]} applies to 'sigcheck {owner}', not 'sigcheck {command.name}'")


def build_parser() -> argparse.ArgumentParser:
    """One parser for every command: the shared options, then each command's own (``parser.owners``)."""
    listed = "; ".join(f"'sigcheck {'[check]' if c.name == 'check' else c.name} {c.words}' {c.summary}"
                       for c in COMMANDS.values())
    parser = _Parser(
        prog="sigcheck",
        usage=f"sigcheck [{'|'.join(COMMANDS)}] [options] [PATH_OR_HANDLE ...]",
        description="Validate TF1 Hub image modules against the Common Signatures for Images.",
        epilog=f"Commands (options go before or after them): {listed}. "
               "Exit codes: 0 conforms, 1 violations, 2 unreadable module or bad usage, 3 internal error, "
               "4 could not check (some checks did not complete, nothing violates), 5 unusable golden directory, "
               "6 no common interface (diff), 7 a module cannot be run (diff, snapshot), "
               "130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP.",
    )
    parser.add_argument("modules", nargs="*", metavar="PATH_OR_HANDLE",
                        help="module directory, .tar.gz/.tgz archive or http(s):// handle "
                             "(after 'scan': directories to search; after 'explain': rule codes or names)")
    parser.add_argument("--example", action="store_true",
                        help="build the bundled conformant example module in a temporary directory and check it")
    parser.add_argument("--report", action="append", metavar="FORMAT[:PATH]",
                        help="write a report in FORMAT to PATH (stdout without a path); repeatable: one run, "
                             f"several reports. Formats: {', '.join(sorted(FORMATS))}")
    parser.add_argument("--format", metavar="FORMAT",
                        help="the one report's format (default: rich); same as --report FORMAT")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the one report to FILE instead of stdout; same as --report FORMAT:FILE")
    parser.add_argument("--exit-zero", action="store_true",
                        help="exit 0 even when modules violate the conventions (other exit codes unchanged)")
    parser.add_argument("--statistics", action="store_true",
                        help="instead of the report, count the findings of each rule "
                             "(text, or JSON with --format json)")
    parser.add_argument("--sarif-root", metavar="DIR",
                        help="sarif/gitlab: make module paths relative to DIR, the repository root (default: the "
                             "current directory)")
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: [tool.sigcheck] of the nearest pyproject.toml)")
    parser.add_argument("--static", action=argparse.BooleanOptionalAction, default=None,
                        help="static checks only: never import TensorFlow or run the module")
    parser.add_argument("--fail-on", choices=FAIL_ON, help="lowest severity that fails the run (default: error)")
    parser.add_argument("--select", action="append", metavar="CODES",
                        help="only these rules: codes or prefixes, comma-separated (IMG, OUT40, SEC601)")
    parser.add_argument("--ignore", action="append", metavar="CODES", help="skip these rules: codes or prefixes")
    parser.add_argument("--tags", action="append", metavar="TAGSET",
                        help="check only this tag set ('' for the empty set, 'train', 'a,b'); repeatable")
    parser.add_argument("--timeout", metavar="SECONDS",
                        help="wall-clock limit for loading and running the module (default: 300; 'none': no limit)")
    parser.add_argument("--batch-sizes", metavar="B,B,...", help="batch sizes to run (default: 1,2,5)")
    parser.add_argument("--allow-unsafe-ops", action="store_true", default=None,
                        help="run the module even if SEC601 finds ops outside the allowlist (file, system, "
                             "Python callbacks...)")
    parser.add_argument("--kind", choices=("image", "text"),
                        help="judge the module as an image or a text module whatever its signatures say "
                             "(default: detect the kind; see README, Module kinds)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display on stderr")
    parser.add_argument("--jobs", "-j", type=int, metavar="N",
                        help="modules checked in parallel, each with its own worker process (default: one per core)")
    parser.add_argument("--details", "--verbose", "-v", action="store_true",
                        help="every result, passes included (default: findings, and counts of the rest)")
    parser.add_argument("--files", action="store_true",
                        help="the arguments are changed files (a pre-commit hook's): check each module they "
                             "belong to (the directory holding saved_model.pb above them, or the archive) once")
    parser.add_argument("--max-archive-size", metavar="SIZE",
                        help="refuse archives whose uncompressed size exceeds SIZE (default: 4GiB)")
    parser.add_argument("--max-memory", metavar="SIZE",
                        help="memory all worker processes together may use, shared between --jobs "
                             "(default: half of physical memory; at least 1GiB)")
    parser.add_argument("--require-sandbox", action="store_true", default=None,
                        help="exit 2 instead of running modules where the worker cannot be sandboxed "
                             "(see docs/security.md)")
    registry = parser.add_argument_group("scanning a registry")
    registry.add_argument("--cluster", metavar="ADDRESS",
                          help="check on a Dask cluster: a scheduler address (tcp://HOST:8786) or local[:N] for "
                               "N local workers; needs sigcheck[dask]")
    registry.add_argument("--cache", nargs="?", const="", metavar="DIR",
                          help="reuse reports of unchanged modules from DIR (default DIR: "
                               "~/.cache/sigcheck/reports); off unless given or set in the config")
    registry.add_argument("--no-cache", action="store_true", help="no result cache, even if the config sets one")
    registry.add_argument("--resume", metavar="FILE.jsonl",
                          help="skip the modules already reported in FILE.jsonl (an interrupted --format jsonl scan)")
    parser.add_argument("--version", action="version", version=f"sigcheck {__version__}")
    parser.owners = {}  # action -> the command it belongs to
    for command in COMMANDS.values():
        if command.options:
            group = parser.add_argument_group(f"sigcheck {command.name}")
            for option in command.options:
                parser.owners[group.add_argument(*option.flags, **option.settings)] = command.name
    return parser


def config_from_args(args) -> Config:
    """The config file's values, overridden by the flags that were given."""
    config = load_config(args.config)
    try:
        return config.merged(
            select=codes(args.select, "--select") if args.select else None,
            ignore=codes(args.ignore, "--ignore") if args.ignore else None,
            fail_on=args.fail_on,
            static=args.static,
            tags=tuple(parse_tag_set(t) for t in args.tags) if args.tags else None,
            max_archive_bytes=parse_size(args.max_archive_size) if args.max_archive_size else None,
            timeout=parse_timeout(args.timeout, "--timeout") if args.timeout is not None else None,
            max_memory=parse_memory(args.max_memory, "--max-memory") if args.max_memory else None,
            require_sandbox=args.require_sandbox,
            batch_sizes=parse_batch_sizes(args.batch_sizes, "--batch-sizes") if args.batch_sizes else None,
            allow_unsafe_ops=args.allow_unsafe_ops,
            kind=args.kind,
            progress=sys.stderr.isatty() and not args.quiet,
            jobs=_jobs(args.jobs),
            cache_dir=_cache_dir(args),
            golden=os.path.abspath(args.golden) if getattr(args, "golden", None) else None,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _cache_dir(args):
    """--cache DIR, --cache (the default directory) or --no-cache (overrides the config)."""
    if args.no_cache:
        return ""
    if args.cache is None:
        return None
    from .cache import default_cache_dir

    return os.path.abspath(args.cache) if args.cache else default_cache_dir()


def _jobs(value):
    if value is not None and value < 0:
        raise UsageError(f"--jobs must be 0 (one per core) or more, not {value}")
    return value


def run_check(args, scan: bool = False) -> int:
    if not args.modules and not args.example and not args.files:
        raise UsageError("no module given: pass PATH_OR_HANDLE, or --example (see 'sigcheck --help')")
    outputs = destinations(args.report, args.format, args.output)
    config = config_from_args(args)
    from .api import require_tensorflow

    require_tensorflow(replace(config, static=False) if args.example else config)
    prepare(outputs)
    code = _run(args, config, outputs, scan)
    return EXIT_OK if args.exit_zero and code == EXIT_VIOLATIONS else code


def _run(args, config: Config, outputs, scan: bool) -> int:
    if not config.static or args.example:
        _check_sandbox(config)
    if scan:
        from .many import discover_modules

        handles = [m for root in args.modules for m in discover_modules(root)]
    elif args.files:
        from .changed import modules_of

        handles = modules_of(args.modules)
        if not handles:
            return 0  # nothing that was changed belongs to a module
    else:
        handles = args.modules
    if not args.example and (scan or len(handles) > 1) and (
            args.cluster or args.resume or any(d.format == "jsonl" for d in outputs) or config.cache_dir):
        from .registry import run_scan

        return run_scan(handles, config, outputs=outputs, details=args.details,
                        resume=args.resume, cluster=args.cluster, **_render_options(args))
    if args.cluster or args.resume:
        raise UsageError("--cluster and --resume apply to several modules: use 'sigcheck scan DIR'")
    if args.example:
        reports = [_check_example(config)]
    elif len(handles) == 1 and not scan:
        reports = [_check_one(handles[0], config)]
    else:
        reports = _check_all(handles, config)
    for report in reports:
        if report.error is not None:
            _error(_error_text(report, alone=len(reports) == 1))
    write_reports(reports, outputs, details=args.details, scan=scan, **_render_options(args))
    return worst_exit_code(reports)


def _error_text(report, alone: bool) -> str:
    """The error, prefixed by the module when several were checked -- unless it names the module already."""
    message = report.error.message
    if alone or message.startswith(report.module):
        return message
    return f"{report.module}: {message}"


def _render_options(args) -> dict:
    return {"statistics": args.statistics, "sarif_root": args.sarif_root}


def _check_sandbox(config: Config) -> None:
    """One warning line where the worker cannot be sandboxed; exit 2 if one is required."""
    from .runtime.sandbox import unavailable_reason

    reason = unavailable_reason()
    if reason is None:
        return
    if config.require_sandbox:
        raise UsageError(f"--require-sandbox: the worker cannot be sandboxed here ({reason})")
    print(f"sigcheck: warning: modules run without a sandbox ({reason}); see docs/security.md", file=sys.stderr)


def _check_one(handle: str, config: Config):
    from . import api

    config = config.for_module(handle)
    from .stream import cached_checker

    check = cached_checker(config.cache_dir, config) or api.check
    if config.static:
        return check(handle, config)
    from .resolve import local_directory
    from .runtime.runner import sandboxed_worker
    from .runtime.stage import Progress

    roots = [d for d in (local_directory(handle),) if d]
    with sandboxed_worker(config.worker_limits(1), read_roots=roots) as worker:
        if roots:  # an archive's directory exists only once extracted: its worker starts then
            worker.start()  # TensorFlow imports in the worker while the module is read here
        if not config.progress:
            return check(handle, config, worker=worker)
        with Progress() as progress:
            return check(handle, config, worker=worker, progress=progress)


def _check_all(handles, config: Config) -> list:
    from .many import check_many

    if not config.progress:
        return check_many(handles, config, jobs=config.jobs)
    from .runtime.stage import Progress

    with Progress(len(handles)) as progress:
        return check_many(handles, config, jobs=config.jobs, progress=progress)


def _check_example(config: Config):
    from . import api
    from .fixtures import build
    from .runtime.tfimport import quiet_native_stderr

    print("sigcheck: building the example module (a conformant feature vector) in a temporary directory",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="sigcheck-example-") as tmp:
        path = os.path.join(tmp, "example_feature_vector")
        with quiet_native_stderr():
            build("fv-conformant", path)
        report = api.check(path, config)
    return report


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
