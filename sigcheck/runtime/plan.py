"""What the worker runs, decided in the parent from facts alone (no TensorFlow).

Image signatures that feed the same input tensor at the same size form one
*group*: one forward pass fetches the outputs of all of them, so a classifier's
default, image_classification and image_feature_vector cost one pass, not three.
Each group runs a handful of *probes* (image indices, scale, repetitions) that
together serve every runtime rule:

- ``size-B`` for each configured batch size B (exact batch; RUN501, RUN503);
- ``all``: every synthetic image, reversed, i.e. a different batch (RUN503, RUN505, RUN502);
- ``repeat``: two images run twice in the inference graph (RUN504, OUT405);
- ``range255``: four images at [0, 255] instead of [0, 1] (IMG307);
- ``dropout``: two images run several times in every other tag set (OUT405).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..facts.image import DEFAULT, image_input, image_signature_names, image_size_for_inference
from ..facts.model import ModuleFacts, format_shape
from . import batches

REPEAT_IMAGES = (3, 2)  # smooth noise, uniform noise
RANGE_IMAGES = (2, 3, 4, 6)  # uniform, smooth, gradient, checkerboard: never black
FLOAT_DTYPES = ("float32", "float16", "float64", "bfloat16")
INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64", "uint16")
REFUSED = "refused: "  # starts the reason of a signature not run for lack of resources


def is_refusal(reason) -> bool:
    """Whether ``reason`` says a signature was not run for a resource bound (could not check),
    as opposed to a defect another rule reports (nothing to check)."""
    return bool(reason) and reason.startswith(REFUSED)


@dataclass(frozen=True)
class Probe:
    name: str
    images: tuple  # indices into batches.NAMES
    scale: float = 1.0
    exact: bool = False  # feed exactly this batch even if the input's batch size is fixed
    runs: int = 1


@dataclass(frozen=True)
class Group:
    input_tensor: str
    input_dtype: str
    height: int
    width: int
    fixed_batch: int  # 0 when the batch dimension is unknown
    signatures: tuple  # signature names served by this group
    outputs: tuple  # ((signature, key, tensor name), ...)
    probes: tuple  # of Probe

    def tensor(self, signature: str, key: str):
        return next((t for s, k, t in self.outputs if s == signature and k == key), None)


@dataclass(frozen=True)
class TagSetPlan:
    tags: tuple
    groups: tuple  # of Group
    unrunnable: tuple = ()  # ((signature, reason), ...)

    def group_for(self, signature: str):
        return next((g for g in self.groups if signature in g.signatures), None)

    def reason_unrunnable(self, signature: str):
        return next((r for s, r in self.unrunnable if s == signature), None)


@dataclass(frozen=True)
class Plan:
    module_dir: str
    tag_sets: tuple  # of TagSetPlan; the first is the inference graph
    seed: int = batches.DEFAULT_SEED

    def for_tags(self, tags: tuple):
        return next((t for t in self.tag_sets if t.tags == tuple(tags)), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        raw = json.loads(text)
        tag_sets = []
        for t in raw["tag_sets"]:
            groups = tuple(
                Group(**{**g, "signatures": tuple(g["signatures"]),
                         "outputs": tuple(tuple(o) for o in g["outputs"]),
                         "probes": tuple(Probe(**{**p, "images": tuple(p["images"])}) for p in g["probes"])})
                for g in t["groups"])
            tag_sets.append(TagSetPlan(tuple(t["tags"]), groups, tuple(tuple(u) for u in t["unrunnable"])))
        return cls(raw["module_dir"], tuple(tag_sets), raw["seed"])

    @property
    def image_forwards(self) -> int:
        """Images pushed through the network in total (the cost of the runtime stage)."""
        return sum(len(p.images) * p.runs for t in self.tag_sets for g in t.groups for p in g.probes)


def make_plan(facts: ModuleFacts, directory: str, *, batch_sizes, dropout_runs: int, max_batch_bytes: int) -> Plan:
    """Probes for every tag set, the inference graph first.

    Only meta graphs TensorFlow's loader can load are planned: one shadowed by an
    earlier one with the same tag set (HUB102) would be loaded as that earlier one,
    its probes run on the wrong graph and its observations filed under the same tags."""
    primary = facts.primary
    names = image_signature_names(primary)
    loadable = [m for m in facts.meta_graphs if facts.loaded_for(m.tags) is m]
    ordered = [primary] + [m for m in loadable if m is not primary]
    tag_sets = []
    for meta in ordered:
        present = [n for n in names if meta.signature(n) is not None]
        probes = _probes(batch_sizes, inference=meta is primary, dropout_runs=dropout_runs)
        tag_sets.append(_tag_set_plan(meta, present, probes, max_batch_bytes))
    return Plan(directory, tuple(tag_sets))


def _probes(batch_sizes, *, inference: bool, dropout_runs: int) -> tuple:
    count = len(batches.NAMES)
    probes = [Probe(f"size-{b}", tuple(i % count for i in range(b)), exact=True) for b in batch_sizes]
    if inference:
        probes += [
            Probe("all", tuple(reversed(range(count)))),
            Probe("repeat", REPEAT_IMAGES, runs=2),
            Probe("range255", RANGE_IMAGES, scale=255.0),
        ]
    else:
        probes.append(Probe("dropout", REPEAT_IMAGES, runs=dropout_runs))
    return tuple(probes)


def _tag_set_plan(meta, signature_names, probes, max_batch_bytes) -> TagSetPlan:
    groups: dict = {}
    unrunnable = []
    for name in signature_names:
        signature = meta.signature(name)
        tensor = image_input(signature)
        size = image_size_for_inference(meta, signature)
        reason = _why_unrunnable(signature, tensor, size) or _absent_tensor(meta, signature)
        if reason is None:
            largest = max(len(p.images) for p in probes)
            needed = batches.batch_bytes(largest, size.height, size.width)
            if needed > max_batch_bytes:
                reason = (f"{REFUSED}a batch of {largest} images at {size.height}x{size.width} needs "
                          f"{needed / 2**30:.1f} GiB, above the limit of {max_batch_bytes / 2**30:.1f} GiB")
        if reason:
            unrunnable.append((name, reason))
            continue
        key = (tensor.name, size.height, size.width)
        outputs = tuple((name, t.key, t.name) for t in signature.outputs if t.name and t.encoding == "dense")
        if key in groups:
            group = groups[key]
            groups[key] = Group(**{**asdict(group), "signatures": group.signatures + (name,),
                                   "outputs": group.outputs + outputs, "probes": group.probes})
        else:
            groups[key] = Group(tensor.name, tensor.dtype, size.height, size.width, tensor.shape[0] or 0,
                                (name,), outputs, probes)
    return TagSetPlan(meta.tags, tuple(groups.values()), tuple(unrunnable))


def _absent_tensor(meta, signature):
    """Why a signature naming a node its graph lacks cannot be fetched (HUB106 reports it)."""
    for tensor in signature.inputs + signature.outputs:
        for name in tensor.components:
            if name.split(":", 1)[0] not in meta.graph.by_name:
                return f"'{tensor.key}' is {name}, which is not in the graph (see HUB106)"
    return None


def _why_unrunnable(signature, tensor, size):
    if tensor is None:
        return "no image input identified (see IMG301)"
    if tensor.encoding != "dense" or not tensor.name:
        return f"'{tensor.key}' is a {tensor.encoding} tensor (see IMG302)"
    if tensor.dtype not in FLOAT_DTYPES + INT_DTYPES:
        return f"'{tensor.key}' is {tensor.dtype}: no synthetic image can be fed (see IMG302)"
    shape = tensor.shape
    if shape is None or len(shape) != 4 or shape[3] not in (3, None):
        return f"'{tensor.key}' is {format_shape(shape)}, not [batch, height, width, 3] (see IMG303)"
    if size is None:
        return f"'{tensor.key}' is {format_shape(shape)} and no image size resolves (see IMG305/IMG306)"
    if signature.output(DEFAULT) is None:
        return "no 'default' output to observe (see OUT401)"
    return None
