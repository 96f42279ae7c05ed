"""What the runtime stage is told: plain values, resolved from config and rules by the api.

The runtime never reads rules or config: the api layer (``api.runtime_settings``)
turns the selected rules' options and declared probes into these fields, so the
runtime stays below the checks and names no rule.  A new input kind (text, TF2)
adds the fields its planner needs here, with defaults, and the api fills them.
"""

from __future__ import annotations

from ..record import field, record
from typing import Mapping


@record
class WorkerLimits:
    """What bounds a worker process: given to runner.sandboxed_worker, the one way workers are made."""

    memory_limit: int = 0  # bytes (0: none)
    require_sandbox: bool = False  # refuse to run unconfined


@record
class RuntimeSettings:
    runs: bool = False  # some selected rule reads runtime observations (else the stage does nothing)
    static: bool = False  # --static: never run
    needs: tuple = ()  # probe names (sigcheck.probes) the selected rules need; none: only load the tag sets
    allowed_ops: Mapping = field(default_factory=dict)  # the safety gate's allowlist options
    allow_unsafe_ops: bool = False  # run even what the gate refuses
    batch_sizes: tuple = (1, 2, 5)
    dropout_runs: int = 5
    max_batch_bytes: int = 2 << 30
    timeout: float = 600.0
    limits: WorkerLimits = WorkerLimits()  # for a worker the stage starts itself
