"""Shared test helpers: run the real CLI in a subprocess and read its verdicts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SIGCHECK_SHARED") or REPO.parent / "shared")  # CI has ../shared
STATUS_ORDER = ("error", "fail", "warn", "pass", "skip")

# Runs sigcheck's CLI and reports afterwards whether TensorFlow was imported.
_RUNNER = (
    "import sys\n"
    "from sigcheck.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stderr.write('\\n@@tensorflow-imported=%s\\n' % ('tensorflow' in sys.modules))\n"
    "sys.exit(code)\n"
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    tensorflow_imported: bool

    @property
    def json(self):
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list:
        return [line for line in self.stderr.splitlines() if line and not line.startswith("@@")]


def run_sigcheck(*args, cwd=None, env=None, timeout=900) -> Run:
    """``sigcheck ARGS`` in a fresh interpreter (cwd outside the repository so
    that the installed package is what runs)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, *map(str, args)],
        cwd=cwd or os.environ.get("SIGCHECK_TEST_CWD") or tempfile.gettempdir(),
        env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    imported = "@@tensorflow-imported=True" in proc.stderr
    return Run(proc.returncode, proc.stdout, proc.stderr, imported)


def rule_verdicts(report: dict) -> dict:
    """code -> worst status of its results."""
    verdicts = {}
    for result in report["results"]:
        current = verdicts.get(result["rule"])
        if current is None or STATUS_ORDER.index(result["status"]) < STATUS_ORDER.index(current):
            verdicts[result["rule"]] = result["status"]
    return verdicts


# --- snapshots of JSON reports (tests/snapshots/; refresh with --snapshot-update) --------------

SNAPSHOTS = REPO / "tests" / "snapshots"
UPDATE_ENV = "SIGCHECK_UPDATE_SNAPSHOTS"
_NUMBER = re.compile(r"\d+(\.\d+)?(e[-+]?\d+)?")


_PROTOBUF_MARKER = re.compile(r"goo\.gle/debug\w+")


_TRACE_NUMBER = re.compile(r"(__inference_\S*?)_\d+\b")


def normalised_report(report: dict, modules_root: str, measured=()) -> dict:
    """``report`` without what depends on the machine: the modules' directory, the tool's
    version, the sandbox's kernel ABI; and with every number in the messages of the
    rules in ``measured`` (those judging inference outputs) masked as ``#``, so that a
    float rounding differently on another CPU does not count as a change."""
    text = json.dumps(report)
    for root in {modules_root, os.path.realpath(modules_root)}:
        text = text.replace(json.dumps(root.rstrip("/"))[1:-1], "<modules>")
    data = json.loads(text)
    data["tool"]["version"] = "<version>"
    if "sandbox" in data["facts"]:
        data["facts"]["sandbox"] = "<sandbox>"
    for result in data["results"]:
        # protobuf's debug strings carry a marker that changes at random (goo.gle/debugstr, /debugproto)
        result["message"] = _PROTOBUF_MARKER.sub("goo.gle/debug", result["message"])
        # a TF2 export numbers its functions with a process-wide counter: the build order shows through
        result["message"] = _TRACE_NUMBER.sub(r"\1_N", result["message"])
        if result["rule"] in measured:
            result["message"] = _NUMBER.sub("#", re.sub(r"worst: \S+", "worst: <image>", result["message"]))
    return data


def assert_snapshot(name: str, data: dict, update: bool) -> None:
    """``data`` equals tests/snapshots/NAME.json; with ``update``, (re)write it instead."""
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(data, indent=2) + "\n"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return
    assert path.exists(), f"no snapshot {path.relative_to(REPO)}: run pytest --snapshot-update and review it"
    stored = json.loads(path.read_text())
    assert data == stored, (f"the report differs from {path.relative_to(REPO)}{_first_difference(stored, data)}; "
                            "if the change is intended, run pytest --snapshot-update and review the diff")


def _first_difference(stored: dict, now: dict) -> str:
    """Where a report first differs from its snapshot, so the failure says what changed."""
    for key in sorted(set(stored) | set(now)):
        if key != "results" and stored.get(key) != now.get(key):
            return f" in {key!r}: was {stored.get(key)!r}, now {now.get(key)!r}"
    for was, new in zip(stored.get("results", ()), now.get("results", ())):
        if was != new:
            return f": result was {was!r}, now {new!r}"
    return f": {len(stored.get('results', ()))} results were stored, now {len(now.get('results', ()))}"


def stale_snapshots(kind: str, names) -> list:
    """Snapshots under tests/snapshots/KIND/ of fixtures that no longer exist."""
    folder = SNAPSHOTS / kind
    return sorted(p.name for p in folder.glob("*.json") if p.stem not in set(names)) if folder.is_dir() else []


def run_sigcheck_inprocess(*args, cwd=None, env=None) -> Run:
    """``sigcheck ARGS`` through ``cli.main`` in this process, with the subprocess runner's
    environment (``NO_COLOR=1``, ``COLUMNS=120``, plus ``env``; ``TMPDIR`` also for ``tempfile``)
    and working directory: for
    runs that import no TensorFlow (static checks, usage errors, rules, explain, rendering),
    where a fresh interpreter only adds start-up time.  ``tensorflow_imported`` is
    meaningless here (another test may have imported it): tests of what a run imports use
    ``run_sigcheck``."""
    import contextlib
    import io

    from sigcheck.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous, saved, saved_tempdir = os.getcwd(), dict(os.environ), tempfile.tempdir
    os.environ.update({"NO_COLOR": "1", "COLUMNS": "120", **{k: str(v) for k, v in (env or {}).items()}})
    os.chdir(cwd or os.environ.get("SIGCHECK_TEST_CWD") or tempfile.gettempdir())
    if env and "TMPDIR" in env:  # tempfile read TMPDIR once, when this process first asked
        tempfile.tempdir = str(env["TMPDIR"])
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        os.chdir(previous)
        tempfile.tempdir = saved_tempdir
        os.environ.clear()
        os.environ.update(saved)
    return Run(code, out.getvalue(), err.getvalue(), False)
