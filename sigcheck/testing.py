"""Builders of facts and a harness to test one rule in-process, in milliseconds.

Checks read plain frozen facts, so a rule can be judged without TensorFlow or a
module on disk.  The builders' defaults describe a conformant TF1 image module
(a TinyNet feature vector, as ``fixtures`` builds ``fv-conformant``: tag sets
``{}`` and ``{train}``, signatures ``default`` and ``image_feature_vector``
taking ``images`` float32 [?, 32, 32, 3] and giving ``default`` float32
[?, 16], an ImageModuleInfo of 32x32, one variable restored from its
checkpoint), so a test states only what differs::

    from sigcheck.testing import assert_results, image_signatures, images, module

    def test_a_uint8_input_fails_img302():
        assert_results("IMG302", module(), passes=True)
        facts = module(signatures=image_signatures(inputs=(images(dtype="uint8"),)))
        assert_results("IMG302", facts, fail="uint8")

``assert_results`` runs the check through ``engine.evaluate`` with the rule's
real metadata (severity, options, scope), so what it sees is what a user sees.
Real modules built by ``fixtures/`` stay the ground truth; these tests are
the fast layer beside them.  Runtime rules pass ``observations=``.
"""

from __future__ import annotations

from typing import Mapping, Optional

from .facts.checkpoint import CheckpointEntry
from .facts.model import (AttachmentFacts, CollectionFacts, FunctionFacts, GraphFacts, ImageSize, MetaGraphFacts,
                          ModuleDefFacts, ModuleFacts, NodeFacts, SignatureFacts, TensorFacts, VariableDefFacts)
from .facts.variables import VariableFacts
from .record import replace

__all__ = [
    "assert_passes", "assert_results", "attachment", "checkpoint_entry", "collection", "default_output",
    "evaluate_rule", "function", "graph", "image_module_info", "image_signatures", "images", "meta_graph",
    "module", "module_def", "node", "signature", "tensor", "variable", "variable_def",
]

IMAGE_SHAPE = (None, 32, 32, 3)
FEATURES_SHAPE = (None, 16)
WEIGHTS = "TinyNet/conv1/weights"
WEIGHTS_SHAPE = (3, 3, 3, 16)
FEATURES = "TinyNet/pool"  # the op `default` fetches
IMAGE_SIGNATURES = ("default", "image_feature_vector")
ATTACHMENTS = "hub_module_attachments"


# --- tensors and signatures ---------------------------------------------------

def tensor(key: str, dtype: str = "float32", shape=FEATURES_SHAPE, *, name: Optional[str] = None,
           encoding: str = "dense", components: Optional[tuple] = None) -> TensorFacts:
    """A TensorInfo; ``name`` defaults to ``KEY:0`` and ``components`` to the dense name."""
    if name is None and encoding == "dense":
        name = f"{key}:0"
    if components is None:
        components = (name,) if name else ()
    return TensorFacts(key=key, name=name, dtype=dtype, shape=None if shape is None else tuple(shape),
                       encoding=encoding, components=tuple(components))


def images(dtype: str = "float32", shape=IMAGE_SHAPE, **kw) -> TensorFacts:
    """The ``images`` input, fed to the ``images`` Placeholder."""
    return tensor(kw.pop("key", "images"), dtype, shape, **kw)


def default_output(dtype: str = "float32", shape=FEATURES_SHAPE, **kw) -> TensorFacts:
    """The ``default`` output: the pooled features of TinyNet."""
    kw.setdefault("name", f"{FEATURES}:0")
    return tensor(kw.pop("key", "default"), dtype, shape, **kw)


def signature(name: str = "default", inputs: Optional[tuple] = None, outputs: Optional[tuple] = None,
              method_name: str = "") -> SignatureFacts:
    """A signature (inputs and outputs sorted by key, as the reader gives them)."""
    inputs = (images(),) if inputs is None else tuple(inputs)
    outputs = (default_output(),) if outputs is None else tuple(outputs)
    return SignatureFacts(name=name, method_name=method_name, inputs=tuple(sorted(inputs, key=lambda t: t.key)),
                          outputs=tuple(sorted(outputs, key=lambda t: t.key)))


def image_signatures(names=IMAGE_SIGNATURES, inputs: Optional[tuple] = None,
                     outputs: Optional[tuple] = None) -> tuple:
    """The same interface under each of ``names`` (``default`` and ``image_feature_vector``)."""
    return tuple(signature(n, inputs, outputs) for n in sorted(names))


# --- graphs -----------------------------------------------------------------

def node(name: str, op: str = "Identity", *inputs: str, **kw) -> NodeFacts:
    """A graph node; ``inputs`` are raw input strings (``x``, ``x:1``, ``^ctrl``)."""
    return NodeFacts(name=name, op=op, inputs=tuple(inputs), **kw)


