"""Message definitions for the files of a TF1 Hub module or a TF2 SavedModel, owned by sigcheck.

Field numbers are facts of the wire format (tensorflow/core/protobuf/*.proto and
tensorflow_hub's module_def.proto / module_attachment.proto /
image_module_info.proto).  The descriptors are built at import time in a private
pool instead of shipping generated ``*_pb2`` code, because generated code is
pinned to the protobuf runtime that generated it, while TensorFlow pins the
runtime users actually have.  Only the fields sigcheck reads are declared;
everything else is kept as unknown fields by the parser and ignored.

Enums are declared as ``int32`` (identical on the wire) so that values unknown
to sigcheck survive parsing instead of being rejected.
"""

from __future__ import annotations

import zlib

from google.protobuf.internal import api_implementation

# descriptor.proto's field numbers and enum values (FieldDescriptorProto.Type and .Label):
# the schema below is encoded by hand, so that reading a module never imports
# descriptor_pb2 or the pure-Python descriptor pool (a third of a static check's start-up).
_SCALARS = {
    "string": 9,
    "bytes": 12,
    "int32": 5,
    "int64": 3,
    "uint64": 4,
    "sint64": 18,
    "float": 2,
    "double": 1,
    "bool": 8,
}
_TYPE_MESSAGE = 11
_LABEL_OPTIONAL, _LABEL_REPEATED = 1, 3

