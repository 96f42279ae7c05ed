"""The runtime plan of a text module: which synthetic strings each text probe feeds ``default``.

The twin of ``plan.IMAGE_PROBES`` for the text probes of ``sigcheck.probes``;
``Probe.images`` holds indices into ``strings.NAMES``.  Only a dense string
input of rank 1 is fed: an integer (token id) or 2-D input is a text module
that violates the text input conventions, and nothing sensible can be fed to it
(``analysis.feedable.why_unfeedable_text``).
"""

from __future__ import annotations

from ..analysis.feedable import why_unfeedable_text
from ..facts.image import DEFAULT
from ..probes import TEXT_ALL, TEXT_DROPOUT, TEXT_REPEAT, TEXT_SIZES, size_probe
from . import strings
from .plan import Group, Probe, TagSetPlan

REPEAT_STRINGS = strings.DISTINCT


def _sizes(batch_sizes, dropout_runs):
    count = len(strings.NAMES)
    return [Probe(size_probe(b, TEXT_SIZES), tuple(i % count for i in range(b)), exact=True) for b in batch_sizes]


TEXT_PROBES = {
    TEXT_SIZES: _sizes,
    TEXT_ALL: lambda batch_sizes, dropout_runs: [Probe(TEXT_ALL, tuple(reversed(range(len(strings.NAMES)))))],
    TEXT_REPEAT: lambda batch_sizes, dropout_runs: [Probe(TEXT_REPEAT, REPEAT_STRINGS, runs=2)],
    TEXT_DROPOUT: lambda batch_sizes, dropout_runs: [Probe(TEXT_DROPOUT, REPEAT_STRINGS, runs=dropout_runs)],
}


def text_tag_set_plan(meta, probes) -> TagSetPlan:
    signature = meta.signature(DEFAULT)
    if signature is None:
        return TagSetPlan(meta.tags, ())
    reason = why_unfeedable_text(meta, signature)
    if reason:
        return TagSetPlan(meta.tags, (), ((DEFAULT, reason),))
    if not probes:
        return TagSetPlan(meta.tags, ())
    tensor = signature.inputs[0]
    outputs = tuple((DEFAULT, t.key, t.name) for t in signature.outputs if t.name and t.encoding == "dense")
    group = Group(tensor.name, tensor.dtype, 0, 0, tensor.shape[0] or 0, (DEFAULT,), outputs, probes,
                  input_kind="text")
    return TagSetPlan(meta.tags, (group,))
