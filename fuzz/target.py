"""The fuzz target: sigcheck's static path, in this process, on one module's files.

Resolve, read, every static rule, the summary and every renderer -- what
``sigcheck --static`` does for any --format -- and the verdict on it.  An
input is a *finding* when

- anything raises other than sigcheck's own read error (the report of an
  unreadable module), or a renderer fails;
- a check crashed (the engine turns that into an ``error`` result saying
  "check crashed");
- an input under 10 MB takes more than 1 s of CPU time (measured untraced, and
  confirmed by running it a second time: the machine may be shared and loaded),
  or raises the peak memory of the process by more than 200 MB.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import resource
import signal
import time
import traceback

from corpus import write_module_files

from sigcheck.api import check
from sigcheck.config import Config
from sigcheck.render import FORMATS, renderer

TIME_LIMIT = 1.0  # seconds per input under SIZE_LIMIT
MEMORY_LIMIT = 200 * 2**20  # bytes of peak RSS one input may add
SIZE_LIMIT = 10 * 2**20  # inputs at least this large are exempt from the bounds
HANG = 20.0  # CPU seconds after which an input is interrupted (a finding either way)
HANG_WALL = 300.0  # wall seconds backstop for an input blocked outside the CPU (a loaded machine is slow, not stuck)
STATIC = Config(static=True)


class Finding(Exception):
    """An input sigcheck must survive but did not; the message is one line, the detail a traceback."""

    def __init__(self, kind: str, message: str, detail: str = ""):
        super().__init__(f"{kind}: {message}")
        self.kind, self.detail = kind, detail


class _Hang(BaseException):
    pass


def _interrupt(signum, frame):
    raise _Hang()


def peak_rss() -> int:
    """Peak resident bytes of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# rich is ~10x the cost of everything else together: engines ask for it on the inputs that matter.
QUICK_FORMATS = tuple(f for f in FORMATS if f != "rich")


def render(report, formats=tuple(FORMATS)) -> None:
    """Render ``report`` in ``formats`` as ``sigcheck --static --format F`` would."""
    for name in formats:
        renderer(name)([report], width=100)


def judge(report) -> None:
    if report.error is not None and report.error.type != "read":
        raise Finding("unexpected error", f"{report.error.type}: {report.error.message}")
    for result in report.results:
        if result.status == "error" and result.message.startswith("check crashed"):
            raise Finding("check crashed", f"{result.rule}: {result.message}")


def check_files(files: dict, directory: str, *, tracer=None, formats=QUICK_FORMATS):
    """Write ``files`` as the module at ``directory`` and run the static path on it (under
    ``tracer`` if given), rendering the report in ``formats``; raise Finding.  Returns the report."""
    write_module_files(files, directory)
    size = sum(len(b) for b in files.values())
    rss_before = peak_rss()
    previous = signal.signal(signal.SIGPROF, _interrupt), signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_PROF, HANG)  # CPU time of this process: load on the machine does not count
    signal.setitimer(signal.ITIMER_REAL, HANG_WALL)
    start = time.process_time()
    try:
        if tracer is None:
            report = check(directory, STATIC)
        else:
            with tracer:
                report = check(directory, STATIC)
        render(report, formats)
    except _Hang:
        raise Finding("hang", f"interrupted after {HANG:.0f} CPU s or {HANG_WALL:.0f} wall s ({size} bytes)") from None
    except Exception as exc:
        raise Finding("exception", f"{type(exc).__name__}: {exc}"[:300], traceback.format_exc()) from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous[0])
        signal.signal(signal.SIGALRM, previous[1])
    elapsed = time.process_time() - start
    judge(report)
    if size < SIZE_LIMIT and elapsed > TIME_LIMIT:
        if tracer is not None or not _confirming:  # tracing costs ~3x, a loaded machine some more: time it again
            return _confirm(files, directory, formats, elapsed)
        raise Finding("slow", f"{elapsed:.2f} CPU s for {size} bytes (limit {TIME_LIMIT} s)")
    if size < SIZE_LIMIT:
        grown = peak_rss() - rss_before
        if grown > MEMORY_LIMIT:
            raise Finding("memory", f"peak RSS grew by {grown / 2**20:.0f} MB for {size} bytes "
                                    f"(limit {MEMORY_LIMIT / 2**20:.0f} MB)")
    return report


_confirming = False


def _confirm(files: dict, directory: str, formats, first: float):
    """Re-run an over-budget input untraced; it is a finding only if it is over budget again."""
    global _confirming
    _confirming = True
    try:
        return check_files(files, directory, formats=formats)
    except Finding as finding:
        if finding.kind == "slow":
            raise Finding("slow", f"{finding} (first run {first:.2f} CPU s)") from None
        raise
    finally:
        _confirming = False


def warm_up() -> None:
    """Import what the first run imports lazily (renderers, rules, checks), so that no input pays for it."""
    from sigcheck.checks import registered_checks
    from sigcheck.rules import load_rules

    for name in FORMATS:
        renderer(name)
    load_rules()
    registered_checks()
