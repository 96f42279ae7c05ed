"""Check many modules: one worker process per job, failures isolated per module.

Each job is a thread in this process that owns one runtime Worker (a child
process importing TensorFlow once) and takes modules from a shared queue, so N
jobs run N modules' inference at a time.  A module that crashes or hangs its
child gets ``error`` results; the job starts a fresh child for its next module.
"""

from __future__ import annotations

import os
import queue
import threading
import traceback

from .api import check
from .config import MIN_MEMORY, Config, default_max_memory
from .errors import UsageError
from .resolve import is_archive, is_url, local_directory
from .results import ErrorInfo, Report
from .runtime.runner import Worker, sandboxed_worker


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def effective_jobs(requested: int, modules: int, config: Config) -> int:
    """Workers to start: as asked (0: one per core), but no more than the
    modules, the cores, or the memory bound has room for (1 GiB each)."""
    budget = config.max_memory or default_max_memory()
    return max(1, min(requested or default_jobs(), modules, default_jobs(), budget // MIN_MEMORY))


def check_many(handles, config: Config, *, jobs: int = 0, progress=None, on_report=None, checker=None) -> list:
    """Reports for ``handles``, in the order given.

    With ``on_report``, each report goes to ``on_report(index, report)`` (from
    the job's thread) as soon as it is done and is not kept: the list holds
    None.  ``checker`` replaces api.check (the result cache wraps it)."""
    jobs = effective_jobs(jobs, len(handles), config)
    todo: queue.Queue = queue.Queue()
    for index, handle in enumerate(handles):
        todo.put((index, handle))
    reports = [None] * len(handles)
    threads = default_jobs() // jobs if jobs > 1 else 0  # share the cores between the workers
    roots = [d for d in map(local_directory, handles) if d]  # sandboxes grant every module of the run up front
    workers = [sandboxed_worker(config.worker_limits(jobs), threads=threads, read_roots=roots) for _ in range(jobs)]

    # One "finished" event per job: after a KeyboardInterrupt has cut into Thread.join,
    # CPython may report the thread as not alive while it still runs (and join returns
    # at once), so the jobs say themselves when they have cleaned up.
    finished = [threading.Event() for _ in workers]
    stopping = threading.Event()

    def work(worker: Worker, done: threading.Event) -> None:
        try:
            _work(worker)
        finally:
            done.set()

    def _work(worker: Worker) -> None:
        with worker:
            if not config.static and roots:  # a sandbox for archives is made once they are extracted
                worker.start()  # TensorFlow imports while the first module is read
            while True:
                try:
                    index, handle = todo.get_nowait()
                except queue.Empty:
                    return
                report = _checked(handle, config, worker, progress, checker or check)
                if stopping.is_set():
                    return  # cut short by the interrupt: not a result (a --resume checks it again)
                if on_report is None:
                    reports[index] = report
                else:
                    on_report(index, report)
                if progress is not None:
                    progress.module_done()

    jobs_running = [threading.Thread(target=work, args=(w, e), daemon=True) for w, e in zip(workers, finished)]
    for thread in jobs_running:
        thread.start()
    try:
        for done in finished:
            while not done.wait(timeout=0.2):
                pass
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: stop, and let each job remove its temp dirs
        stopping.set()
        while not todo.empty():
            todo.get_nowait()
        for worker in workers:
            worker.kill()
        for done in finished:
            done.wait(timeout=10)
        raise
    return reports


def _checked(handle: str, config: Config, worker: Worker, progress, checker=check) -> Report:
    try:
        return checker(handle, config.for_module(handle), worker=worker, progress=progress)
    except Exception as exc:  # a bug in sigcheck must not take the other modules down
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        return Report(module=handle, error=ErrorInfo("internal", f"internal error: {type(exc).__name__}: {exc} "
                                                                 f"(at {where})"), fail_on=config.fail_on)


def discover_modules(root: str) -> list:
    """Module directories (holding saved_model.pb) and archives under ``root``, sorted."""
    if is_url(root) or not os.path.isdir(root):
        raise UsageError(f"scan {root}: not a directory")
    found = []
    for directory, subdirs, files in os.walk(root):
        if "saved_model.pb" in files:
            found.append(directory)
            subdirs[:] = []  # a module's own folders (variables/, assets/) are not modules
            continue
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found.extend(os.path.join(directory, f) for f in sorted(files) if is_archive(f))
    if not found:
        raise UsageError(f"scan {root}: no module directories (with saved_model.pb) or .tar.gz/.tgz archives found")
    return sorted(found)
