"""Run modules on the deterministic synthetic batch in the isolated worker and collect every output.

The ``outputs`` probe feeds every synthetic image once to each image signature
group of the inference graph (tag set ``{}``, loaded once); both modules of a
diff go to the same worker, so TensorFlow is imported once.  The safety gate
(SEC601's analysis) applies exactly as for a check.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SigcheckError
from ..facts.image import module_image_signatures
from ..facts.model import ModuleFacts
from ..probes import OUTPUTS
from ..record import replace
from ..rules import load_rules


class CannotRun(SigcheckError):
    """A module could not be run: refused by the safety gate, timed out, crashed, failed to load."""

    kind = "cannot-run"
    exit_code = 7


@dataclass(frozen=True)
class ModuleOutputs:
    labels: tuple  # the synthetic images, one per row
    values: dict  # (signature, key) -> np.ndarray [images, ...]
    tensors: dict  # (signature, key) -> tensor name
    image_sizes: dict  # signature -> (height, width)
    sandbox: str = ""


def inference_only(facts: ModuleFacts) -> ModuleFacts:
    """The facts with only the inference graph: the one the outputs are taken from (loaded once)."""
    return replace(facts, meta_graphs=(facts.primary,)) if facts.meta_graphs else facts


def run_outputs(facts: ModuleFacts, directory: str, config, worker, handle: str) -> ModuleOutputs:
    """Every numeric output of every image signature for the synthetic images, or CannotRun."""
    from ..api import runtime_settings
    from ..engine import select_rules
    from ..runtime.stage import runtime_stage

    if not module_image_signatures(facts):
        raise CannotRun(f"{handle}: not an image module: no image signature to run")
    settings = replace(runtime_settings(select_rules(load_rules()), config), runs=True, static=False,
                       needs=(OUTPUTS,))
    outcome = runtime_stage(inference_only(facts), directory, settings, worker)
    if outcome.skip_reason or outcome.error:
        raise CannotRun(f"{handle}: cannot be run: {outcome.skip_reason or outcome.error}")
    observations = outcome.observations
    tags = facts.primary.tags
    run = observations.for_tags(tags)
    if run is None or not run.loaded:
        raise CannotRun(f"{handle}: cannot be run: {run.load_error or run.variables_error if run else 'not loaded'}")
    tag_plan = observations.plan.for_tags(tags)
    values, tensors, sizes, labels = {}, {}, {}, ()
    for signature in module_image_signatures(facts):
        reason = tag_plan.reason_unrunnable(signature)
        group = tag_plan.group_for(signature)
        probe = (observations.probes(tags, signature) or {}).get(OUTPUTS)
        if reason or group is None or probe is None or probe.error:
            raise CannotRun(f"{handle}: signature '{signature}' cannot be run: "
                            f"{reason or (probe.error if probe else 'not run')}")
        labels = probe.labels
        sizes[signature] = (group.height, group.width)
        for sig, key, tensor in group.outputs:
            if sig == signature and tensor in probe.runs[0].values:
                values[sig, key] = probe.runs[0].values[tensor]
                tensors[sig, key] = tensor
    return ModuleOutputs(labels, values, tensors, sizes, outcome.sandbox or "")
