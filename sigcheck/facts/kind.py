"""What kind of module this is -- ``image``, ``text`` or ``other`` -- decided from its signatures.

THE one definition, asked by the engine's scopes, the checks, the runtime plan
and the report, so they cannot disagree:

- ``image``: the inference graph has an image signature (``facts.image``:
  ``image_feature_vector`` / ``image_classification``, or a ``default`` taking
  ``images`` or sharing their interface);
- ``text``: otherwise, when its ``default`` signature has exactly one input whose
  dtype is a string or an integer type (token ids) of rank 1 or 2, and a
  ``default`` output of a floating dtype with rank 2.  A violation of the text
  conventions (an unknown N, integer or 2-D input) is a text module that fails
  a TXT rule, not another kind;
- ``other``: everything else (e.g. a string input with a rank-1 output).

``--kind image|text`` (``kind =`` in config) overrides the detection; the facts
then carry ``forced_kind`` and every question above is answered for that kind.

A TF2 SavedModel's kind is decided from its ``__call__`` traces
(``facts.tf2.tf2_kind``: one rank-4 input with 3 channels is ``image``; one
string vector, or a dict of integer tensors, is ``text``); other formats may plug
their own detection in with ``register_format``.
"""

from __future__ import annotations

from typing import Callable, Optional

from .image import DEFAULT, image_signature_names
from .tf2 import TF2_SAVED_MODEL, module_format, tf2_kind

KINDS = ("image", "text", "other")
FORCEABLE = ("image", "text")
STRING_DTYPES = ("string",)
TOKEN_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")

_BY_FORMAT: dict = {}


def register_format(name: str, detect: Callable) -> None:
    """``detect(facts, meta) -> kind`` for modules whose ``facts.format`` is ``name``."""
    _BY_FORMAT[name] = detect


def module_kind(facts, tags: Optional[tuple] = None) -> str:
    """``image``, ``text`` or ``other`` for the meta graph of ``tags`` (default: the inference graph)."""
    forced = getattr(facts, "forced_kind", None)
    if forced:
        return forced
    if not facts.meta_graphs:
        return "other"
    saved_as = module_format(facts)
    if saved_as == TF2_SAVED_MODEL:
        return tf2_kind(facts)  # decided from __call__'s traces (facts.tf2)
    meta = facts.primary if tags is None else (facts.loaded_for(tags) or facts.primary)
    detect = _BY_FORMAT.get(saved_as, _tf1_kind)
    return detect(facts, meta)


def _tf1_kind(facts, meta) -> str:
    if image_signature_names(meta):
        return "image"
    return "text" if is_text_signature(meta.signature(DEFAULT)) else "other"


def is_text_signature(signature) -> bool:
    """The ``text`` predicate on one signature (see the module docstring)."""
    if signature is None or len(signature.inputs) != 1:
        return False
    tensor, output = signature.inputs[0], signature.output(DEFAULT)
    takes_text = (tensor.dtype in STRING_DTYPES + TOKEN_DTYPES and tensor.shape is not None
                  and len(tensor.shape) in (1, 2))
    gives_embedding = (output is not None and output.dtype in FLOAT_DTYPES and output.shape is not None
                       and len(output.shape) == 2)
    return takes_text and gives_embedding


def text_signature_names(facts) -> tuple:
    """The signatures the text rules judge: ``default`` of a text module (forced or detected)."""
    if not facts.meta_graphs or module_kind(facts) != "text":
        return ()
    return (DEFAULT,) if facts.primary.signature(DEFAULT) is not None else ()


def describe_kind(kind: str) -> str:
    return {"image": "an image module", "text": "a text module"}.get(kind, "neither an image nor a text module")
