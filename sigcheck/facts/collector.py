"""Pausing the cyclic garbage collector while facts pile up.

Facts and walks are acyclic tuples, freed by reference counting; the cyclic
collector only rescans them as they accumulate (10^5 nodes: a quarter of the
time of reading a graph, half of walking it).  The previous state is restored,
so a caller of the Python API keeps the collector it had."""

from __future__ import annotations

import contextlib
import functools
import gc


@contextlib.contextmanager
def collector_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_collector(function):
    """``function`` run with the collector paused."""

    @functools.wraps(function)
    def paused(*args, **kwargs):
        with collector_paused():
            return function(*args, **kwargs)

    return paused