def tinynet_nodes() -> tuple:
    """images -> Conv2D (a resource variable) -> Relu -> Mean: what the signatures fetch."""
    return (
        node("images", "Placeholder"),
        node(f"{WEIGHTS}/Initializer/Const", "Const", values=(0.0,)),
        node(WEIGHTS, "VarHandleOp"),
        node(f"{WEIGHTS}/Assign", "AssignVariableOp", WEIGHTS, f"{WEIGHTS}/Initializer/Const"),
        node(f"{WEIGHTS}/Read/ReadVariableOp", "ReadVariableOp", WEIGHTS),
        node("TinyNet/conv1/Conv2D/ReadVariableOp", "ReadVariableOp", WEIGHTS),
        node("TinyNet/conv1/Conv2D", "Conv2D", "images", "TinyNet/conv1/Conv2D/ReadVariableOp"),
        node("TinyNet/conv1/Relu", "Relu", "TinyNet/conv1/Conv2D"),
        node(f"{FEATURES}/reduction_indices", "Const", values=(1, 2)),
        node(FEATURES, "Mean", "TinyNet/conv1/Relu", f"{FEATURES}/reduction_indices"),
    )


def graph(nodes: Optional[tuple] = None, functions: tuple = (), *, extra: tuple = ()) -> GraphFacts:
    """TinyNet's graph (or ``nodes``), plus ``extra`` nodes appended."""
    base = tinynet_nodes() if nodes is None else tuple(nodes)
    return GraphFacts(nodes=base + tuple(extra), functions=tuple(functions))


def function(name: str, nodes: tuple, inputs: tuple = ()) -> FunctionFacts:
    return FunctionFacts(name=name, nodes=tuple(nodes), inputs=tuple(inputs))


# --- collections, attachments, variables ---------------------------------------

def collection(key: str, kind: str = "bytes_list", values: tuple = (), size: Optional[int] = None) -> CollectionFacts:
    return CollectionFacts(key=key, kind=kind, values=tuple(values), size=len(values) if size is None else size)


def attachment(key: str, size: int = 6, image_size: Optional[ImageSize] = None,
               problem: Optional[str] = None) -> AttachmentFacts:
    return AttachmentFacts(key=key, size=size, image_size=image_size, problem=problem)


def image_module_info(height: int = 32, width: int = 32, **kw) -> AttachmentFacts:
    """The ImageModuleInfo attachment hub.get_expected_image_size reads."""
    return attachment("image_module_info", image_size=ImageSize(height, width), **kw)


def variable(name: str = WEIGHTS, dtype: str = "float32", shape=WEIGHTS_SHAPE, *, in_collection: bool = True,
             checkpoint_key: Optional[str] = None, checkpoint_shape=None) -> VariableFacts:
    """A variable op of the graph, as hub.Module pairs it with the checkpoint."""
    return VariableFacts(name=name, dtype=dtype, shape=None if shape is None else tuple(shape),
                         in_collection=in_collection, checkpoint_key=checkpoint_key or name,
                         checkpoint_shape=checkpoint_shape)


def variable_def(name: str = WEIGHTS, collection_key: str = "variables", **names) -> VariableDefFacts:
    """A VariableDef naming ``NAME:0`` and its read snapshot (or the given tensor names)."""
    names.setdefault("snapshot_name", f"{name}/Read/ReadVariableOp:0")
    names.setdefault("initializer_name", f"{name}/Assign")
    return VariableDefFacts(collection=collection_key, variable_name=f"{name}:0", **names)


def checkpoint_entry(name: str = WEIGHTS, dtype: str = "float32", shape=WEIGHTS_SHAPE,
                     sliced: bool = False) -> CheckpointEntry:
    """One tensor of ``variables/variables.index``."""
    return CheckpointEntry(name=name, dtype=dtype, shape=None if shape is None else tuple(shape), sliced=sliced)


# --- meta graphs and modules --------------------------------------------------

def meta_graph(tags: tuple = (), *, signatures: Optional[tuple] = None, graph: Optional[GraphFacts] = None,
               collections: Optional[tuple] = None, attachments: Optional[tuple] = None,
               variables: Optional[tuple] = None, variable_defs: Optional[tuple] = None, **kw) -> MetaGraphFacts:
    """One tag set of TinyNet; keywords override (``restore_op``, ``has_saver_def``, ...)."""
    attachments = (image_module_info(),) if attachments is None else tuple(attachments)
    if collections is None:
        collections = (collection("trainable_variables", size=1), collection("variables", size=1))
        if attachments:
            collections = (collection(ATTACHMENTS, size=len(attachments)),) + collections
    return MetaGraphFacts(
        tags=tuple(sorted(set(tags))),
        signatures=tuple(sorted(image_signatures() if signatures is None else signatures, key=lambda s: s.name)),
        collections=tuple(collections),
        attachments=attachments,
        graph=globals()["graph"]() if graph is None else graph,
        variables=(variable(),) if variables is None else tuple(variables),
        variable_defs=(variable_def(),) if variable_defs is None else tuple(variable_defs),
        **kw,
    )


