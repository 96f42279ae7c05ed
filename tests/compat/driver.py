"""Run client_probe.py in the old-client environment and assemble its events.

All modules go to one probe process.  A module that kills the process (an
Abort op) or hangs it past the probe's own per-run timeout is recorded as
such for the signature that was running, and a new probe process carries on
with the modules not yet probed.  Standard library only: this runs in the
tests' interpreter.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

PROBE = Path(__file__).with_name("client_probe.py")
NOT_RUN = "not run: the client process died earlier on this module"


class ProbeFailed(Exception):
    """The probe could not run at all (not a module's doing)."""


def run_probe(python, paths, produce_dir=None, batch=2, run_timeout=10.0, stall=180.0) -> dict:
    """{"client": versions, "modules": {path: record}, "produced": {name: entry}}."""
    state = {"client": None, "modules": {}, "produced": {}}
    wanted = [str(p) for p in paths]
    remaining, produce = list(wanted), (str(produce_dir) if produce_dir else None)
    while remaining or produce:
        args = [str(python), "-I", str(PROBE), "--batch", str(batch), "--run-timeout", str(run_timeout)]
        if produce:
            args += ["--produce", produce]  # the probe then probes what it exported, after ``remaining``
        progress = _run_once(args + remaining, state, stall)
        if progress["crashed"] and not progress["begun"] and not progress["produced_any"]:
            raise ProbeFailed(f"client_probe.py failed before probing anything: {progress['crashed']}")
        produce = None
        wanted += [e["path"] for e in state["produced"].values() if "error" not in e and e["path"] not in wanted]
        remaining = [p for p in wanted if not state["modules"].get(p, {}).get("_ended")]
    for record in state["modules"].values():
        record.pop("_ended", None)
    return state


def _run_once(args, state, stall) -> dict:
    progress = {"begun": False, "produced_any": False, "crashed": None}
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True,
                                env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")})
        events = queue.Queue()
        threading.Thread(target=lambda: [events.put(line) for line in proc.stdout] + [events.put(None)],
                         daemon=True).start()
        current, running, done, reason = None, None, False, None
        while True:
            try:
                line = events.get(timeout=stall)
            except queue.Empty:
                proc.kill()
                reason = f"the client process hung for {stall:.0f}s without a word and was killed"
                break
            if line is None:
                break
            event = json.loads(line)
            kind = event["event"]
            if kind == "client":
                state["client"] = event["versions"]
            elif kind == "produced":
                state["produced"][event["name"]] = event["entry"]
                progress["produced_any"] = True
            elif kind == "begin":
                current, running = event["path"], None
                progress["begun"] = True
            elif kind == "static":
                state["modules"][current] = {**event["record"], "apply": []}
            elif kind == "running":
                running = (event["tags"], event["signature"])
            elif kind == "outcome":
                _record_outcome(state["modules"][current], event["tags"], event["signature"], event["outcome"])
                running = None
            elif kind == "end":
                state["modules"][current]["_ended"] = True
                current = None
            elif kind == "done":
                done = True
        proc.wait()
        if done and proc.returncode == 0:
            return progress
        if reason is None and proc.returncode < 0:
            reason = f"the client process died of {signal.Signals(-proc.returncode).name}"
        elif reason is None:
            reason = f"the client process exited with {proc.returncode}"
        stderr.seek(0)
        tail = [line for line in stderr.read().splitlines() if line.strip()][-3:]
        reason += (": " + " | ".join(tail)) if tail else ""
    progress["crashed"] = reason
    if current is not None:
        _record_crash(state["modules"], current, running, reason)
    return progress


def _record_outcome(record, tags, signature, outcome) -> None:
    applied = next((a for a in record["apply"] if a["tags"] == tags), None)
    if applied is None:
        applied = {"tags": tags, "signatures": {}}
        record["apply"].append(applied)
    if signature is None:
        applied.update(outcome)  # the graph as a whole: construction or initialisation failed
    else:
        applied["signatures"][signature] = outcome


def _record_crash(modules, path, running, reason) -> None:
    """The module at ``path`` took the process down while ``running``."""
    crash = {"stage": "run", "error": {"type": "ClientCrashed", "message": reason}}
    record = modules.get(path)
    if record is None:  # during loading
        modules[path] = {"load": crash, "_ended": True}
        return
    if running is not None:
        _record_outcome(record, *running, crash)
    for graph in record.get("graphs", []):
        for name in graph["signature_names"].get("value", []):
            applied = next((a for a in record["apply"] if a["tags"] == graph["tags"]), None)
            if applied is None or ("error" not in applied and name not in applied["signatures"]):
                _record_outcome(record, graph["tags"], name, {"skipped": NOT_RUN})
    record["_ended"] = True


if __name__ == "__main__":  # python driver.py OLD_PYTHON MODULE_DIR ...: print the assembled JSON
    import sys

    started = time.monotonic()
    print(json.dumps(run_probe(sys.argv[1], sys.argv[2:]), indent=1, sort_keys=True))
    print(f"{time.monotonic() - started:.1f}s", file=sys.stderr)
