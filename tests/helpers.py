"""Shared test helpers: run the real CLI in a subprocess and read its verdicts."""

from __future__ import annotations

import json
import os
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
