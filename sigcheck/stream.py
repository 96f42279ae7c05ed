"""Check many modules and hand each report over the moment it is done.

The scans of a registry run here: on local worker processes (many.check_many)
or on a Dask cluster (cluster.DaskCluster).  On one machine cached reports are
looked up first, so a fully cached scan starts no TensorFlow process; on a
cluster each worker consults the cache for its module, so that the files are
hashed on the machine that reads them anyway, not all through the client.
Reports are passed on, not kept: a scan's memory does not grow with the
number of modules.
"""

from __future__ import annotations

from typing import Callable, Optional

from .config import Config
from .results import Report


def cached_checker(cache_dir: Optional[str], config: Config) -> Optional[Callable]:
    """api.check behind the result cache in ``cache_dir`` (None: no cache, use api.check)."""
    if not cache_dir:
        return None
    from .api import check
    from .cache import ReportCache

    cache, run_config = ReportCache(cache_dir, config), config

    def check_cached(handle: str, config: Config, **kwargs) -> Report:
        store = cache if config == run_config else ReportCache(cache_dir, config)  # per-module settings
        key = store.key(handle)
        report = store.get(handle, key)
        if report is None:
            report = check(handle, config, **kwargs)
            store.put(key, report)
        return report

    return check_cached


def check_stream(handles, config: Config, on_report: Callable[[int, Report], None], *,
                 cluster=None, progress=None) -> None:
    """``on_report(index, report)`` once per handle, in the order they finish.

    ``cluster`` (a cluster.DaskCluster) runs the modules on Dask workers;
    otherwise ``config.jobs`` local workers do.  ``on_report`` may be called
    from several threads."""
    if not handles:
        return
    if cluster is not None:
        cluster.check(handles, config, on_report)
        return
    from .many import check_many

    misses = list(enumerate(handles))
    if config.cache_dir:
        misses = _report_hits(misses, config, on_report)
    if not misses:
        return  # a fully cached scan starts no worker process at all

    def arrived(position: int, report: Report) -> None:
        on_report(misses[position][0], report)

    check_many([h for _, h in misses], config, jobs=config.jobs, progress=progress, on_report=arrived,
               checker=cached_checker(config.cache_dir, config))


def _report_hits(todo, config: Config, on_report) -> list:
    """Hand over the cached reports at once; the (index, handle) pairs left to check."""
    from .cache import ReportCache

    cache = ReportCache(config.cache_dir, config)
    misses = []
    for index, handle in todo:
        own = config.for_module(handle)  # per-module settings are part of the key
        store = cache if own == config else ReportCache(config.cache_dir, own)
        report = store.get(handle, store.key(handle))
        if report is None:
            misses.append((index, handle))
        else:
            on_report(index, report)
    return misses
