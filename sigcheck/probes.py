"""The catalogue of runtime probes: what a runtime rule can ask the worker to run.

A *probe* is one kind of forward pass the runtime stage can make (a batch of
synthetic inputs, possibly repeated or rescaled).  Probes cost time, so none
runs unless a selected rule needs it: a runtime check declares its needs next
to its code, ``@check("RUN504", needs=(REPEAT,))``, and the plan is the union
of the needs of the selected rules (``--select RUN504`` runs only ``repeat``).
A runtime rule with no needs (``HUB105``'s restore) only loads the tag sets.

This module sits below both ``checks/`` and ``runtime/`` (it imports nothing
of sigcheck), so that the two agree on names without importing each other.

Adding a runtime rule that reads existing probes: declare ``needs=`` on its
``@check``; nothing else changes (not the plan, not a list in the tests).

Adding a probe, or probes for a new *input kind* (``"text"`` for string inputs
of text modules, ``"tf2"`` for what only a TF2 SavedModel runs): add its
constant and a ``ProbeKind`` to ``CATALOGUE`` below (``register`` from a later
module works too), then teach the planner for that input kind to build it: for
images that is ``runtime/plan.py:IMAGE_PROBES`` (name -> builder of
``Probe`` objects), for text modules ``runtime/textplan.py:TEXT_PROBES``, for
TF2 SavedModels ``runtime/tf2plan.py:TF2_PROBES`` (which reuses the image
probes' names: a TF2 image model's ``__call__`` runs them); a new kind adds its
own table and planner, which plans only the probes the selected rules need.
Checks then read the probe's observations by the same constant.
"""

from __future__ import annotations

from .record import record

# Image probes (TF1 Hub image modules).
SIZES = "size"  # one probe "size-B" per configured batch size B, exact batch, in every tag set
ALL = "all"  # every synthetic image in one batch, reversed (a batch unlike any size-B)
REPEAT = "repeat"  # two images run twice in the inference graph
RANGE255 = "range255"  # four images at [0, 255] instead of [0, 1]
DROPOUT = "dropout"  # two images run several times in every tag set but the inference graph
OUTPUTS = "outputs"  # every synthetic image once, every output kept: golden outputs and `sigcheck diff`

INFERENCE, OTHERS, EVERY = "inference", "others", "every"  # which tag sets a probe runs in


@record
class ProbeKind:
    name: str  # what a rule declares in needs=; also the probe's name (or prefix) in observations
    input_kind: str  # "image" today; "text", "tf2" ... for the planners that come
    tag_sets: str  # INFERENCE, OTHERS or EVERY
    purpose: str


CATALOGUE: dict = {}


def register(kind: ProbeKind) -> ProbeKind:
    """Add ``kind`` to the catalogue (the order of registration is the order probes run)."""
    if kind.name in CATALOGUE and CATALOGUE[kind.name] != kind:
        raise ValueError(f"two probe kinds named {kind.name!r}")
    CATALOGUE[kind.name] = kind
    return kind


for _kind in (
    ProbeKind(SIZES, "image", EVERY, "runs at each batch size B; output shapes against B"),
    ProbeKind(ALL, "image", INFERENCE, "every synthetic image at once: a different batch, distinct inputs"),
    ProbeKind(REPEAT, "image", INFERENCE, "the same batch twice: determinism"),
    ProbeKind(RANGE255, "image", INFERENCE, "images at [0, 255]: which input range the module expects"),
    ProbeKind(DROPOUT, "image", OTHERS, "the same batch several times in the training graphs: dropout"),
    ProbeKind(OUTPUTS, "image", INFERENCE, "every synthetic image in order, every output's values kept: "
                                            "golden outputs and version-to-version comparison"),
):
    register(_kind)


# Text probes (TF1 Hub text modules: synthetic strings, sigcheck.runtime.strings).
TEXT_SIZES = "text-size"  # one probe "text-size-B" per configured batch size B, in every tag set
TEXT_ALL = "text-all"  # every synthetic string in one batch, reversed: empty, long, non-ASCII, OOV...
TEXT_REPEAT = "text-repeat"  # three sentences run twice in the inference graph
TEXT_DROPOUT = "text-dropout"  # three sentences run several times in every tag set but the inference graph