# name -> list of (field name, number, type, repeated).  A type that is not a
# scalar names another message of the same package; "map<K,V>" declares a map.
_TF_MESSAGES: dict[str, list[tuple]] = {
    "SavedModel": [
        ("saved_model_schema_version", 1, "int64", False),
        ("meta_graphs", 2, "MetaGraphDef", True),
    ],
    "MetaGraphDef": [
        ("meta_info_def", 1, "MetaInfoDef", False),
        ("graph_def", 2, "GraphDef", False),
        ("saver_def", 3, "SaverDef", False),
        ("collection_def", 4, "map<string,CollectionDef>", True),
        ("signature_def", 5, "map<string,SignatureDef>", True),
        ("asset_file_def", 6, "AssetFileDef", True),
        ("object_graph_def", 7, "SavedObjectGraph", False),
    ],
    # saved_object_graph.proto: the object graph of a TF2 SavedModel (tf.saved_model.save).
    "SavedObjectGraph": [
        ("nodes", 1, "SavedObject", True),
        ("concrete_functions", 2, "map<string,SavedConcreteFunction>", True),
    ],
    "SavedObject": [
        ("children", 1, "ObjectReference", True),
        ("user_object", 4, "SavedUserObject", False),
        ("asset", 5, "SavedAsset", False),
        ("function", 6, "SavedFunction", False),
        ("variable", 7, "SavedVariable", False),
        ("bare_concrete_function", 8, "SavedBareConcreteFunction", False),
        ("constant", 9, "SavedConstant", False),
        ("resource", 10, "SavedResource", False),
        ("captured_tensor", 12, "CapturedTensor", False),
    ],
    # trackable_object_graph.proto: TrackableObjectGraph.TrackableObject.ObjectReference.
    "ObjectReference": [
        ("node_id", 1, "int32", False),
        ("local_name", 2, "string", False),
    ],
    "SavedUserObject": [
        ("identifier", 1, "string", False),
    ],
    "SavedAsset": [
        ("asset_file_def_index", 1, "int32", False),
    ],
    "SavedFunction": [
        ("concrete_functions", 1, "string", True),
    ],
    "SavedConcreteFunction": [
        ("bound_inputs", 2, "int32", True),
        ("canonicalized_input_signature", 3, "StructuredValue", False),
        ("output_signature", 4, "StructuredValue", False),
    ],
    "SavedBareConcreteFunction": [
        ("concrete_function_name", 1, "string", False),
        ("argument_keywords", 2, "string", True),
        ("allowed_positional_arguments", 3, "int64", False),
    ],
    "SavedConstant": [
        ("operation", 1, "string", False),
    ],
    "SavedResource": [
        ("device", 1, "string", False),
    ],
    "CapturedTensor": [
        ("name", 1, "string", False),
        ("concrete_function", 2, "string", False),
    ],
    "SavedVariable": [
        ("dtype", 1, "int32", False),
        ("shape", 2, "TensorShapeProto", False),
        ("trainable", 3, "bool", False),
        ("name", 6, "string", False),
    ],
    # fingerprint.proto: fingerprint.pb beside saved_model.pb (TensorFlow 2.12+).
    "FingerprintDef": [
        ("saved_model_checksum", 1, "uint64", False),
        ("graph_def_program_hash", 2, "uint64", False),
        ("signature_def_hash", 3, "uint64", False),
        ("saved_object_graph_hash", 4, "uint64", False),
        ("checkpoint_hash", 5, "uint64", False),
        ("version", 6, "VersionDef", False),
        ("uuid", 7, "string", False),
    ],
    "VersionDef": [
        ("producer", 1, "int32", False),
        ("min_consumer", 2, "int32", False),
    ],
    "MetaInfoDef": [
        ("meta_graph_version", 1, "string", False),
        ("tags", 4, "string", True),
        ("tensorflow_version", 5, "string", False),
        ("tensorflow_git_version", 6, "string", False),
    ],
    "SaverDef": [
        ("filename_tensor_name", 1, "string", False),
        ("save_tensor_name", 2, "string", False),
        ("restore_op_name", 3, "string", False),
    ],
    # variable.proto: an entry of the variables collections (GLOBAL_VARIABLES, ...).
    "VariableDef": [
        ("variable_name", 1, "string", False),
        ("initializer_name", 2, "string", False),
        ("snapshot_name", 3, "string", False),
        ("save_slice_info_def", 4, "SaveSliceInfoDef", False),
        ("initial_value_name", 6, "string", False),
    ],
    "AssetFileDef": [
        ("tensor_info", 1, "TensorInfo", False),
        ("filename", 2, "string", False),
    ],
    "GraphDef": [
        ("node", 1, "NodeDef", True),
        ("library", 2, "FunctionDefLibrary", False),
    ],
    "NodeDef": [
        ("name", 1, "string", False),
        ("op", 2, "string", False),
        ("input", 3, "string", True),
        ("device", 4, "string", False),
        ("attr", 5, "map<string,AttrValue>", True),
    ],
    "AttrValue": [
        ("list", 1, "ListValue", False),
        ("s", 2, "bytes", False),
        ("i", 3, "int64", False),
        ("f", 4, "float", False),
        ("b", 5, "bool", False),
        ("type", 6, "int32", False),
        ("shape", 7, "TensorShapeProto", False),
        ("tensor", 8, "TensorProto", False),
        ("placeholder", 9, "string", False),
        ("func", 10, "NameAttrList", False),
    ],
    "ListValue": [
        ("s", 2, "bytes", True),
        ("i", 3, "int64", True),
        ("f", 4, "float", True),
        ("b", 5, "bool", True),
        ("type", 6, "int32", True),
        ("shape", 7, "TensorShapeProto", True),
        ("func", 9, "NameAttrList", True),
    ],
    "NameAttrList": [
        ("name", 1, "string", False),
        ("attr", 2, "map<string,AttrValue>", True),
    ],
    "TensorProto": [
        ("dtype", 1, "int32", False),
        ("tensor_shape", 2, "TensorShapeProto", False),
        ("tensor_content", 4, "bytes", False),
        ("float_val", 5, "float", True),
        ("double_val", 6, "double", True),
        ("int_val", 7, "int32", True),
        ("string_val", 8, "bytes", True),
        ("int64_val", 10, "int64", True),
        ("half_val", 13, "int32", True),
    ],
    "FunctionDefLibrary": [
        ("function", 1, "FunctionDef", True),
    ],
    "FunctionDef": [
        ("signature", 1, "OpDef", False),
        ("node_def", 3, "NodeDef", True),
        ("ret", 4, "map<string,string>", True),
    ],
    "OpDef": [
        ("name", 1, "string", False),
        ("input_arg", 2, "ArgDef", True),
    ],
    "ArgDef": [
        ("name", 1, "string", False),
    ],
    "SignatureDef": [
        ("inputs", 1, "map<string,TensorInfo>", True),
        ("outputs", 2, "map<string,TensorInfo>", True),
        ("method_name", 3, "string", False),
    ],
    "TensorInfo": [
        ("name", 1, "string", False),
        ("dtype", 2, "int32", False),
        ("tensor_shape", 3, "TensorShapeProto", False),
        ("coo_sparse", 4, "CooSparse", False),
        ("composite_tensor", 5, "CompositeTensor", False),
    ],
    "CooSparse": [
        ("values_tensor_name", 1, "string", False),
        ("indices_tensor_name", 2, "string", False),
        ("dense_shape_tensor_name", 3, "string", False),
    ],
    "CompositeTensor": [
        ("type_spec", 1, "TypeSpecProto", False),
        ("components", 2, "TensorInfo", True),
    ],
    # struct.proto: how a composite tensor's TypeSpec (ragged, sparse) is encoded.
    "TypeSpecProto": [
        ("type_spec_class", 1, "int32", False),
        ("type_state", 2, "StructuredValue", False),
        ("type_spec_class_name", 3, "string", False),
    ],
    "StructuredValue": [
        ("none_value", 1, "NoneValue", False),
        ("float64_value", 11, "double", False),
        ("int64_value", 12, "sint64", False),  # zigzag-encoded in struct.proto
        ("string_value", 13, "string", False),
        ("bool_value", 14, "bool", False),
        ("tensor_shape_value", 31, "TensorShapeProto", False),
        ("tensor_dtype_value", 32, "int32", False),
        ("tensor_spec_value", 33, "TensorSpecProto", False),
        ("type_spec_value", 34, "TypeSpecProto", False),
        ("list_value", 51, "ValueList", False),
        ("tuple_value", 52, "TupleValue", False),
        ("dict_value", 53, "DictValue", False),
        ("named_tuple_value", 54, "NamedTupleValue", False),
    ],
    "TensorSpecProto": [
        ("name", 1, "string", False),
        ("shape", 2, "TensorShapeProto", False),
        ("dtype", 3, "int32", False),
    ],
    "DictValue": [("fields", 1, "map<string,StructuredValue>", True)],
    "PairValue": [("key", 1, "string", False), ("value", 2, "StructuredValue", False)],
    "NamedTupleValue": [("name", 1, "string", False), ("values", 2, "PairValue", True)],
    "NoneValue": [],
    # tensor_bundle.proto: one entry of variables/variables.index.
    "BundleEntryProto": [
        ("dtype", 1, "int32", False),
        ("shape", 2, "TensorShapeProto", False),
        ("shard_id", 3, "int32", False),
        ("offset", 4, "int64", False),
        ("size", 5, "int64", False),
        ("slices", 7, "TensorSliceProto", True),
    ],
    "TensorSliceProto": [],
    "SaveSliceInfoDef": [
        ("full_name", 1, "string", False),
        ("full_shape", 2, "int64", True),
    ],
    "ValueList": [("values", 1, "StructuredValue", True)],
    "TupleValue": [("values", 1, "StructuredValue", True)],
    "TensorShapeProto": [
        ("dim", 2, "Dim", True),
        ("unknown_rank", 3, "bool", False),
    ],
    "Dim": [
        ("size", 1, "int64", False),
        ("name", 2, "string", False),
    ],
    "CollectionDef": [
        ("node_list", 1, "NodeList", False),
        ("bytes_list", 2, "BytesList", False),
        ("int64_list", 3, "Int64List", False),
        ("float_list", 4, "FloatList", False),
        ("any_list", 5, "AnyList", False),
    ],
    "NodeList": [("value", 1, "string", True)],
    "BytesList": [("value", 1, "bytes", True)],
    "Int64List": [("value", 1, "int64", True)],
    "FloatList": [("value", 1, "float", True)],
    "AnyList": [("value", 1, "Any", True)],
    "Any": [("type_url", 1, "string", False), ("value", 2, "bytes", False)],
}