def module_def(format: Optional[int] = 3, *, present: bool = True, problem: Optional[str] = None,
               required_features: tuple = ()) -> ModuleDefFacts:
    """tfhub_module.pb: FORMAT_V3 by default; ``present=False`` for a plain SavedModel."""
    if not present:
        return ModuleDefFacts(present=False)
    return ModuleDefFacts(present=True, problem=problem, format=None if problem else format,
                          required_features=tuple(required_features))


def module(meta_graphs: Optional[tuple] = None, *, tag_sets: tuple = ((), ("train",)),
           module_def: Optional[ModuleDefFacts] = None, checkpoint: Optional[tuple] = None,
           has_variables: bool = True, checkpoint_problem: Optional[str] = None, path: str = "module",
           **meta) -> ModuleFacts:
    """A module of ``meta_graphs``, or of one TinyNet meta graph per tag set with the
    ``meta`` keywords of ``meta_graph`` applied to every one of them."""
    if meta_graphs is None:
        meta_graphs = tuple(meta_graph(tags, **meta) for tags in tag_sets)
    elif meta:
        raise TypeError(f"meta graph keywords {sorted(meta)} apply to built meta graphs only")
    return ModuleFacts(
        path=path,
        module_def=globals()["module_def"]() if module_def is None else module_def,
        meta_graphs=tuple(meta_graphs),
        has_variables=has_variables,
        checkpoint=(checkpoint_entry(),) if checkpoint is None else tuple(checkpoint),
        checkpoint_problem=checkpoint_problem,
    )


def with_meta_graph(facts: ModuleFacts, index: int, **changes) -> ModuleFacts:
    """``facts`` with the ``index``-th meta graph's fields replaced (e.g. only {train} differs)."""
    metas = list(facts.meta_graphs)
    metas[index] = replace(metas[index], **changes)
    return replace(facts, meta_graphs=tuple(metas))


__all__.append("with_meta_graph")


# --- the harness ---------------------------------------------------------------

def evaluate_rule(code: str, facts: ModuleFacts, *, observations=None, options: Optional[Mapping] = None,
                  severity: Optional[str] = None, runtime_skip_reason: Optional[str] = None,
                  runtime_error: Optional[str] = None) -> tuple:
    """The Results of rule ``code`` on ``facts``, stamped by the engine as in a real run.

    ``options`` override the rule's options from rules/*.toml (as a config would);
    ``severity`` overrides its severity."""
    from .engine import evaluate
    from .rules import rule_by_code

    rule = rule_by_code(code)
    return evaluate(facts, (rule,), observations=observations, runtime_skip_reason=runtime_skip_reason,
                    runtime_error=runtime_error, severities={rule.code: severity} if severity else None,
                    options={rule.code: dict(options)} if options else None)


def assert_results(code: str, facts: ModuleFacts, *, passes=None, fail=None, warn=None, skip=None, error=None,
                   **evaluate_kw) -> tuple:
    """Evaluate rule ``code`` and assert which statuses its results have; return the results.

    Each of ``passes``/``fail``/``warn``/``skip``/``error`` is None (no result may
    have that status), True (at least one must), a string or a tuple of strings
    (at least one must, and each string must appear in the message or evidence
    of one of them).  So ``assert_results("IMG302", facts, fail="uint8")`` means:
    only fail results, and one of them names uint8."""
    results = evaluate_rule(code, facts, **evaluate_kw)
    shown = "\n".join(f"  {r.status}: {r.message} [{r.evidence}]" for r in results)
    given = {"pass": passes, "fail": fail, "warn": warn, "skip": skip, "error": error}
    wanted = {status: expected for status, expected in given.items() if expected not in (None, False)}
    assert wanted, "say which statuses are expected (passes=, fail=, warn=, skip=, error=)"
    got = {r.status for r in results}
    assert got == set(wanted), f"{code}: expected {sorted(wanted)} results, got:\n{shown}"
    for status, expected in wanted.items():
        texts = (expected,) if isinstance(expected, str) else () if expected is True else tuple(expected)
        said = [f"{r.message} {r.evidence or ''}" for r in results if r.status == status]
        for text in texts:
            assert any(text in s for s in said), f"{code}: no {status} result mentions {text!r}:\n{shown}"
    return results