for _kind in (
    ProbeKind(TEXT_SIZES, "text", EVERY, "runs at each batch size B; output shapes against B"),
    ProbeKind(TEXT_ALL, "text", INFERENCE, "every synthetic string at once: odd strings, distinct inputs"),
    ProbeKind(TEXT_REPEAT, "text", INFERENCE, "the same sentences twice: determinism"),
    ProbeKind(TEXT_DROPOUT, "text", OTHERS, "the same sentences several times in the training graphs: dropout"),
):
    register(_kind)


# TF2 SavedModels (``tf.saved_model.load`` in the worker, runtime/tf2plan.py).  A TF2 image model's
# ``__call__`` runs the image probes above (SIZES, ALL, REPEAT, RANGE255 with training=False, DROPOUT
# with training=True); these are the probes only TF2 has.
RESIZED = "tf2-resized"  # a batch at a second image size: N must not depend on H and W
KERAS = "keras"  # hub.KerasLayer wraps the model in a Keras model that runs one batch
KERAS_TRAINABLE = "keras-trainable"  # the same with trainable=True: which trainable weights the layer has
# The groups of a TF2 plan, named like signatures (what checks pass to observations.probes): the model's own
# __call__, whose single output is kept under the key `default`, and hub.KerasLayer wrapping it.
TF2_CALL = "__call__"
TF2_KERAS_LAYER = "hub.KerasLayer"

# TF2 text models: an embedding's or a preprocessor's __call__ runs the text probes above (TEXT_SIZES, TEXT_ALL,
# TEXT_REPEAT, with training=False when it takes training); these are the text probes only TF2 has.
TF2_TRAINING = "tf2-training"  # the repeated sentences once with training=True: a preprocessor ignores it
TF2_TOKENIZE = "tf2-tokenize"  # a preprocessor's tokenize sub-callable on every synthetic string
TF2_IDS = "tf2-ids"  # one probe "tf2-ids-B" per batch size B: an encoder's __call__ on synthetic token ids

for _kind in (
    ProbeKind(TF2_TRAINING, "tf2", INFERENCE, "the repeated sentences with training=True (a preprocessor)"),
    ProbeKind(TF2_TOKENIZE, "tf2", INFERENCE, "a preprocessor's tokenize on every synthetic string"),
    ProbeKind(TF2_IDS, "tf2", INFERENCE, "an encoder's __call__ on synthetic token ids at each batch size B"),
    ProbeKind(RESIZED, "tf2", INFERENCE, "__call__ at a second image size when H and W are unknown"),
    ProbeKind(KERAS, "tf2", INFERENCE, "hub.KerasLayer(model) in a Keras model runs one batch"),
    ProbeKind(KERAS_TRAINABLE, "tf2", INFERENCE, "hub.KerasLayer(model, trainable=True): its trainable weights"),
):
    register(_kind)


# The op registry: which op types of each tag set the installed TensorFlow registers.  Asked of
# the worker without loading anything, so it is answered even for a module the safety gate refuses.
REGISTRY = "registry"
register(ProbeKind(REGISTRY, "any", EVERY, "which op types the installed TensorFlow registers (nothing is loaded)"))


def validate_needs(code: str, needs) -> tuple:
    """``needs`` as a tuple of known probe names; a typo fails at import, not at run time."""
    needs = tuple(needs)
    unknown = [n for n in needs if n not in CATALOGUE]
    if unknown:
        raise ValueError(f"{code} needs unknown probe(s) {', '.join(unknown)}; known: {', '.join(CATALOGUE)}")
    return needs


def ordered(needs) -> tuple:
    """``needs`` deduplicated, in catalogue order (the order the worker runs them)."""
    wanted = set(needs)
    return tuple(n for n in CATALOGUE if n in wanted)


def size_probe(batch: int, kind: str = SIZES) -> str:
    """The name of the SIZES (or TEXT_SIZES, TF2_IDS) probe at batch size ``batch``."""
    return f"{kind}-{batch}"


def kind_of(probe_name: str) -> str:
    """The catalogue name a probe in the observations belongs to (``size-5`` -> ``size``)."""
    head, _, tail = probe_name.rpartition("-")
    return head if head in (SIZES, TEXT_SIZES, TF2_IDS) and tail.isdigit() else probe_name


# The marker a runtime reason starts with when a signature was not run for a
# resource bound (could not check), as opposed to a defect another rule reports.
REFUSED = "refused: "


def is_refusal(reason) -> bool:
    """Whether ``reason`` says a signature was not run for a resource bound."""
    return bool(reason) and reason.startswith(REFUSED)
