"""Decide whether and how the module is run, then run it (parent side).

The safety gate lives here: if the execution analysis (analysis.execution)
finds ops that would do more than compute -- whatever rules were selected --
the module is never executed unless the settings allow unsafe ops.  Everything
comes in as plain ``RuntimeSettings`` resolved by the api: no rule or config is
read here.
"""

from __future__ import annotations

from typing import Optional

from ..analysis.execution import refusal_to_run, unsafe_to_run
from ..analysis.feedable import NO_GRAPH_TO_RUN
from ..facts.model import ModuleFacts, format_tags
from ..probes import REGISTRY
from ..record import record
from .settings import RuntimeSettings


@record
class StageOutcome:
    observations: object = None
    skip_reason: Optional[str] = None
    error: Optional[str] = None
    sandbox: Optional[str] = None  # what confined the worker that ran the module
    # tags -> op types TensorFlow does not register, when only the registry was asked (the module was refused)
    registry: Optional[dict] = None


def runtime_stage(facts: ModuleFacts, directory: str, settings: RuntimeSettings, worker=None,
                  progress=None) -> StageOutcome:
    """Run the module if the settings say rules need it and it is safe; ``worker`` is reused when given."""
    if not settings.runs:
        return StageOutcome()
    if settings.static:
        return StageOutcome(skip_reason="runtime checks not run (--static)")
    if not facts.meta_graphs:
        return StageOutcome(skip_reason=NO_GRAPH_TO_RUN)
    unsafe = unsafe_to_run(facts, settings.allowed_ops)
    if unsafe and not settings.allow_unsafe_ops:
        return _registry_only(facts, directory, settings, worker, refusal_to_run(unsafe))
    from .plan import make_plan  # only modules that will run need a plan

    plan = make_plan(facts, directory, batch_sizes=settings.batch_sizes, dropout_runs=settings.dropout_runs,
                     max_batch_bytes=settings.max_batch_bytes, needs=settings.needs)
    from .runner import RuntimeFailure, sandboxed_worker  # numpy and subprocess machinery: only when running

    on_event = progress.for_module(facts.path, plan.image_forwards) if progress else None
    own = worker is None
    if own:
        worker = sandboxed_worker(settings.limits)
    try:
        observations = worker.run(plan, timeout=settings.timeout, on_event=on_event)
    except RuntimeFailure as exc:
        return StageOutcome(error=str(exc), sandbox=worker.sandbox)
    finally:
        if own:
            worker.close()
    return StageOutcome(observations=observations, sandbox=worker.sandbox)


def _registry_only(facts, directory: str, settings: RuntimeSettings, worker, reason: str) -> StageOutcome:
    """The refused module is not run; if a selected rule asks the op registry, the worker answers that
    alone (loading nothing: unregistered ops are what keeps many a text module out of TensorFlow)."""
    if REGISTRY not in settings.needs:
        return StageOutcome(skip_reason=reason)
    from .plan import registry_plan
    from .runner import RuntimeFailure, sandboxed_worker

    own = worker is None
    if own:
        worker = sandboxed_worker(settings.limits)
    try:
        observations = worker.run(registry_plan(facts, directory), timeout=settings.timeout)
    except RuntimeFailure:
        return StageOutcome(skip_reason=reason)
    finally:
        if own:
            worker.close()
    registry = {t.tags: t.unregistered_ops for t in observations.tag_sets if t.unregistered_ops is not None}
    return StageOutcome(skip_reason=reason, registry=registry)


class Progress:
    """A one-line rich status on stderr that follows the workers' events.

    Thread-safe: with several jobs each module reports through its own callback
    and the line shows how many modules are done and what the latest one does."""

    def __init__(self, total_modules: int = 1):
        import threading

        from rich.console import Console

        self.total, self.finished = total_modules, 0
        self._lock = threading.Lock()
        self._status = Console(stderr=True).status("sigcheck: starting")

    def __enter__(self):
        self._status.start()
        return self

    def __exit__(self, *exc):
        self._status.stop()
        return False

    def module_done(self) -> None:
        with self._lock:
            self.finished += 1

    def for_module(self, module: str, total_images: int):
        state = {"done": 0}

        def on_event(event: dict) -> None:
            kind = event.get("event")
            tags = format_tags(tuple(event.get("tags", ())))
            if kind == "import":
                text = "importing TensorFlow"
            elif kind == "load":
                text = f"loading tag set {tags}"
            elif kind == "probe":
                state["done"] += event.get("images", 0)
                text = f"running {event.get('probe')} in {tags} ({min(state['done'], total_images)}/{total_images} images)"
            else:
                return
            prefix = f"[{self.finished}/{self.total} modules] " if self.total > 1 else ""
            with self._lock:
                self._status.update(f"{prefix}{module}: {text}")

        return on_event
