"""What runs inside each Dask worker of a scan (``--cluster``): sigcheck's worker plugin and the task.

Apart from sigcheck.cluster (the scan's side) because it must subclass Dask's WorkerPlugin, so it
imports Dask: the scan's process imports it only once it needs Dask anyway, which lets a ``local``
cluster's own process start (and import Dask) at the same time.
"""

from __future__ import annotations

import os
import queue
from typing import Optional

from .config import Config
from .results import Report

PLUGIN = "sigcheck"

try:  # the plugin must subclass Dask's class, yet sigcheck must import without Dask
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPluginBase
except ImportError:  # pragma: no cover - exercised only without the extra
    _WorkerPluginBase = object


class SigcheckPlugin(_WorkerPluginBase):
    """Lives in each Dask worker: a pool of sigcheck runtime Workers, one per thread."""

    name = PLUGIN

    def __init__(self, tf_threads: int = 0, start_tensorflow: bool = True, *, read_roots=(),
                 memory_limit: int = 0, require_sandbox: bool = False, child_environ=None):
        self.tf_threads = tf_threads
        self.start_tensorflow = start_tensorflow
        # The runtime Workers' sandboxes grant the scan's modules up front, as on one machine:
        # a module outside them would cost a fresh child (and a TensorFlow import) each.
        self.read_roots = tuple(read_roots)
        self.memory_limit = memory_limit  # 0: this worker's share of its own machine's default
        self.require_sandbox = require_sandbox
        self.child_environ = child_environ  # name -> value or None (unset), for the runtime children
        self._idle: Optional[queue.Queue] = None
        self._all: list = []

    def setup(self, worker) -> None:
        from .runtime.runner import sandboxed_worker
        from .runtime.settings import WorkerLimits

        self._idle = queue.Queue()
        from .config import default_max_memory

        for name, value in (self.child_environ or {}).items():  # read by the children spawned below
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

        threads = self.tf_threads or int(os.environ.get("SIGCHECK_TF_THREADS", "0") or 0)
        count = max(1, getattr(worker.state, "nthreads", 1))
        memory = self.memory_limit or default_max_memory() // count
        roots = [root for root in self.read_roots if os.path.isdir(root)]
        for _ in range(count):
            runtime = sandboxed_worker(WorkerLimits(memory, self.require_sandbox), threads=threads, read_roots=roots)
            if self.start_tensorflow and roots:
                runtime.start()  # TensorFlow imports now, once, while the first task travels
            self._all.append(runtime)
            self._idle.put(runtime)

    def teardown(self, worker) -> None:
        for runtime in self._all:
            runtime.close()
        self._all = []

    def check(self, handle: str, config: Config, cache_dir: Optional[str]) -> Report:
        """api.check (behind the cache) on an idle runtime Worker; an exception becomes the
        task's error, which the client reports for this module alone."""
        from .api import check
        from .stream import cached_checker

        runtime = self._idle.get()
        try:
            return (cached_checker(cache_dir, config) or check)(handle, config, worker=runtime)
        finally:
            self._idle.put(runtime)


def check_on_worker(handle: str, config: Config, cache_dir: Optional[str]) -> Report:
    """The task: runs in a Dask worker thread."""
    from distributed import get_worker

    return get_worker().plugins[PLUGIN].check(handle, config.for_module(handle), cache_dir)
