"""What the worker runs, decided in the parent from facts alone (no TensorFlow).

Image signatures that feed the same input tensor at the same size form one
*group*: one forward pass fetches the outputs of all of them, so a classifier's
default, image_classification and image_feature_vector cost one pass, not three.
Each group runs the *probes* the selected rules need (``needs``: names from the
catalogue in ``sigcheck.probes``); ``IMAGE_PROBES`` says how each image probe is
built (image indices, scale, repetitions).  A new image probe adds a row there
and a ``ProbeKind`` in the catalogue; another input kind (text, TF2) gets its
own table and planner beside this one.  No rule is named here: which rule reads
which probe is declared on its check.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Optional

from ..analysis.feedable import why_unfeedable
from ..facts.image import image_input, image_signature_names, image_size_for_inference
from ..facts.kind import module_kind
from ..facts.model import ModuleFacts
from ..facts.tf2 import TF2_SAVED_MODEL, module_format
from ..probes import (ALL, CATALOGUE, DROPOUT, EVERY, INFERENCE, OTHERS, OUTPUTS, RANGE255, REFUSED, REGISTRY, REPEAT,
                      SIZES, ordered, size_probe)
from ..record import replace
from . import batches

REPEAT_IMAGES = (3, 2)  # smooth noise, uniform noise
RANGE_IMAGES = (2, 3, 4, 6)  # uniform, smooth, gradient, checkerboard: never black


@dataclass(frozen=True)
class Probe:
    name: str
    images: tuple  # indices into batches.NAMES
    scale: float = 1.0
    exact: bool = False  # feed exactly this batch even if the input's batch size is fixed
    runs: int = 1
    keep_all: bool = False  # keep the values of every numeric output, in its own dtype (not only `default`)
    # TF2 (runtime/tf2plan.py): the ``training`` argument to pass (None: pass none), a (height, width)
    # other than the group's, and the other Python arguments the traces were made with: (("", value), ...)
    # positional after the input and training, ((name, value), ...) keywords
    training: Optional[bool] = None
    size: tuple = ()
    arguments: tuple = ()


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
    input_kind: str = "image"  # "image": Probe.images index batches.NAMES; "text": strings.NAMES
    # "tokens" (a TF2 encoder's dict of token ids): ((key, dtype, sequence length or 0), ...) to feed
    feed: tuple = ()

    def tensor(self, signature: str, key: str):
        return next((t for s, k, t in self.outputs if s == signature and k == key), None)


@dataclass(frozen=True)
class TagSetPlan:
    tags: tuple
    groups: tuple  # of Group
    unrunnable: tuple = ()  # ((signature, reason), ...)
    op_types: tuple = ()  # op types the graph uses, asked of the registry (REGISTRY); () when not asked

    def group_for(self, signature: str):
        return next((g for g in self.groups if signature in g.signatures), None)

    def reason_unrunnable(self, signature: str):
        return next((r for s, r in self.unrunnable if s == signature), None)


@dataclass(frozen=True)
class Plan:
    module_dir: str
    tag_sets: tuple  # of TagSetPlan; the first is the inference graph
    seed: int = batches.DEFAULT_SEED
    load: bool = True  # False: only ask the op registry, load nothing (a module the safety gate refuses)
    loader: str = "tf1"  # "tf1": each tag set with the TF1 SavedModel loader; "tf2": tf.saved_model.load

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
                Group(**{**g, "signatures": tuple(g["signatures"]), "feed": tuple(tuple(f) for f in g.get("feed", ())),
                         "outputs": tuple(tuple(o) for o in g["outputs"]),
                         "probes": tuple(_probe_from_json(p) for p in g["probes"])})
                for g in t["groups"])
            tag_sets.append(TagSetPlan(tuple(t["tags"]), groups, tuple(tuple(u) for u in t["unrunnable"]),
                                       tuple(t.get("op_types", ()))))
        return cls(raw["module_dir"], tuple(tag_sets), raw["seed"], raw.get("load", True), raw.get("loader", "tf1"))

    @property
    def image_forwards(self) -> int:
        """Images pushed through the network in total (the cost of the runtime stage)."""
        return sum(len(p.images) * p.runs for t in self.tag_sets for g in t.groups for p in g.probes)


def _probe_from_json(raw: dict) -> Probe:
    return Probe(**{**raw, "images": tuple(raw["images"]), "size": tuple(raw.get("size", ())),
                    "arguments": tuple(tuple(a) for a in raw.get("arguments", ()))})


def make_plan(facts: ModuleFacts, directory: str, *, batch_sizes, dropout_runs: int, max_batch_bytes: int,
              needs=tuple(CATALOGUE)) -> Plan:
    """The ``needs`` probes for every tag set, the inference graph first.

    Only meta graphs TensorFlow's loader can load are planned: one shadowed by an
    earlier one with the same tag set would be loaded as that earlier one,
    its probes run on the wrong graph and its observations filed under the same tags."""
    plan = _make_plan(facts, directory, batch_sizes=batch_sizes, dropout_runs=dropout_runs,
                      max_batch_bytes=max_batch_bytes, needs=needs)
    return with_op_types(plan, facts) if REGISTRY in needs else plan


def with_op_types(plan: Plan, facts: ModuleFacts) -> Plan:
    """``plan`` with each tag set's op types filled in, for the worker to look up in the registry."""
    by_tags = {m.tags: m for m in facts.meta_graphs if facts.loaded_for(m.tags) is m}
    return replace(plan, tag_sets=tuple(replace(t, op_types=op_types(by_tags[t.tags])) if t.tags in by_tags else t
                                        for t in plan.tag_sets))


