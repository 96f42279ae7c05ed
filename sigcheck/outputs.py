"""Where a run's reports go: ``--report FORMAT[:PATH]`` (repeatable), or ``--format``/``--output``.

One run renders the same reports into every asked format, so CI checks the
modules once and writes JUnit, SARIF and a terminal report together.  Every
path is made ready (parent directories created, writability tried) before
any check runs: a typo must not cost a 4 s check, or an hour's scan.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import NamedTuple, Optional

from .errors import UsageError
from .render import FORMATS, renderer


class Destination(NamedTuple):
    format: str
    path: Optional[str]  # None: stdout


def destinations(reports, fmt, output) -> list:
    """The destinations of ``--report`` values, or of ``--format``/``--output`` (not both)."""
    if reports and (fmt is not None or output is not None):
        raise UsageError("--report replaces --format and --output: give one or the other")
    if not reports:
        return [Destination(_format(fmt or "rich", "--format"), output)]
    found = []
    for spec in reports:
        name, _, path = spec.partition(":")
        found.append(Destination(_format(name, "--report"), path or None))
    if sum(d.path is None for d in found) > 1:
        raise UsageError("--report: only one report can go to stdout; give the others a path (FORMAT:PATH)")
    paths = [os.path.abspath(d.path) for d in found if d.path]
    if len(set(paths)) < len(paths):
        raise UsageError("--report: two reports to the same file")
    return found


def _format(name: str, flag: str) -> str:
    if name not in FORMATS:
        raise UsageError(f"{flag}: unknown format {name!r} (choose from {', '.join(sorted(FORMATS))})")
    return name


def prepare(found) -> None:
    """Create missing parent directories and prove each path writable, before any check runs."""
    for destination in found:
        if destination.path is None:
            continue
        path = destination.path
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, exist_ok=True)
            if os.path.isdir(path):
                raise IsADirectoryError(21, "is a directory")
            fd, probe = tempfile.mkstemp(prefix=".sigcheck-", dir=directory)
            os.close(fd)
            os.unlink(probe)
            if os.path.exists(path) and not os.access(path, os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_reports(reports, found, details: bool = False, **options) -> None:
    """``options``: statistics (counts per rule instead of the report), and what renderers
    take (scan, sarif_root)."""
    for destination in found:
        write_output(reports, destination.format, destination.path, details=details, **options)


def use_color(stream, environ=os.environ) -> bool:
    """Colour on a terminal unless NO_COLOR is set to something (no-color.org: an empty value does not count)."""
    return stream.isatty() and not environ.get("NO_COLOR")


def write_output(reports, fmt: str, output, details: bool = False, statistics: bool = False, **options) -> None:
    color = output is None and use_color(sys.stdout)
    width = None
    if output is None and sys.stdout.isatty():
        width = os.get_terminal_size().columns
    if statistics:
        from .render import statistics as stats

        text = stats.render(reports, as_json=fmt == "json")
    else:
        text = renderer(fmt)(reports, color=color, width=width, details=details, **options)
    if output is None and fmt == "rich" and not statistics and all(r.error is not None for r in reports):
        text = ""  # the one-line error on stderr says it all
    if output is None:
        sys.stdout.write(text)
        return
    write_atomically(output, text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str, text: str) -> None:
    """Write ``path`` completely or not at all (temp file + rename), with the usual umask mode."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sigcheck-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, path)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
