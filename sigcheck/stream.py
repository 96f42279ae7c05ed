"""Check many modules and hand each report over the moment it is done.

The scans of a registry run here: on local worker processes (many.check_many)
or on a Dask cluster (cluster.DaskCluster), with the result cache consulted
where each module is checked, so that hashing a module's files happens in
parallel and, on a cluster, on the machine that reads the module anyway.
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

    cache = ReportCache(cache_dir, config)

    def check_cached(handle: str, config: Config, **kwargs) -> Report:
        key = cache.key(handle)
        report = cache.get(handle, key)
        if report is None:
            report = check(handle, config, **kwargs)
            cache.put(key, report)
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

    check_many(handles, config, jobs=config.jobs, progress=progress, on_report=on_report,
               checker=cached_checker(config.cache_dir, config))