# The oneof groups that tell which member of a message is set.
_ONEOFS = {
    "AttrValue": ("value", ["list", "s", "i", "f", "b", "type", "shape", "tensor", "placeholder", "func"]),
    "TensorInfo": ("encoding", ["name", "coo_sparse", "composite_tensor"]),
    "CollectionDef": ("kind", ["node_list", "bytes_list", "int64_list", "float_list", "any_list"]),
    "StructuredValue": ("kind", ["none_value", "float64_value", "int64_value", "string_value", "bool_value",
                                 "tensor_shape_value", "tensor_dtype_value", "tensor_spec_value", "type_spec_value",
                                 "list_value", "tuple_value", "dict_value", "named_tuple_value"]),
    "SavedObject": ("kind", ["user_object", "asset", "function", "variable", "bare_concrete_function", "constant",
                             "resource", "captured_tensor"]),
}

_HUB_MESSAGES: dict[str, list[tuple]] = {
    "ModuleDef": [
        ("format", 1, "int32", False),
        ("required_features", 2, "string", True),
    ],
    "ModuleAttachment": [
        ("key", 1, "string", False),
        ("value", 2, "bytes", False),
    ],
    "ImageModuleInfo": [
        ("default_image_size", 1, "ImageSize", False),
    ],
    "ImageSize": [
        ("height", 1, "int32", False),
        ("width", 2, "int32", False),
    ],
}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _tag(number: int, value) -> bytes:
    """One field of a message on the wire: ints as varints, str/bytes length-delimited."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _field(package: str, owner: str, name: str, number: int, type_name: str, repeated: bool,
           oneof: bool = False) -> tuple:
    """(FieldDescriptorProto bytes, a nested map entry DescriptorProto's bytes or b"")."""
    label = _LABEL_REPEATED if repeated else _LABEL_OPTIONAL
    entry = b""
    if type_name.startswith("map<"):
        key_type, value_type = type_name[4:-1].split(",")
        entry_name = "".join(p.title() for p in name.split("_")) + "Entry"
        entry = (_tag(1, entry_name)
                 + _tag(2, _field(package, entry_name, "key", 1, key_type, False)[0])
                 + _tag(2, _field(package, entry_name, "value", 2, value_type, False)[0])
                 + _tag(7, _tag(7, 1)))  # options { map_entry: true }
        kind, reference = _TYPE_MESSAGE, f".{package}.{owner}.{entry_name}"
    elif type_name in _SCALARS:
        kind, reference = _SCALARS[type_name], None
    else:
        kind, reference = _TYPE_MESSAGE, f".{package}.{type_name}"
    field = _tag(1, name) + _tag(3, number) + _tag(4, label) + _tag(5, kind)
    field += (_tag(6, reference) if reference else b"") + (_tag(9, 0) if oneof else b"")
    return field, entry


def _file(package: str, messages: dict[str, list[tuple]], oneofs: dict) -> bytes:
    """A serialized FileDescriptorProto (proto3) declaring ``messages``."""
    file = _tag(1, f"{package.replace('.', '/')}.proto") + _tag(2, package)
    for msg_name, fields in messages.items():
        oneof = oneofs.get(msg_name)
        body, nested = _tag(1, msg_name), b""
        for name, number, type_name, repeated in fields:
            field, entry = _field(package, msg_name, name, number, type_name, repeated,
                                  bool(oneof and name in oneof[1]))
            body += _tag(2, field)
            nested += _tag(3, entry) if entry else b""
        body += nested + (_tag(8, _tag(1, oneof[0])) if oneof else b"")
        file += _tag(4, body)
    return file + _tag(12, "proto3")


def _pool_and_class_maker():
    """A private descriptor pool and the function making a message class from its descriptors:
    the C extension's own (upb, cpp) when protobuf runs on one, else the pure-Python ones."""
    native = getattr(api_implementation, "_c_module", None)
    if native is not None and hasattr(native, "DescriptorPool"):
        from google.protobuf.message import Message
        from google.protobuf.pyext.cpp_message import GeneratedProtocolMessageType

        def make(descriptor):
            return GeneratedProtocolMessageType(descriptor.name, (Message,),
                                                {"DESCRIPTOR": descriptor, "__module__": None})

        return native.DescriptorPool(), make
    from google.protobuf import descriptor_pool
    from google.protobuf.message_factory import GetMessageClass

    return descriptor_pool.DescriptorPool(), GetMessageClass


def _schema_crc() -> int:
    """CRC-32 of the schema above: which encoding facts/protofiles.py holds."""
    return zlib.crc32(repr((_TF_MESSAGES, _ONEOFS, _HUB_MESSAGES)).encode())


def _files() -> tuple:
    """The serialized FileDescriptorProtos of sigcheck.tf and sigcheck.hub: from facts/protofiles.py when
    it was generated from this very schema (its CRC matches), else encoded now (~0.001 s of every start-up,
    issue 11).  A stale protofiles.py is only slower, never wrong; tests/test_protos.py keeps it fresh:
    ``python -c "from sigcheck.facts.protos import protofiles_source as s; print(s(), end='')" > sigcheck/facts/protofiles.py``."""
    from . import protofiles

    if protofiles.SCHEMA_CRC == _schema_crc():
        return protofiles.TF, protofiles.HUB
    return _file("sigcheck.tf", _TF_MESSAGES, _ONEOFS), _file("sigcheck.hub", _HUB_MESSAGES, {})


def protofiles_source() -> str:
    """The text of sigcheck/facts/protofiles.py for the schema as it is now."""
    return "\n".join([
        '"""The FileDescriptorProtos facts/protos.py declares, encoded (keyed by the CRC-32 of its schema).',
        "",
        "Generated by protos.protofiles_source() (the command is in tests/test_protos.py); do not edit.  protos.py",
        "uses them only when the CRC matches its schema, so a stale file costs an encoding, never a wrong message.",
        '"""',
        "",
        f"SCHEMA_CRC = {_schema_crc()}",
        f"TF = {_file('sigcheck.tf', _TF_MESSAGES, _ONEOFS)!r}",
        f"HUB = {_file('sigcheck.hub', _HUB_MESSAGES, {})!r}",
        "",
    ])


_POOL, _message_class = _pool_and_class_maker()
for _serialized in _files():
    _POOL.AddSerializedFile(_serialized)


def _cls(full_name: str):
    return _message_class(_POOL.FindMessageTypeByName(full_name))


SavedModel = _cls("sigcheck.tf.SavedModel")
MetaGraphDef = _cls("sigcheck.tf.MetaGraphDef")
SignatureDef = _cls("sigcheck.tf.SignatureDef")
TensorInfo = _cls("sigcheck.tf.TensorInfo")
StructuredValue = _cls("sigcheck.tf.StructuredValue")
BundleEntryProto = _cls("sigcheck.tf.BundleEntryProto")
GraphDef = _cls("sigcheck.tf.GraphDef")
NodeDef = _cls("sigcheck.tf.NodeDef")
VariableDef = _cls("sigcheck.tf.VariableDef")
AssetFileDef = _cls("sigcheck.tf.AssetFileDef")
SavedObjectGraph = _cls("sigcheck.tf.SavedObjectGraph")
FingerprintDef = _cls("sigcheck.tf.FingerprintDef")
ModuleDef = _cls("sigcheck.hub.ModuleDef")
ModuleAttachment = _cls("sigcheck.hub.ModuleAttachment")
ImageModuleInfo = _cls("sigcheck.hub.ImageModuleInfo")

# TypeSpecProto.TypeSpecClass values (struct.proto).
SPARSE_TENSOR_SPEC = 1
RAGGED_TENSOR_SPEC = 3

FORMAT_UNSPECIFIED = 0
FORMAT_V3 = 3

# tensorflow.DataType values sigcheck names in messages (types.proto).
DTYPE_NAMES = {
    0: "invalid",
    1: "float32",
    2: "float64",
    3: "int32",
    4: "uint8",
    5: "int16",
    6: "int8",
    7: "string",
    8: "complex64",
    9: "int64",
    10: "bool",
    11: "qint8",
    12: "quint8",
    13: "qint32",
    14: "bfloat16",
    15: "qint16",
    16: "quint16",
    17: "uint16",
    18: "complex128",
    19: "float16",
    20: "resource",
    21: "variant",
    22: "uint32",
    23: "uint64",
    24: "float8_e5m2",
    25: "float8_e4m3fn",
    29: "int4",
    30: "uint4",
}


def dtype_name(value: int) -> str:
    """Readable name of a tensorflow.DataType value (``DT_*_REF`` = value + 100)."""
    if value > 100:
        return DTYPE_NAMES.get(value - 100, f"dtype({value - 100})") + "_ref"
    return DTYPE_NAMES.get(value, f"dtype({value})")
