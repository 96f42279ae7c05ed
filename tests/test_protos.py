"""sigcheck's hand-declared protobuf schema agrees with TensorFlow's own descriptors.

``sigcheck/facts/protos.py`` declares the fields it reads instead of importing
TensorFlow's generated code; this compares every declared field (number,
label, type, oneof) with the descriptors TensorFlow (and tensorflow_hub, when
it still ships its ``*_pb2`` modules) registers, so the schema cannot drift.
TensorFlow is imported in one child process: the test process stays TF-free.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sigcheck.facts import protos

pytest.importorskip("tensorflow", reason="the reference descriptors come from TensorFlow")

# sigcheck's message name -> TensorFlow's full name (nested messages included).
TF_NAMES = {
    "SavedModel": "tensorflow.SavedModel",
    "MetaGraphDef": "tensorflow.MetaGraphDef",
    "MetaInfoDef": "tensorflow.MetaGraphDef.MetaInfoDef",
    "SaverDef": "tensorflow.SaverDef",
    "VariableDef": "tensorflow.VariableDef",
    "SaveSliceInfoDef": "tensorflow.SaveSliceInfoDef",
    "AssetFileDef": "tensorflow.AssetFileDef",
    "GraphDef": "tensorflow.GraphDef",
    "NodeDef": "tensorflow.NodeDef",
    "AttrValue": "tensorflow.AttrValue",
    "ListValue": "tensorflow.AttrValue.ListValue",
    "NameAttrList": "tensorflow.NameAttrList",
    "TensorProto": "tensorflow.TensorProto",
    "FunctionDefLibrary": "tensorflow.FunctionDefLibrary",
    "FunctionDef": "tensorflow.FunctionDef",
    "OpDef": "tensorflow.OpDef",
    "ArgDef": "tensorflow.OpDef.ArgDef",
    "SignatureDef": "tensorflow.SignatureDef",
    "TensorInfo": "tensorflow.TensorInfo",
    "CooSparse": "tensorflow.TensorInfo.CooSparse",
    "CompositeTensor": "tensorflow.TensorInfo.CompositeTensor",
    "TypeSpecProto": "tensorflow.TypeSpecProto",
    "StructuredValue": "tensorflow.StructuredValue",
    "NoneValue": "tensorflow.NoneValue",
    "ValueList": "tensorflow.ListValue",
    "TupleValue": "tensorflow.TupleValue",
    "BundleEntryProto": "tensorflow.BundleEntryProto",
    "TensorSliceProto": "tensorflow.TensorSliceProto",
    "TensorShapeProto": "tensorflow.TensorShapeProto",
    "Dim": "tensorflow.TensorShapeProto.Dim",
    "CollectionDef": "tensorflow.CollectionDef",
    "NodeList": "tensorflow.CollectionDef.NodeList",
    "BytesList": "tensorflow.CollectionDef.BytesList",
    "Int64List": "tensorflow.CollectionDef.Int64List",
    "FloatList": "tensorflow.CollectionDef.FloatList",
    "AnyList": "tensorflow.CollectionDef.AnyList",
    "Any": "google.protobuf.Any",
    "SavedObjectGraph": "tensorflow.SavedObjectGraph",
    "SavedObject": "tensorflow.SavedObject",
    "ObjectReference": "tensorflow.TrackableObjectGraph.TrackableObject.ObjectReference",
    "SavedUserObject": "tensorflow.SavedUserObject",
    "SavedAsset": "tensorflow.SavedAsset",
    "SavedFunction": "tensorflow.SavedFunction",
    "SavedConcreteFunction": "tensorflow.SavedConcreteFunction",
    "SavedBareConcreteFunction": "tensorflow.SavedBareConcreteFunction",
    "SavedConstant": "tensorflow.SavedConstant",
    "SavedResource": "tensorflow.SavedResource",
    "CapturedTensor": "tensorflow.CapturedTensor",
    "SavedVariable": "tensorflow.SavedVariable",
    "TensorSpecProto": "tensorflow.TensorSpecProto",
    "DictValue": "tensorflow.DictValue",
    "PairValue": "tensorflow.PairValue",
    "NamedTupleValue": "tensorflow.NamedTupleValue",
    "FingerprintDef": "tensorflow.FingerprintDef",
    "VersionDef": "tensorflow.VersionDef",
}
HUB_NAMES = {
    "ModuleDef": "tensorflow_hub.ModuleDef",
    "ModuleAttachment": "tensorflow_hub.ModuleAttachment",
    "ImageModuleInfo": "tensorflow_hub.ImageModuleInfo",
    "ImageSize": "tensorflow_hub.ImageModuleInfo.InputSize",
}
# Where TensorFlow's descriptors are registered (importing them fills the default pool).
TF_MODULES = ("tensorflow.core.protobuf.saved_model_pb2", "tensorflow.core.protobuf.meta_graph_pb2",
              "tensorflow.core.protobuf.saver_pb2", "tensorflow.core.protobuf.struct_pb2",
              "tensorflow.core.protobuf.tensor_bundle_pb2", "tensorflow.core.framework.variable_pb2",
              "google.protobuf.any_pb2", "tensorflow.core.protobuf.saved_object_graph_pb2",
              "tensorflow.core.protobuf.fingerprint_pb2")
HUB_MODULES = ("tensorflow_hub.module_def_pb2", "tensorflow_hub.module_attachment_pb2",
               "tensorflow_hub.image_module_info_pb2")

# One description of a message's fields for both sides: name -> [number, label, kind, oneof].
# kind is the scalar type, "enum|int32" for enums (sigcheck declares them int32, the same
# on the wire), ["message", full name] or ["map", key kind, value kind].
_DESCRIBE = '''
def describe(descriptor):
    def kind(field):
        if field.type == field.TYPE_ENUM or field.type == field.TYPE_INT32:
            return "enum|int32"
        if field.type != field.TYPE_MESSAGE:
            return field.type
        if field.message_type.GetOptions().map_entry:
            entry = field.message_type.fields_by_name
            return ["map", kind(entry["key"]), kind(entry["value"])]
        return ["message", field.message_type.full_name]
    def label(field):  # protobuf 6 drops FieldDescriptor.label for is_repeated
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        return "repeated" if repeated else "singular"
    return {f.name: [f.number, label(f), kind(f), f.containing_oneof.name if f.containing_oneof else None]
            for f in descriptor.fields}
'''
_CHILD = _DESCRIBE + '''
import importlib, json, sys
from google.protobuf import descriptor_pool
wanted = json.loads(sys.argv[1])
found = {}
for module in wanted["modules"]:
    try:
        importlib.import_module(module)
    except ImportError:
        continue
pool = descriptor_pool.Default()
for name in wanted["names"]:
    try:
        found[name] = describe(pool.FindMessageTypeByName(name))
    except KeyError:
        pass
print(json.dumps(found))
'''


def _ours(name: str) -> dict:
    scope = {}
    exec(_DESCRIBE, scope)
    package = "sigcheck.hub" if name in HUB_NAMES else "sigcheck.tf"
    described = scope["describe"](protos._POOL.FindMessageTypeByName(f"{package}.{name}"))
    return json.loads(json.dumps(described))  # lists, as the child's JSON gives them


def _translated(kind):
    """A kind of sigcheck's pool in TensorFlow's names."""
    if isinstance(kind, list) and kind[0] == "message":
        short = kind[1].rsplit(".", 1)[-1]
        return ["message", {**TF_NAMES, **HUB_NAMES}[short]]
    if isinstance(kind, list):
        return ["map", _translated(kind[1]), _translated(kind[2])]
    return kind


@pytest.fixture(scope="module")
def reference(once_per_run):
    names = list(TF_NAMES.values()) + list(HUB_NAMES.values())

    def describe():  # one TensorFlow child per test run, whichever xdist worker gets here first
        run = subprocess.run([sys.executable, "-c", _CHILD, json.dumps({"modules": TF_MODULES + HUB_MODULES,
                                                                       "names": names})],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        return json.loads(run.stdout.splitlines()[-1])

    return once_per_run("tf-descriptors", describe)


def test_every_declared_message_is_mapped():
    assert set(protos._TF_MESSAGES) == set(TF_NAMES)
    assert set(protos._HUB_MESSAGES) == set(HUB_NAMES)


@pytest.mark.parametrize("name", sorted(protos._TF_MESSAGES) + sorted(protos._HUB_MESSAGES))
def test_declared_fields_match_the_reference(name, reference):
    full = {**TF_NAMES, **HUB_NAMES}[name]
    if full not in reference:
        assert name in HUB_NAMES, f"TensorFlow registers no {full}"
        pytest.skip(f"this tensorflow_hub ships no {full} descriptor (0.16 dropped the TF1 *_pb2 modules)")
    theirs = reference[full]
    for field, (number, label, kind, oneof) in _ours(name).items():
        assert field in theirs, f"{full} has no field {field}"
        assert [number, label, _translated(kind), oneof] == theirs[field], f"{full}.{field}"


def test_the_pure_python_protobuf_runtime_builds_the_same_schema():
    """protos.py encodes its FileDescriptorProtos by hand and feeds them to the C extension's
    pool when there is one: the pure-Python runtime must read the same schema from them."""
    child = _DESCRIBE + '''
import json
from google.protobuf.internal import api_implementation
from sigcheck.facts import protos
assert api_implementation.Type() == "python", api_implementation.Type()
names = [("sigcheck.tf." + n) for n in protos._TF_MESSAGES] + [("sigcheck.hub." + n) for n in protos._HUB_MESSAGES]
print(json.dumps({n.rsplit(".", 1)[1]: describe(protos._POOL.FindMessageTypeByName(n)) for n in names}))
'''
    import os

    run = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"})
    assert run.returncode == 0, run.stderr[-2000:]
    pure = json.loads(run.stdout.splitlines()[-1])
    assert pure == {name: _ours(name) for name in [*protos._TF_MESSAGES, *protos._HUB_MESSAGES]}
