"""What makes a signature an image signature, and what size it expects.

Derived facts shared by the static rules, the runtime stage and the report, so
that all of them agree on which signatures are judged and at which size the
synthetic images are made.
"""

from __future__ import annotations

from typing import Optional

from ..record import record
from .model import ImageSize, MetaGraphFacts, SignatureFacts, TensorFacts, format_shape

TASK_SIGNATURES = ("image_feature_vector", "image_classification")
DEFAULT = "default"
IMAGES = "images"


def image_signature_names(meta: MetaGraphFacts) -> tuple:
    """The named task signatures, plus ``default`` when it takes ``images``
    or has the same interface as one of them."""
    names = [s.name for s in meta.signatures if s.name in TASK_SIGNATURES]
    default = meta.signature(DEFAULT)
    if default is not None:
        named = [meta.signature(n).interface() for n in names]
        if default.input(IMAGES) is not None or default.interface() in named:
            names.insert(0, DEFAULT)
    return tuple(names)


def module_image_signatures(facts) -> tuple:
    """The image signatures of ``facts``'s inference graph: THE definition of which
    signatures the image rules judge (and, non-empty, of an image module).

    ``facts`` are the facts being judged, after --tags; the report, the engine's
    scope and the checks all ask this, so they cannot disagree.  An image module's
    kind (``facts.kind.module_kind``) is ``image`` exactly when this is non-empty."""
    if not facts.meta_graphs:
        return ()
    forced = getattr(facts, "forced_kind", None)
    if forced == "text":
        return ()  # --kind text: judged as a text module only (facts.kind)
    names = image_signature_names(facts.primary)
    if not names and forced == "image" and facts.primary.signature(DEFAULT) is not None:
        names = (DEFAULT,)  # --kind image: tell the publisher why `default` is no image signature
    return names


def is_image_module(facts) -> bool:
    """Whether the image rules apply to ``facts`` (see module_image_signatures)."""
    return bool(module_image_signatures(facts))


def image_input(signature: SignatureFacts) -> Optional[TensorFacts]:
    """The input judged as the image: ``images``, else the only input."""
    found = signature.input(IMAGES)
    if found is None and len(signature.inputs) == 1:
        found = signature.inputs[0]
    return found


@record
class ExpectedSize:
    """Outcome of hub.get_expected_image_size for one signature."""

    size: Optional[ImageSize]
    source: Optional[str]  # "image_module_info" | "input_shape"
    problem: Optional[str]  # the ValueError the old API raised


def expected_image_size(meta: MetaGraphFacts, signature: SignatureFacts) -> ExpectedSize:
    """Mirror hub.get_expected_image_size(spec, signature): an attached
    ImageModuleInfo with non-zero height and width wins, otherwise the
    ``images`` input must be ``[batch, H, W, C]`` with H and W known."""
    info = meta.image_module_info
    if info is not None and info.image_size is not None and info.image_size.height and info.image_size.width:
        return ExpectedSize(info.image_size, "image_module_info", None)
    images = signature.input(IMAGES)
    if images is None:
        return ExpectedSize(None, None, f"Module is missing input '{IMAGES}' in signature '{signature.name}'.")
    shape = images.shape
    if shape is None or len(shape) != 4 or not shape[1] or not shape[2]:
        return ExpectedSize(
            None,
            None,
            f"Shape of module input is {format_shape(shape)}, expected "
            "[batch_size, height, width, num_channels] with known height and width.",
        )
    return ExpectedSize(ImageSize(shape[1], shape[2]), "input_shape", None)


def image_size_for_inference(meta: MetaGraphFacts, signature: SignatureFacts) -> Optional[ImageSize]:
    """The size synthetic images get: the expected size if it resolves, else
    the image input's own known height and width."""
    expected = expected_image_size(meta, signature).size
    if expected is not None:
        return expected
    tensor = image_input(signature)
    if tensor is not None and tensor.shape is not None and len(tensor.shape) == 4:
        if tensor.shape[1] and tensor.shape[2]:
            return ImageSize(tensor.shape[1], tensor.shape[2])
    return None
