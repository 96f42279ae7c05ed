"""Run Plans in a child process with a wall-clock timeout per module.

Isolation is the point: a module that crashes TensorFlow, hangs or exhausts
memory takes down the child, not sigcheck.  The parent turns whatever happened
-- a timeout, a signal, a non-zero exit -- into a RuntimeFailure whose message
ends up in the runtime rules' ``error`` results, and the report still renders.

A Worker keeps its child alive between modules, so checking many modules pays
for one TensorFlow import per worker, not one per module; a child that died or
was killed is replaced for the next module.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Optional

from .plan import Plan
from .sandbox import NETWORK_SIGNAL

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_POLL_CAP = 0.5  # seconds per wait: to notice kill() from another thread (and queue.get cannot wait forever)
_NOISE = ("I0000", "W0000", "E0000", "WARNING: All log messages", "To enable the following")
# The sandbox goes up before anything else is imported (numpy and TensorFlow start threads).
_CHILD = ("import sys; sys.path.insert(0, sys.argv[1]); from sigcheck.runtime.sandbox import enter; enter(sys.argv[2]); "
          "from sigcheck.runtime.worker import serve; sys.exit(serve())")


def sandboxed_worker(limits, *, threads: int = 0, read_roots=()) -> "Worker":
    """The one way sigcheck makes a runtime worker (CLI, api, many, cluster, pytest plugin).

    ``limits`` is a runtime.settings.WorkerLimits (``Config.worker_limits(jobs)``
    gives a run's share); the child process starts on first use."""
    return Worker(threads, read_roots=read_roots, memory_limit=limits.memory_limit,
                  require_sandbox=limits.require_sandbox)


class RuntimeFailure(Exception):
    """The runtime stage did not complete; the message says why, in one line."""


class Worker:
    """A child process that runs plans one after another (use as a context manager).

    ``threads`` caps TensorFlow's thread pools in the child (0: TensorFlow
    decides), so that several workers share the cores instead of fighting.
    The child sandboxes itself (runtime.sandbox) with read access to
    ``read_roots``; a module outside them gets a new child, since a sandbox
    cannot be widened.  ``memory_limit`` (bytes, 0: none) bounds its memory."""

    def __init__(self, threads: int = 0, *, read_roots=(), memory_limit: int = 0, require_sandbox: bool = False):
        self.threads = threads
        self.read_roots = tuple(os.path.realpath(p) for p in read_roots)
        self.memory_limit = memory_limit
        self.require_sandbox = require_sandbox
        self.sandbox: Optional[str] = None  # what the child reported: "landlock ABI 7, network denied"
        self._granted: tuple = ()
        self._stopped = False  # kill() was called: no new child, stop waiting
        self._process = None
        self._events: Optional[queue.Queue] = None
        self._stderr = None
        self._dir = None  # created with the first child: static runs never need one

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def run(self, plan: Plan, *, timeout: float, on_event: Optional[Callable[[dict], None]] = None):
        """Observations of ``plan``, or RuntimeFailure."""
        from .observations import load_observations  # numpy: only once something ran

        started = time.perf_counter()
        module_dir = os.path.realpath(plan.module_dir)
        if self._process is not None and not _covered(module_dir, self._granted):
            self._kill()  # its sandbox cannot read this module: a new child gets a new sandbox
        self.start(module_dir)
        with tempfile.TemporaryDirectory(prefix="module-", dir=self._dir.name) as out:
            plan_path = os.path.join(out, "plan.json")
            with open(plan_path, "w", encoding="utf-8") as f:
                f.write(plan.to_json())
            stderr_offset = self._stderr.tell()
            try:
                self._process.stdin.write(json.dumps({"plan": plan_path, "out": out}) + "\n")
                self._process.stdin.flush()
            except OSError:
                pass  # the child is gone; waiting below reports how it ended
            self._wait_until_done(started + timeout, timeout, stderr_offset, on_event)
            return load_observations(plan, out)

    def _wait_until_done(self, deadline, timeout, stderr_offset, on_event) -> None:
        while True:
            remaining = deadline - time.perf_counter()  # inf with --timeout none
            try:
                event = self._events.get(timeout=min(max(remaining, 0.001), _POLL_CAP))
            except queue.Empty:
                if self._stopped:  # killed from another thread, maybe while this child started
                    self._kill()
                    raise RuntimeFailure("not finished: sigcheck was interrupted") from None
                if remaining > _POLL_CAP:
                    continue
                self._kill()
                raise RuntimeFailure(f"inference did not finish within the timeout of {timeout:g}s "
                                     "(the module hangs or is too slow; raise it with --timeout)") from None
            if event is None:  # stdout closed: the child ended
                returncode = self._process.wait() if self._process is not None else -signal.SIGKILL  # killed
                self._process = None
                raise RuntimeFailure(_crash_message(returncode, self._stderr_since(stderr_offset), self.memory_limit,
                                                    self.sandbox))
            if event.get("event") == "sandbox":
                if self.sandbox is not None:
                    continue  # only the child's first line is its own; a module may print look-alikes later
                self.sandbox = str(event.get("description"))
                if self.require_sandbox and self.sandbox.startswith("none"):
                    self._kill()
                    raise RuntimeFailure(f"not run: --require-sandbox, but the worker has no sandbox ({self.sandbox})")
                continue
            if event.get("event") == "done":
                return
            if event.get("event") == "failed":
                raise RuntimeFailure(f"the inference process failed: {event.get('error')}")
            if on_event is not None:
                on_event(event)

    def start(self, module_dir: Optional[str] = None) -> None:
        """Start the child unless it runs: it imports TensorFlow right away, so
        starting it before reading a module overlaps the two."""
        if self._stopped:
            raise RuntimeFailure("not run: sigcheck was interrupted")
        if self._process is None or self._process.poll() is not None:
            self._start(module_dir)

    def _start(self, module_dir: Optional[str]) -> None:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="sigcheck-worker-")
        self._granted = self.read_roots + ((module_dir,) if module_dir else ())
        self.sandbox = None  # the new child reports its own
        settings = {"parent": os.getpid(), "read": list(self._granted), "write": os.path.realpath(self._dir.name),
                    "memory": self.memory_limit, "require": self.require_sandbox}
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               # Libraries read their config under HOME (~/.keras): the sandbox lets them read only its own.
               "TMPDIR": self._dir.name, "HOME": self._dir.name, "KERAS_HOME": self._dir.name,
               "PYTHONDONTWRITEBYTECODE": "1"}
        if self.threads:
            env["TF_NUM_INTRAOP_THREADS"] = env["TF_NUM_INTEROP_THREADS"] = str(self.threads)
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = open(os.path.join(self._dir.name, f"stderr-{time.monotonic_ns()}.txt"), "w+",
                            encoding="utf-8", errors="replace")
        self._process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, _PACKAGE_ROOT, json.dumps(settings)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            start_new_session=True, text=True, bufsize=1,
        )
        self._events = queue.Queue()
        threading.Thread(target=_read_events, args=(self._process.stdout, self._events), daemon=True).start()

    def _stderr_since(self, offset: int) -> str:
        self._stderr.flush()
        self._stderr.seek(offset)
        return self._stderr.read()

    def kill(self) -> None:
        """Stop the child now, for good (interrupts): a job thread that is starting a
        child or waiting on one at this moment ends instead of running on unattended."""
        self._stopped = True
        self._kill()

    def _kill(self) -> None:
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            self._process.kill()
        self._process.wait()
        self._process = None

    def close(self) -> None:
        """End the child at once: it keeps nothing that needs flushing, and may
        still be importing TensorFlow for a module that turned out unreadable."""
        if self._process is not None:
            self._kill()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _covered(path: str, roots) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _read_events(stream, events: queue.Queue) -> None:
    for line in stream:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a module printing to stdout is not an event
        if isinstance(event, dict):
            events.put(event)
    events.put(None)


def _crash_message(returncode: int, stderr: str, memory_limit: int = 0, sandbox: Optional[str] = None) -> str:
    if returncode == -NETWORK_SIGNAL and sandbox and not sandbox.startswith("none"):
        # the seccomp filter's answer to an IPv4/IPv6 socket: the module called out, nothing was sent
        return (f"stopped by the sandbox ({sandbox}): the module opened a network (IPv4/IPv6) socket, "
                "so the worker was ended before it could connect")
    if memory_limit and ("std::bad_alloc" in stderr or "MemoryError" in stderr):
        # C++ code that cannot allocate aborts instead of raising an error TensorFlow can report
        return f"the inference process exceeded the memory limit of {memory_limit / 2**30:.1f} GiB (--max-memory)"
    if returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
        if -returncode == signal.SIGKILL:
            how += " (out of memory?)"
    else:
        how = f"exited with code {returncode}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith(_NOISE)]
    detail = f": {lines[-1][:300]}" if lines else ""
    return f"the inference process {how}{detail}"
