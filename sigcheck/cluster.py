"""Scan on a Dask cluster: ``--cluster tcp://HOST:8786`` or ``--cluster local[:N]``.

Only module paths travel to the workers, never module bytes: workers read the
modules (and the result cache) from paths they can see.  Each Dask worker keeps
one sigcheck runtime Worker per thread -- a child process that imports
TensorFlow once and runs module after module -- so a module that crashes
TensorFlow or hangs costs its own child, not the Dask worker; ``--timeout``
holds per module as on one machine.

A Dask worker that dies (killed, out of memory) while checking a module makes
the scheduler run the module again elsewhere; if that worker dies too, the
module is reported as could-not-complete.  ``local`` clusters are configured so
(``distributed.scheduler.allowed-failures = 1``); a scheduler of your own
should be started with ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``.

Modules are submitted a batch at a time into a bounded window (cluster.Window),
and each result is released as soon as it is handed on, so neither the client
nor the scheduler holds more than a few reports whatever the size of the scan;
Dask's in-memory logs (events, transitions, recent messages) are kept short, so
that what they remember of each module does not add up over a long scan.  A
``local`` cluster (scheduler, nannies, workers) runs under a child process of
the scan's (LocalHost), so the scan's process holds the client alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import uuid
from itertools import islice
from typing import Callable, Optional

from .config import Config
from .errors import SigcheckError, UsageError, one_line
from .record import replace
from .resolve import is_url
from .results import ErrorInfo, Report

LOCAL = "local"
# One retry for a module whose worker died; no statistical profiler sampling every worker thread
# every 10 ms, and a calmer event-loop check: overhead a one-machine scan would pay for nothing.
_LOCAL_SETTINGS = {
    "distributed.scheduler.allowed-failures": 1,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    # For the scheduler (in a local cluster's host process): keep its histories short, so that it does
    # not grow with the number of modules (or the length of the scan) -- one computation, a minute of
    # system-monitor samples, no source code captured per submitted module, and 50 entries (not 1000)
    # in each event topic, the transition log and every stream's recent-message log: the update-graph
    # events and messages were ~4 KB a module, up to the 1000th.
    "distributed.diagnostics.computations.max-history": 1,
    "distributed.diagnostics.computations.nframes": 0,
    "distributed.diagnostics.erred-tasks.max-history": 10,
    "distributed.admin.system-monitor.log-length": 120,
    "distributed.admin.low-level-log-length": 50,
}
# The client's own logs (its recent messages to the scheduler: the submitted graphs), wherever the
# scheduler runs; Dask's default keeps 1000 of them.
_CLIENT_SETTINGS = {"distributed.admin.low-level-log-length": 50}
# What a Dask nanny sets in its workers' environment (distributed.nanny.pre-spawn-environ): right for
# the Dask worker, which only waits for sigcheck's runtime children, but not for those children, which
# run TensorFlow: they get the scan's own environment, as the children of ``--jobs`` do.
_NANNY_ENVIRON = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_IMPORT_HINT = "--cluster needs Dask distributed, which is not installed: pip install 'sigcheck[dask]'"

def parse_cluster(spec: str) -> tuple:
    """``local`` -> ("local", cores), ``local:3`` -> ("local", 3), an address -> ("address", it)."""
    if spec == LOCAL or spec.startswith(LOCAL + ":"):
        count = spec.partition(":")[2]
        if not count:
            return LOCAL, _cores()
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"--cluster {spec}: the number of local workers must be a whole number >= 1")
        return LOCAL, int(count)
    if "://" not in spec:
        raise UsageError(f"--cluster {spec}: give a scheduler address like tcp://HOST:8786, or local[:N]")
    return "address", spec


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class DaskCluster:
    """A Dask client (and, for ``local[:N]``, its LocalCluster) for the length of a scan."""

    def __init__(self, spec: str, config: Config, read_roots=()):
        self.kind, self.target = parse_cluster(spec)
        self.spec = spec
        self.config = config
        self.read_roots = tuple(os.path.abspath(root) for root in read_roots)
        self.client = None
        self._cluster = None
        self._quiet = contextlib.ExitStack()  # what the scan silences of Dask's logs, for its length

    def __enter__(self) -> "DaskCluster":
        if self.kind == LOCAL:
            # The scheduler and the nannies live in a child process, so that this one holds only the
            # client.  It starts first: its interpreter imports Dask while this one does.
            self._cluster = LocalHost(self.target)
            self._cluster.launch()
        try:
            try:
                import dask
                import distributed
                from distributed.utils import silence_logging_cmgr
            except ImportError:
                raise UsageError(_IMPORT_HINT) from None
            _limit_malloc_arenas()  # before the client's threads start
            if self.kind == LOCAL:
                # The client's own logs say nothing a user of ``local`` can act on (a cluster that stops
                # is one line, below): they are kept for a cluster of one's own.  The plugin comes with
                # each worker, so TensorFlow imports while the cluster starts.
                self._quiet.enter_context(silence_logging_cmgr(logging.CRITICAL))
                address = self._cluster.start(self.spec, self._plugin())
            else:
                address = self.target
            with dask.config.set(_CLIENT_SETTINGS):
                try:
                    self.client = distributed.Client(address)
                except (OSError, TimeoutError) as exc:
                    raise UsageError(f"--cluster {self.spec}: cannot reach the scheduler ({exc})") from None
            if self.kind != LOCAL:
                from .cluster_worker import PLUGIN

                self.client.register_plugin(self._plugin(), name=PLUGIN)  # workers joining later get it too
        except BaseException:
            self.__exit__()
            raise
        return self

    def _plugin(self):
        from .cluster_worker import SigcheckPlugin

        # --max-memory: shared by the local workers; on a cluster of its own, each Dask worker's bound.
        memory = self.config.worker_memory(self.target) if self.kind == LOCAL else (self.config.max_memory or 0)
        return SigcheckPlugin(self._tf_threads(), start_tensorflow=not self.config.static,
                              read_roots=self.read_roots, memory_limit=memory,
                              require_sandbox=self.config.require_sandbox,
                              child_environ={name: os.environ.get(name) for name in _NANNY_ENVIRON}
                              if self.kind == LOCAL else None)

    def __exit__(self, *exc) -> bool:
        try:
            if self.client is not None:
                self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
            self._quiet.close()
        return False

    def _tf_threads(self) -> int:
        """Cores per local worker, so that N children share the machine.  Elsewhere 0: each
        worker reads SIGCHECK_TF_THREADS from its own environment, or TensorFlow decides."""
        if self.kind == LOCAL:
            return max(1, _cores() // self.target)
        return 0

    def _where(self, path: str) -> str:
        """The path as the workers see it: absolute for a scheduler elsewhere (another working directory)."""
        if self.kind == LOCAL or is_url(path):
            return path
        return os.path.abspath(path)

    def check(self, handles, config: Config, on_report: Callable[[int, Report], None]) -> None:
        from distributed import as_completed

        from . import cluster_worker

        threads = sum(self.client.nthreads().values())
        scan = uuid.uuid4().hex[:8]
        running = as_completed()

        def submit(chunk: list) -> list:
            futures = self.client.map(cluster_worker.check_on_worker, [self._where(handle) for _, handle in chunk],
                                      config=config, cache_dir=config.cache_dir, pure=False,
                                      key=[f"sigcheck-{scan}-{index}" for index, _ in chunk])
            running.update(futures)
            return [future.key for future in futures]

        window = Window(enumerate(handles), submit, size=max(16, 2 * threads))
        trim = _malloc_trimmer()
        try:
            window.fill()
            for done, future in enumerate(self._completed(running), 1):
                index, handle = window.done(future.key)
                report = replace(_report_of(future, handle, config), module=handle)
                future.release()
                on_report(index, report)
                window.fill()
                if trim is not None and done % _TRIM_EVERY == 0:
                    trim(0)
        except Exception:
            if self._cluster is not None and self._cluster.stopped():  # the client lost its scheduler
                raise self._stopped() from None
            raise

    def _completed(self, running):
        """``running``'s futures as they finish (as iterating over it does), but a local cluster whose
        process is gone ends the scan at once: its client would wait for it, then cancel every module."""
        while True:
            while not running.has_ready():
                if running.is_empty():
                    return
                if self._cluster is not None and self._cluster.stopped():
                    raise self._stopped()
                with running.thread_condition:  # notified as each future finishes
                    running.thread_condition.wait(timeout=0.1)
            yield next(running)

    def _stopped(self) -> SigcheckError:
        return SigcheckError(f"--cluster {self.spec}: the local Dask cluster stopped during the scan "
                             f"({self._cluster.how_it_ended()})")


# The child process that runs a ``local`` cluster (LocalHost): the package's own root first on its
# path, and not the working directory (``-c`` puts it first), where a registry may hold anything.
_HOST = ("import sys; sys.path[:] = [sys.argv[1], *filter(None, sys.path)]; "
         "from sigcheck.cluster import serve_local; sys.exit(serve_local())")
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Seconds for a local cluster to start (its worker processes import Dask on a machine that may be
# busy) and to close (each worker stops its TensorFlow children) before its processes are killed.
_START_TIMEOUT = 300
_CLOSE_TIMEOUT = 30
_HOST_TIDY_SECONDS = 5  # the host's housekeeping period (_tidy_until): it has no per-module loop of its own


class LocalHost:
    """``--cluster local[:N]``: a Dask LocalCluster (scheduler, nannies, N worker processes) run by
    a child process of the scan's, so that the scan's process holds the Dask client alone.

    The scheduler keeps a little of every module it ran (Dask's own bookkeeping); in a process of
    its own that is not added to the client's, which keeps the reports.  The child reads its orders
    (how many workers, the plugin) from its stdin, answers with the scheduler's address or one line
    saying why the cluster did not start, and closes the cluster when its stdin ends: when the scan
    closes it, or when the scan's process dies, however it dies.  It runs in a session of its own,
    so Ctrl-C reaches the scan alone, which closes the client, then the cluster; a cluster that
    does not close in time is killed, process group and all."""

    def __init__(self, workers: int):
        self.workers = workers
        self.process: Optional[subprocess.Popen] = None
        self.process_code: Optional[int] = None  # once closed

    def launch(self) -> None:
        """Start the child, which imports Dask, then waits for its orders (start)."""
        self.process = subprocess.Popen([sys.executable, "-c", _HOST, _PACKAGE_ROOT], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, start_new_session=True)

    def start(self, spec: str, plugin) -> str:
        """The scheduler's address, once the cluster of ``plugin``'s workers runs; a SigcheckError
        if it does not start."""
        try:
            try:
                pickle.dump({"workers": self.workers, "plugin": plugin}, self.process.stdin)
                self.process.stdin.flush()
            except BrokenPipeError:  # the child is gone already: its answer (none) says so
                pass
            answer = self._answer(_START_TIMEOUT)
        except BaseException:
            self.close()
            raise
        if answer and answer.startswith("tcp://"):
            return answer
        self.close()
        if answer is None:
            reason = f"no scheduler within {_START_TIMEOUT} s"
        elif answer.startswith("error "):
            reason = answer[len("error "):]
        elif answer:
            reason = f"unexpected answer {answer[:200]!r}"
        else:
            reason = self.how_it_ended()
        raise SigcheckError(f"--cluster {spec}: the local Dask cluster did not start: {reason}")

    def _answer(self, timeout: float) -> Optional[str]:
        """The child's one line ("" if it ended without one), or None if none came in time."""
        got = []
        reader = threading.Thread(target=lambda: got.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return got[0].decode(errors="replace").strip() if got else None

    def stopped(self) -> bool:
        """Whether the child has exited while the scan still needed it."""
        return self.process is not None and self.process.poll() is not None

    def how_it_ended(self) -> str:
        code = self.process.returncode if self.process is not None else self.process_code
        if code is not None and code < 0:
            try:
                return f"its process was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"its process was killed by signal {-code}"
        return f"its process exited with code {code}"

    def close(self) -> None:
        """Close the cluster (end the child's stdin) and wait for it; kill its process group (the
        child, the nannies' worker processes) if it does not end in time or the wait is interrupted."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            try:
                process.stdin.close()
            except OSError:
                pass
            process.wait(_CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(process)
        except BaseException:  # Ctrl-C again: no waiting any longer
            _kill_group(process)
            raise
        finally:
            self.process_code = process.wait()
            process.stdout.close()


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is None:  # alive, so not reaped: the group's id is still its own
        os.killpg(process.pid, signal.SIGKILL)


def serve_local() -> int:
    """The child process of LocalHost: runs the LocalCluster until its stdin ends."""
    answer = os.fdopen(os.dup(1), "w")  # not inherited: Dask's processes write to stderr instead
    os.dup2(2, 1)
    try:
        _limit_malloc_arenas()  # before the scheduler's threads start
        import dask
        import distributed

        orders = pickle.load(sys.stdin.buffer)  # (Dask imported meanwhile: the scan imports it too)
        dask.config.set(_LOCAL_SETTINGS)  # for the whole process: comms opened later read them too
        cluster = distributed.LocalCluster(
            n_workers=orders["workers"], threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR, plugins=(orders["plugin"],),
            # Even without a dashboard the scheduler serves its HTTP routes (health, metrics), on
            # port 8787 unless told: a free port instead, so that two scans never collide on it.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    except BaseException as exc:  # noqa: B036 - whatever it is, the scan says it in one line
        print("error", one_line(f"{type(exc).__name__}: {exc}"), file=answer, flush=True)
        return 1
    stop = threading.Event()
    threading.Thread(target=_tidy_until, args=(_malloc_trimmer(), stop), daemon=True).start()
    try:
        print(cluster.scheduler_address, file=answer, flush=True)
        sys.stdin.buffer.read()  # until the scan closes it, or its process is gone
    except BrokenPipeError:  # the scan is gone already
        pass
    finally:
        stop.set()
        cluster.close(timeout=_CLOSE_TIMEOUT)
    return 0


def _tidy_until(trim, stop: threading.Event) -> None:
    """The host's housekeeping: forget the task-key prefixes Dask memoizes (its scheduler calls
    ``key_split`` on every module's key and caches up to 100 000 of them, ~0.25 KB a module; a
    pure cache, refilled on demand), and hand freed pages back to the system (malloc_trim)."""
    from dask.utils import key_split

    while not stop.wait(_HOST_TIDY_SECONDS):
        key_split.cache_clear()
        if trim is not None:
            trim(0)


# Completions between two malloc_trim calls: each costs well under a millisecond on the client's heap.
_TRIM_EVERY = 32


_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - musl and others have neither
    except (OSError, AttributeError):
        return None
    return libc


def _limit_malloc_arenas() -> None:
    """One glibc malloc arena for the client process (SIGCHECK_MALLOC_ARENAS=N for N, 0: glibc's default).

    glibc gives each thread that allocates its own arena; the event-loop thread (the client's, and in a
    local cluster's host the scheduler's) allocates and frees a little for every module, and its arena's freed
    pages stay fragmented among long-lived objects: ~1 KB a module over a long scan.  With one arena
    its frees fill the main thread's holes.  The client's threads mostly wait, so the shared lock costs
    nothing measurable; Dask's worker processes are not affected (a setting of this process only)."""
    arenas = os.environ.get("SIGCHECK_MALLOC_ARENAS", "1")
    libc = _glibc()
    if libc is None or not arenas.isdigit() or int(arenas) == 0:
        return
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt(_M_ARENA_MAX, int(arenas))


def _malloc_trimmer():
    """glibc's ``malloc_trim``, or None (not Linux, another C library, or SIGCHECK_MALLOC_TRIM=0).

    The client process (and a local cluster's host, for its scheduler) frees the memory
    of every finished module, but glibc keeps the freed pages of its arenas: fragmented among the
    long-lived objects, they add up to a couple of KB a module over a long scan.  malloc_trim hands
    the whole free pages back to the system, in every arena."""
    libc = _glibc()
    if libc is None or os.environ.get("SIGCHECK_MALLOC_TRIM", "1") == "0":
        return None
    trim = libc.malloc_trim
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class Window:
    """The modules in flight on the cluster: at most ``size``, submitted ``size // 4`` or more at a time.

    Submitting a module at a time costs the scheduler one graph update each, and it keeps a little of
    every update for the length of the scan (span metadata, events); a batch keeps at least 3/4 of the
    window (1.5 modules per worker thread) queued while it waits to be refilled."""

    def __init__(self, todo, submit: Callable[[list], list], *, size: int):
        self._todo = iter(todo)
        self._submit = submit  # items -> their keys, in order
        self.size = size
        self.batch = max(1, size // 4)
        self.pending = {}

    def fill(self) -> None:
        room = self.size - len(self.pending)
        if room < self.batch:
            return
        chunk = list(islice(self._todo, room))
        if chunk:
            self.pending.update(zip(self._submit(chunk), chunk))

    def done(self, key):
        """The item of a finished key."""
        return self.pending.pop(key)


def _report_of(future, handle: str, config: Config) -> Report:
    from distributed import KilledWorker

    if future.status == "finished":
        return future.result()
    exc = future.exception()
    if isinstance(exc, KilledWorker):
        message = ("could not complete: the Dask worker checking it was lost, and so was the one that "
                   "retried it (killed, or out of memory)")
        return Report(module=handle, error=ErrorInfo("lost-worker", message), fail_on=config.fail_on)
    return Report(module=handle, error=ErrorInfo("internal", f"could not complete on the cluster: "
                                                             f"{type(exc).__name__}: {exc}"),
                  fail_on=config.fail_on)