def registry_plan(facts: ModuleFacts, directory: str) -> Plan:
    """Only the registry question, for every loadable tag set: nothing is loaded or run."""
    metas = [m for m in facts.meta_graphs if facts.loaded_for(m.tags) is m]
    return Plan(directory, tuple(TagSetPlan(m.tags, (), (), op_types(m)) for m in metas), load=False)


def op_types(meta) -> tuple:
    """Every op type a node of the graph or of a library function names, library functions excepted."""
    graph = meta.graph
    found = {n.op for n in graph.nodes} | {n.op for f in graph.functions for n in f.nodes}
    return tuple(sorted(found - set(graph.library)))


def _make_plan(facts: ModuleFacts, directory: str, *, batch_sizes, dropout_runs: int, max_batch_bytes: int,
               needs) -> Plan:
    if module_format(facts) == TF2_SAVED_MODEL:
        from .tf2plan import tf2_plan

        return tf2_plan(facts, directory, needs=needs, batch_sizes=batch_sizes, dropout_runs=dropout_runs,
                        max_batch_bytes=max_batch_bytes)
    primary = facts.primary
    names = image_signature_names(primary)
    loadable = [m for m in facts.meta_graphs if facts.loaded_for(m.tags) is m]
    ordered_metas = [primary] + [m for m in loadable if m is not primary]
    settings = {"batch_sizes": tuple(batch_sizes), "dropout_runs": dropout_runs}
    if module_kind(facts) == "text":
        from .textplan import text_tag_set_plan

        return Plan(directory, tuple(
            text_tag_set_plan(meta, text_probes(needs, inference=meta is primary, **settings))
            for meta in ordered_metas))
    tag_sets = []
    for meta in ordered_metas:
        present = [n for n in names if meta.signature(n) is not None]
        probes = image_probes(needs, inference=meta is primary, **settings)
        tag_sets.append(_tag_set_plan(meta, present, probes, max_batch_bytes))
    return Plan(directory, tuple(tag_sets))


def _sizes(batch_sizes, dropout_runs):
    count = len(batches.NAMES)
    return [Probe(size_probe(b), tuple(i % count for i in range(b)), exact=True) for b in batch_sizes]


# name -> (batch_sizes, dropout_runs) -> [Probe]: how each image probe of the catalogue is built.
IMAGE_PROBES = {
    SIZES: _sizes,
    ALL: lambda batch_sizes, dropout_runs: [Probe(ALL, tuple(reversed(range(len(batches.NAMES)))))],
    REPEAT: lambda batch_sizes, dropout_runs: [Probe(REPEAT, REPEAT_IMAGES, runs=2)],
    RANGE255: lambda batch_sizes, dropout_runs: [Probe(RANGE255, RANGE_IMAGES, scale=255.0)],
    DROPOUT: lambda batch_sizes, dropout_runs: [Probe(DROPOUT, REPEAT_IMAGES, runs=dropout_runs)],
    OUTPUTS: lambda batch_sizes, dropout_runs: [Probe(OUTPUTS, tuple(range(len(batches.NAMES))), keep_all=True)],
}


def image_probes(needs, *, inference: bool, batch_sizes, dropout_runs: int) -> tuple:
    """The image probes of ``needs`` for the inference graph (``inference``) or another tag set."""
    return _probes_of("image", IMAGE_PROBES, needs, inference, batch_sizes, dropout_runs)


def text_probes(needs, *, inference: bool, batch_sizes, dropout_runs: int) -> tuple:
    """The text probes of ``needs`` for the inference graph (``inference``) or another tag set."""
    from .textplan import TEXT_PROBES

    return _probes_of("text", TEXT_PROBES, needs, inference, batch_sizes, dropout_runs)


def _probes_of(input_kind: str, table, needs, inference: bool, batch_sizes, dropout_runs: int) -> tuple:
    here = (EVERY, INFERENCE) if inference else (EVERY, OTHERS)
    probes = []
    for name in ordered(needs):
        kind = CATALOGUE[name]
        if kind.input_kind == input_kind and kind.tag_sets in here:
            probes += table[name](batch_sizes, dropout_runs)
    return tuple(probes)


def _tag_set_plan(meta, signature_names, probes, max_batch_bytes) -> TagSetPlan:
    groups: dict = {}
    unrunnable = []
    for name in signature_names:
        signature = meta.signature(name)
        tensor = image_input(signature)
        size = image_size_for_inference(meta, signature)
        reason = why_unfeedable(meta, signature, tensor, size)
        if reason is None and probes:
            largest = max(len(p.images) for p in probes)
            needed = batches.batch_bytes(largest, size.height, size.width)
            if needed > max_batch_bytes:
                reason = (f"{REFUSED}a batch of {largest} images at {size.height}x{size.width} needs "
                          f"{needed / 2**30:.1f} GiB, above the limit of {max_batch_bytes / 2**30:.1f} GiB")
        if reason:
            unrunnable.append((name, reason))
            continue
        if not probes:
            continue  # the selected rules only need the tag set loaded
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
