"""RSM811-RSM812: the Reusable SavedModel API as the consumer's hub.KerasLayer sees it (run time).

The worker wraps the loaded model in ``hub.KerasLayer`` (the Keras
tensorflow_hub uses), builds a functional Keras model on it and runs one
batch (probe ``keras``), then does the same with ``trainable=True`` and counts
the layer's trainable weights (probe ``keras-trainable``, with the count of the
restored model's trainable variables in the probe's ``details``).
"""

from __future__ import annotations

from ..probes import KERAS, KERAS_TRAINABLE
from . import check, passed, skipped, violated
from ._tf2observed import KERAS_WHERE, keras_observed


def _fed(probe) -> str:
    return f"a batch of {len(probe.images)} {probe.details.get('input', 'inputs')}"


def _output(run) -> str:
    shown = [f"{run.dtypes.get(t, '?')} {list(s)}" if t.endswith("/output") else f"{t.split('/output/', 1)[-1]}: "
             f"{run.dtypes.get(t, '?')} {list(s)}" for t, s in sorted(run.shapes.items())]
    return shown[0] if len(shown) == 1 else "{" + ", ".join(shown) + "}"


def _probe(ctx, name):
    """(ProbeResult, None) or (None, the finding for a model the probe did not run on)."""
    seen = keras_observed(ctx)
    if seen.probes is None:
        return None, seen.unobserved(**KERAS_WHERE)
    probe = seen.probes.get(name)
    if probe is None:
        return None, skipped("hub.KerasLayer was not run", **KERAS_WHERE)
    return probe, None


@check("RSM811", needs=(KERAS,))
def keras_layer(ctx, options):
    probe, finding = _probe(ctx, KERAS)
    if finding:
        yield finding
    elif probe.error or not probe.runs:
        yield violated(f"a Keras model built on hub.KerasLayer(model) fails on {_fed(probe)}: "
                       f"{probe.error or 'no output'}", **KERAS_WHERE)
    else:
        keras = probe.details.get("keras", "Keras")
        yield passed(f"hub.KerasLayer wraps the model; a {keras} model built on it runs {_fed(probe)} -> "
                     f"{_output(probe.runs[0])}", **KERAS_WHERE)


@check("RSM812", needs=(KERAS, KERAS_TRAINABLE))
def keras_trainable(ctx, options):
    probe, finding = _probe(ctx, KERAS_TRAINABLE)
    plain, _ = _probe(ctx, KERAS)
    if finding:
        yield finding
        return
    if probe.error:
        if plain is not None and plain.error:
            yield skipped("the wrapped model does not run at all (see RSM811)", **KERAS_WHERE)
        else:
            yield violated(f"hub.KerasLayer(model, trainable=True) fails where trainable=False runs: {probe.error}",
                           **KERAS_WHERE)
        return
    trainable = probe.details.get("trainable_variables", 0)
    weights = probe.details.get("trainable_weights", 0)
    if not trainable:
        yield passed("the model has no trainable variables (nothing to fine-tune)", **KERAS_WHERE)
    elif not weights:
        yield violated(f"hub.KerasLayer(model, trainable=True) has no trainable weights, though the model has "
                       f"{trainable} trainable variable(s): fine-tuning would change nothing (list them in "
                       "trainable_variables, or save them as non-trainable)", **KERAS_WHERE)
    else:
        yield passed(f"hub.KerasLayer(model, trainable=True) has {weights} trainable weight(s); the model has "
                     f"{trainable} trainable variable(s)", **KERAS_WHERE)
