"""Reading runtime observations for one signature, and comparing outputs.

Shared by the runtime checks so that they agree on what "the same output"
means (NaN-aware, tolerance relative to the output's scale) and on why a
signature has nothing to show (not runnable, tag set not loaded, probe failed).
"""

from __future__ import annotations

from typing import Optional

from ..facts.image import DEFAULT
from ..probes import is_refusal
from . import could_not_check, skipped
from ..record import record


@record
class Observed:
    """The probes of one signature in one tag set, or why there are none."""

    probes: Optional[dict]  # probe name -> ProbeResult
    tensor: Optional[str]  # the tensor of the signature's default output
    reason: Optional[str] = None
    refused: bool = False  # not run for a resource bound: the rule could not check, it did not pass

    def unobserved(self, **where):
        """The finding for a signature with no probes: an error if a resource bound
        kept it from running (a module must not dodge the runtime), else a skip."""
        return (could_not_check if self.refused else skipped)(self.reason, **where)

    def label(self, index: int) -> str:
        """What input ``index`` was, as the probes that fed it say."""
        for probe in (self.probes or {}).values():
            if index in probe.images:
                return probe.label(index)
        return str(index)

    def default_rows(self, probe_name: str, run: int = 0):
        """(image indices, values [B, N]) of a probe's run, or None."""
        probe = self.probes.get(probe_name) if self.probes else None
        if probe is None or probe.error or len(probe.runs) <= run or self.tensor not in probe.runs[run].values:
            return None
        return probe.images, probe.runs[run].values[self.tensor]


def observed(ctx, tags, signature_name: str) -> Observed:
    obs = ctx.observations
    if obs is None:
        return Observed(None, None, "no runtime observations")
    run = obs.for_tags(tags)
    if run is None:
        return Observed(None, None, "tag set was not run")
    if not run.loaded:
        return Observed(None, None, "the graph could not be loaded (see HUB105/RUN501)")
    tag_plan = obs.plan.for_tags(tags)
    reason = tag_plan.reason_unrunnable(signature_name) if tag_plan else None
    if reason:
        return Observed(None, None, f"not run: {reason}", refused=is_refusal(reason))
    probes = obs.probes(tags, signature_name)
    if probes is None:
        return Observed(None, None, "not run")
    return Observed(probes, obs.tensor(tags, signature_name, DEFAULT))


def max_difference(a, b) -> float:
    """Largest absolute difference; NaN in the same place counts as equal,
    NaN against a number as infinitely different."""
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    both_nan = np.isnan(a) & np.isnan(b)
    one_nan = np.isnan(a) ^ np.isnan(b)
    if one_nan.any():
        return float("inf")
    diff = np.where(both_nan, 0.0, np.abs(np.nan_to_num(a) - np.nan_to_num(b)))
    return float(diff.max()) if diff.size else 0.0


def repeat_difference(seen: Observed, probe: str):
    """(max difference, first run's rows) between the two runs of a repeat probe, or None."""
    first, second = seen.default_rows(probe, 0), seen.default_rows(probe, 1)
    if first is None or second is None:
        return None
    return max_difference(first[1], second[1]), first[1]


def tolerance(reference, rtol: float, atol: float) -> float:
    import numpy as np

    finite = np.abs(reference[np.isfinite(reference)])
    scale = float(finite.max()) if finite.size else 0.0
    return atol + rtol * scale


def each_default_observed(ctx):
    """(signature, where, Observed) for the `default` output of every image signature in the inference graph;
    for a TF2 model, (None, where, Observed) for the output of ``__call__`` in inference mode."""
    if ctx.tf2_kind is not None:
        from ._tf2observed import each_call_default

        yield from each_call_default(ctx)
        return
    for signature in ctx.image_signatures:
        yield signature, ctx.where(signature, "outputs", DEFAULT), observed(ctx, ctx.primary.tags, signature.name)
