"""The CLI's streamed scan: a cluster or local jobs, the cache, JSONL as it comes, --resume.

Reports are handled the moment a module is done: with ``--format jsonl`` each
one is written as a line and forgotten, so a scan of 10 000 modules holds only
their paths; every other format still gets one document at the end.  The exit
code is the worst verdict, reports taken over with ``--resume`` included.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time

from .config import Config
from .errors import UsageError, one_line
from .render.jsonl import line
from .results import Report, worse_exit_code
from .rules import category_of


def run_scan(handles, config: Config, *, outputs, details: bool = False, resume=None,
             cluster=None, **render_options) -> int:
    """``outputs``: the run's report destinations (sigcheck.outputs); jsonl streams and goes alone.
    ``render_options`` (statistics, sarif_root) go to the renderers of the other formats."""
    streaming = any(d.format == "jsonl" for d in outputs)
    if streaming and len(outputs) > 1:
        raise UsageError("--report jsonl streams each module as it is checked: it cannot be combined with "
                         "other reports")
    output = outputs[0].path
    previous = read_jsonl(resume, keep_reports=not streaming) if resume else {}
    todo = [h for h in handles if h not in previous]
    wanted = set(handles)
    worst = worse_exit_code(*(_exit_code(r) for h, r in previous.items() if h in wanted))
    collected = {}
    lock = threading.Lock()
    progress = ScanProgress(len(todo), skipped=len(handles) - len(todo)) if config.progress else None

    with _jsonl_sink(output, append=_same_file(output, resume)) if streaming else contextlib.nullcontext() as sink:
        def arrived(index: int, report: Report) -> None:
            nonlocal worst
            with lock:
                if sink is not None:
                    sink.write(line(report))
                    sink.flush()
                else:
                    collected[index] = report
                worst = worse_exit_code(worst, report.exit_code)
                if report.error is not None:
                    if progress is not None:
                        progress.clear()
                    message = one_line(report.error.message)
                    if not message.startswith(report.module):
                        message = f"{report.module}: {message}"
                    print(f"sigcheck: error: {message}", file=sys.stderr)
                if progress is not None:
                    progress.module_done(report)

        try:
            with _cluster(cluster, config, todo) as dask_cluster:
                from .stream import check_stream

                check_stream(todo, config, arrived, cluster=dask_cluster)
        finally:
            if progress is not None:
                progress.finish()
    if not streaming:
        from .outputs import write_reports

        reports = iter(collected[i] for i in sorted(collected))
        ordered = [previous[h] if h in previous else next(reports) for h in handles]
        write_reports(ordered, outputs, details=details, scan=True, **render_options)
    return worst


def _exit_code(entry) -> int:
    return entry.exit_code if isinstance(entry, Report) else entry


@contextlib.contextmanager
def _cluster(spec, config: Config, handles=()):
    if spec is None:
        yield None
        return
    from .cluster import DaskCluster

    from .resolve import local_directory

    with DaskCluster(spec, config, read_roots=[d for d in map(local_directory, handles) if d]) as cluster:
        yield cluster


def read_jsonl(path: str, *, keep_reports: bool) -> dict:
    """module -> Report (or only its exit code) for each report line of ``path``.

    Lines that are not whole reports -- the last line of a scan that was killed
    mid-write -- are ignored: those modules are checked again."""
    found = {}
    try:
        with open(path, encoding="utf-8") as f:
            for text in f:
                try:
                    report = Report.from_json(json.loads(text), category_of)
                except ValueError:
                    continue
                found[report.module] = report if keep_reports else report.exit_code
    except FileNotFoundError:
        return found  # nothing to resume yet: the first run of a resumable scan
    except OSError as exc:
        raise UsageError(f"--resume {path}: cannot be read ({exc.strerror or exc})") from None
    return found


def _same_file(output, resume) -> bool:
    if output is None or resume is None or not os.path.exists(output) or not os.path.exists(resume):
        return False
    return os.path.samefile(output, resume)


@contextlib.contextmanager
def _jsonl_sink(output, *, append: bool):
    """stdout, or ``output`` (appended to when resuming into it, a torn last line cut off first)."""
    if output is None:
        yield sys.stdout
        return
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise UsageError(f"--output {output}: directory {directory} does not exist")
    try:
        if append:
            _cut_torn_line(output)
        f = open(output, "a" if append else "w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {output}: {exc.strerror or exc}") from None
    with f:
        yield f


def _cut_torn_line(path: str) -> None:
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


class ScanProgress:
    """One line on stderr: modules done of total, failures so far, rate and ETA."""

    def __init__(self, total: int, *, skipped: int = 0, stream=None):
        self.total, self.skipped = total, skipped
        self.done = self.failing = 0
        self.started = time.monotonic()
        self.stream = stream or sys.stderr
        self._width = 0
        self._show()

    def module_done(self, report: Report) -> None:
        self.done += 1
        if report.verdict in ("fail", "error", "incomplete"):
            self.failing += 1
        self._show()

    def text(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = [f"{self.done}/{self.total} modules", f"{self.failing} failing"]
        if self.skipped:
            parts.append(f"{self.skipped} resumed")
        if self.done and elapsed > 0:
            rate = self.done / elapsed * 60
            eta = (self.total - self.done) / (self.done / elapsed)
            parts += [f"{rate:.1f}/min", f"ETA {_duration(eta)}"]
        return "sigcheck: " + ", ".join(parts)

    def _show(self) -> None:
        text = self.text()
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def clear(self) -> None:
        self.stream.write("\r" + " " * self._width + "\r")
        self._width = 0

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
