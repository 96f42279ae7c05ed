"""Compare the interfaces of two modules from their facts alone (pure: no TensorFlow, no files).

Each difference is classified ``breaking`` (a consumer's code stops working or
silently changes meaning) or ``compatible`` (existing consumers are unaffected),
with a one-line reason.  ``CLASSIFICATION`` is the table docs/diff.md documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..errors import SigcheckError
from ..facts.image import expected_image_size, module_image_signatures
from ..facts.model import ModuleFacts, format_shape, format_tags

BREAKING, COMPATIBLE = "breaking", "compatible"

# kind -> (classification, why): the documented table.
CLASSIFICATION = {
    "tag-set-removed": (BREAKING, "consumers loading this tag set fail"),
    "tag-set-added": (COMPATIBLE, "a new tag set; existing consumers do not load it"),
    "signature-removed": (BREAKING, "consumers calling this signature fail"),
    "signature-added": (COMPATIBLE, "a new signature; existing calls are unchanged"),
    "input-removed": (BREAKING, "consumers feeding this input fail"),
    "input-added": (BREAKING, "existing calls do not feed the new input"),
    "output-removed": (BREAKING, "consumers reading this output key fail"),
    "output-added": (COMPATIBLE, "a new output key; existing keys are unchanged"),
    "dtype-changed": (BREAKING, "values fed or read have another type"),
    "encoding-changed": (BREAKING, "dense, sparse and ragged tensors are fed and read differently"),
    "rank-changed": (BREAKING, "every consumer indexing the tensor breaks"),
    "dimension-changed": (BREAKING, "a known dimension has another size"),
    "dimension-fixed": (BREAKING, "a dimension that took any size now takes one (a fixed batch, a fixed size)"),
    "dimension-relaxed": (COMPATIBLE, "a dimension that took one size now takes any"),
    "image-size-changed": (BREAKING, "consumers resize images to the expected size"),
    "image-size-source-changed": (COMPATIBLE, "the expected size is unchanged, only where it comes from"),
    "num-outputs-changed": (BREAKING, "N, the width of `default`, changed: downstream layers break"),
    "attachment-removed": (BREAKING, "consumers reading this attached message get nothing"),
    "attachment-added": (COMPATIBLE, "a new attached message"),
}


class NoCommonInterface(SigcheckError):
    """The two modules share no signature: there is nothing to compare."""

    kind = "no-common-interface"
    exit_code = 6


@dataclass(frozen=True)
class Difference:
    kind: str
    path: str  # logical location, like the report's: tags[]/signatures/default/outputs/default
    old: Optional[str]
    new: Optional[str]
    detail: str  # what changed, in words

    @property
    def classification(self) -> str:
        return CLASSIFICATION[self.kind][0]

    @property
    def reason(self) -> str:
        return f"{self.detail}: {CLASSIFICATION[self.kind][1]}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "classification": self.classification, "path": self.path,
                "old": self.old, "new": self.new, "reason": self.reason}


def compare_interfaces(old: ModuleFacts, new: ModuleFacts) -> tuple:
    """Every interface difference between ``old`` and ``new``, breaking ones first."""
    if not old.meta_graphs or not new.meta_graphs or not (
            set(old.primary.signature_names) & set(new.primary.signature_names)):
        raise NoCommonInterface(
            f"the modules have no signature in common (old: {', '.join(_names(old)) or 'none'}; "
            f"new: {', '.join(_names(new)) or 'none'}): nothing to compare")
    found = []
    for tags in sorted(set(old.tag_sets) | set(new.tag_sets)):
        where = f"tags[{','.join(tags)}]"
        a, b = old.loaded_for(tags), new.loaded_for(tags)
        if b is None:
            found.append(Difference("tag-set-removed", where, format_tags(tags), None, f"tag set {format_tags(tags)} removed"))
        elif a is None:
            found.append(Difference("tag-set-added", where, None, format_tags(tags), f"tag set {format_tags(tags)} added"))
        else:
            found += _meta_differences(a, b, where)
    found += _image_differences(old, new)
    return tuple(sorted(found, key=lambda d: (d.classification != BREAKING,)))


def _names(facts: ModuleFacts) -> tuple:
    return facts.primary.signature_names if facts.meta_graphs else ()


def _meta_differences(a, b, where: str) -> list:
    found = []
    for name in sorted(set(a.signature_names) | set(b.signature_names)):
        path = f"{where}/signatures/{name}"
        sa, sb = a.signature(name), b.signature(name)
        if sb is None:
            found.append(Difference("signature-removed", path, name, None, f"signature '{name}' removed"))
        elif sa is None:
            found.append(Difference("signature-added", path, None, name, f"signature '{name}' added"))
        else:
            found += _tensor_differences(sa.inputs, sb.inputs, f"{path}/inputs", "input")
            found += _tensor_differences(sa.outputs, sb.outputs, f"{path}/outputs", "output")
    keys_a = sorted({x.key for x in a.attachments})
    keys_b = sorted({x.key for x in b.attachments})
    for key in sorted(set(keys_a) ^ set(keys_b)):
        kind = "attachment-removed" if key in keys_a else "attachment-added"
        found.append(Difference(kind, f"{where}/attachments/{key}", key if key in keys_a else None,
                                key if key in keys_b else None, f"attachment '{key}' {kind.split('-')[1]}"))
    return found


def _tensor_differences(old: tuple, new: tuple, path: str, what: str) -> list:
    found = []
    by_key_old, by_key_new = {t.key: t for t in old}, {t.key: t for t in new}
    for key in sorted(set(by_key_old) | set(by_key_new)):
        here = f"{path}/{key}"
        a, b = by_key_old.get(key), by_key_new.get(key)
        if b is None:
            found.append(Difference(f"{what}-removed", here, a.describe(), None, f"{what} '{key}' removed"))
        elif a is None:
            found.append(Difference(f"{what}-added", here, None, b.describe(), f"{what} '{key}' added"))
        else:
            found += _one_tensor(a, b, here, f"{what} '{key}'")
    return found


def _one_tensor(a, b, path: str, label: str) -> list:
    if a.encoding != b.encoding:
        return [Difference("encoding-changed", path, a.encoding, b.encoding,
                           f"{label} is {b.encoding}, was {a.encoding}")]
    found = []
    if a.dtype != b.dtype:
        found.append(Difference("dtype-changed", path, a.dtype, b.dtype, f"{label} is {b.dtype}, was {a.dtype}"))
    old, new = format_shape(a.shape), format_shape(b.shape)
    if a.shape is None or b.shape is None:
        if a.shape is not None:  # known rank -> unknown rank
            found.append(Difference("dimension-relaxed", path, old, new, f"{label} has any shape, was {old}"))
        elif b.shape is not None:
            found.append(Difference("dimension-fixed", path, old, new, f"{label} is {new}, had any shape"))
        return found
    if len(a.shape) != len(b.shape):
        return found + [Difference("rank-changed", path, old, new, f"{label} is {new}, was {old}")]
    for index, (x, y) in enumerate(zip(a.shape, b.shape)):
        if x == y:
            continue
        kind = "dimension-relaxed" if y is None else "dimension-fixed" if x is None else "dimension-changed"
        found.append(Difference(kind, f"{path}/shape/{index}", old, new,
                                f"{label} dimension {index} is {_dim(y)}, was {_dim(x)} ({old} -> {new})"))
    return found


def _dim(value) -> str:
    return "?" if value is None else str(value)


def _image_differences(old: ModuleFacts, new: ModuleFacts) -> list:
    """The conventions' derived facts: the expected image size and N of the image signatures both have."""
    found = []
    shared = [n for n in module_image_signatures(old) if n in module_image_signatures(new)]
    for name in shared:
        sa, sb = old.primary.signature(name), new.primary.signature(name)
        ea, eb = expected_image_size(old.primary, sa), expected_image_size(new.primary, sb)
        path = f"tags[{','.join(new.primary.tags)}]/signatures/{name}"
        size_a = f"{ea.size.height}x{ea.size.width}" if ea.size else None
        size_b = f"{eb.size.height}x{eb.size.width}" if eb.size else None
        if size_a != size_b:
            found.append(Difference("image-size-changed", f"{path}/image_size", size_a, size_b,
                                    f"'{name}' expects {size_b or 'no known size'}, was {size_a or 'no known size'}"))
        elif ea.source != eb.source:
            found.append(Difference("image-size-source-changed", f"{path}/image_size", ea.source, eb.source,
                                    f"'{name}' takes its size from {eb.source}, was {ea.source}"))
        na, nb = _n(sa), _n(sb)
        if na != nb and na is not None and nb is not None:
            found.append(Difference("num-outputs-changed", f"{path}/outputs/default", str(na), str(nb),
                                    f"'{name}' returns N={nb}, was N={na}"))
    return found


def _n(signature):
    default = signature.output("default")
    if default is None or default.shape is None or len(default.shape) != 2:
        return None
    return default.shape[1]
