"""Version to version: ``sigcheck diff OLD NEW`` and golden outputs (``sigcheck snapshot``).

``diff(old, new, config)`` reads both modules, classifies every interface
difference (``interface``), runs both on the same synthetic batch in one
isolated worker (``run``), compares the outputs (``behaviour``) and returns a
``DiffReport``; ``render`` prints it.  Bad input raises a SigcheckError with
its own exit code: 2 unreadable handle, 6 no common interface, 7 a module
that cannot be run.
"""

from __future__ import annotations

from contextlib import ExitStack

from ..facts.image import module_image_signatures
from ..facts.reader import read_module
from ..facts.summary import summarize
from ..resolve import resolve
from .behaviour import THRESHOLDS, Behaviour, compare_outputs
from .interface import compare_interfaces
from .report import DiffReport


def diff(old: str, new: str, config=None, *, worker=None) -> DiffReport:
    from ..config import Config

    config = config or Config()
    thresholds = {**THRESHOLDS, **dict(getattr(config, "diff", None) or {})}
    with ExitStack() as stack:
        dirs = [stack.enter_context(resolve(h, max_archive_bytes=config.max_archive_bytes)) for h in (old, new)]
        facts = [read_module(d) for d in dirs]
        differences = compare_interfaces(*facts)
        if config.static:
            behaviour = Behaviour(False, "--static: interfaces only")
        else:
            behaviour = _behaviour(facts, dirs, (old, new), config, thresholds, worker, stack)
        return DiffReport(old, new, differences, behaviour, summarize(facts[0], dirs[0]), summarize(facts[1], dirs[1]))


def _behaviour(facts, dirs, handles, config, thresholds, worker, stack) -> Behaviour:
    from ..runtime.runner import sandboxed_worker
    from .run import run_outputs

    if worker is None:
        worker = stack.enter_context(sandboxed_worker(config.worker_limits(1), read_roots=dirs))
    outputs = [run_outputs(f, d, config, worker, h) for f, d, h in zip(facts, dirs, handles)]
    same_size = {s for s, size in outputs[0].image_sizes.items() if outputs[1].image_sizes.get(s) == size}
    old_values = {k: v for k, v in outputs[0].values.items() if k[0] in same_size}
    new_values = {k: v for k, v in outputs[1].values.items() if k[0] in same_size}
    tasks = {s: _task(facts[1]) for s in same_size}
    compared = compare_outputs(old_values, new_values, outputs[0].labels, tasks, thresholds)
    reason = "" if compared else "no image signature of the same name runs at the same image size in both"
    return Behaviour(True, reason, outputs[0].labels, compared, thresholds)


def _task(facts) -> str:
    names = module_image_signatures(facts)
    return "classifier" if "image_classification" in names else "feature_vector" if names else ""