def assert_passes(code: str, facts: Optional[ModuleFacts] = None, **evaluate_kw) -> tuple:
    """Every result of rule ``code`` on ``facts`` (the conformant module by default) passes."""
    return assert_results(code, module() if facts is None else facts, passes=True, **evaluate_kw)


# --- TF2 SavedModels: object graphs ---------------------------------------------

TF2_IMAGE = (None, None, None, 3)
_CALL_TRACES = ("__inference___call___1", "__inference___call___2")
_LOSS_TRACE = "__inference_loss_3"


def tensor_spec(name: str = "images", dtype: str = "float32", shape=TF2_IMAGE):
    from .facts.objects import TensorSpec

    return TensorSpec(name, dtype, None if shape is None else tuple(shape))


def trace(name: str, *args, outputs=None, bound=(), readable: bool = True, **kwargs):
    """A concrete function taking ``args`` (specs, Python values) and ``kwargs``."""
    from .facts.objects import ConcreteFunction, StructDict

    outputs = tensor_spec("output_0", shape=(None, 8)) if outputs is None else outputs
    return ConcreteFunction(name, tuple(args), StructDict(tuple(sorted(kwargs.items()))), outputs, tuple(bound),
                            readable)


def reusable_graph(*, call_traces=None, variables=(5, 6), trainable=(5,), losses=None, extra_nodes=(),
                   extra_children=(), extra_traces=(), call: bool = True):
    """The object graph of fixtures' ``tf2-fv-conformant``: a root with ``__call__`` traced for
    training=True and False on float32 [?, ?, ?, 3] -> [?, 8], ``variables`` [weights, moving_mean],
    ``trainable_variables`` [weights] and one regularization loss ``() -> float32 []``.

    Node ids: 0 root, 1 variables, 2 trainable_variables, 3 regularization_losses, 4 __call__,
    5 weights (trainable), 6 moving_mean, 7 the loss function; ``extra_nodes`` follow from 8.
    ``None`` for ``variables`` or ``trainable`` leaves that list out."""
    from .facts.objects import ObjectGraph, SavedObject, Variable

    if call_traces is None:
        call_traces = tuple(trace(n, tensor_spec(), value, bound=(5, 6)) for n, value in zip(_CALL_TRACES, (True, False)))
    if losses is None:
        losses = (trace(_LOSS_TRACE, outputs=tensor_spec("output_0", shape=()), bound=(5,)),)
    children = [(name, node) for name, node, present in (
        ("variables", 1, variables is not None), ("trainable_variables", 2, trainable is not None),
        ("regularization_losses", 3, True), ("__call__", 4, call)) if present]
    nodes = (
        SavedObject(0, "user_object", tuple(children) + tuple(extra_children), identifier="_generic_user_object"),
        SavedObject(1, "user_object", tuple((str(i), n) for i, n in enumerate(variables or ())),
                    identifier="trackable_list_wrapper"),
        SavedObject(2, "user_object", tuple((str(i), n) for i, n in enumerate(trainable or ())),
                    identifier="trackable_list_wrapper"),
        SavedObject(3, "user_object", (("0", 7),) if losses else (), identifier="trackable_list_wrapper"),
        SavedObject(4, "function", concrete_functions=tuple(t.name for t in call_traces)),
        SavedObject(5, "variable", variable=Variable("weights", "float32", (3, 8), True)),
        SavedObject(6, "variable", variable=Variable("moving_mean", "float32", (8,), False)),
        SavedObject(7, "function", concrete_functions=tuple(t.name for t in losses)),
    ) + tuple(extra_nodes)
    functions = tuple(call_traces) + tuple(losses) + tuple(extra_traces)
    return ObjectGraph(nodes=nodes, concrete_functions=tuple(sorted(functions, key=lambda f: f.name)))


def tf2_module(object_graph=None, *, library: tuple = (), **graph_kw) -> ModuleFacts:
    """A TF2 SavedModel: no tfhub_module.pb, one meta graph {serve} recording ``object_graph``
    (``reusable_graph(**graph_kw)`` by default) and the library functions ``library``."""
    graph_facts = reusable_graph(**graph_kw) if object_graph is None else object_graph
    meta = MetaGraphFacts(tags=("serve",), signatures=(), collections=(), attachments=(),
                          graph=GraphFacts(nodes=(), functions=tuple(library)), object_graph=graph_facts)
    return ModuleFacts(path="module", module_def=ModuleDefFacts(present=False), meta_graphs=(meta,),
                       has_variables=True, checkpoint=())


__all__ += ["reusable_graph", "tensor_spec", "tf2_module", "trace"]
