"""Structure-aware mutation of a module's files.

``saved_model.pb`` and ``tfhub_module.pb`` are parsed with sigcheck's own
message classes (sigcheck.facts.protos declares exactly the fields sigcheck
reads; everything else rides along as unknown fields), one message of the tree
is picked and one of its fields changed the way a corrupted or hostile file
would: extreme numbers, names taken from elsewhere in the graph (so inputs
and calls point at real nodes and functions, cycles included), repeated fields
grown, shrunk, duplicated or spliced, oneofs switched.  ModuleAttachments in
the attachments collection are mutated as messages too.  ``variables.index``
(a TensorFlow table of protobuf entries) and, rarely, every file are mutated
as bytes.  Everything is drawn from one ``random.Random``: a seed reproduces
a mutation exactly.
"""

from __future__ import annotations

import math
import random

from google.protobuf.descriptor import FieldDescriptor as F
from google.protobuf.message import DecodeError

from sigcheck.facts import protos

INT32 = (0, 1, -1, 2, 3, 4, 8, 16, 17, 255, 256, 65535, 2**31 - 1, -2**31)
INT64 = INT32 + (2**32, 2**62, 2**63 - 1, -2**63, -2**62)
FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, 255.0, 1 / 255, 127.5, 1e-45, 3.4e38, -3.4e38, math.inf, -math.inf, math.nan)
# Names that matter to sigcheck besides those already in the file.
WORDS = (
    "", ":", "^", ":0", "default", "images", "image_feature_vector", "image_classification", "train", "serve",
    "Const", "Placeholder", "Identity", "NoOp", "PartitionedCall", "StatefulPartitionedCall", "If", "While",
    "Case", "StatelessCase", "SymbolicGradient", "WriteFile", "Abort", "PyFunc", "ReadFile", "RestoreV2",
    "hub_module_attachments", "image_module_info", "table_initializer", "saved_model_main_op", "legacy_init_op",
    "init_op", "local_init_op", "global_step", "variables", "tensorflow/serving/predict", "f", "then_branch",
    "body", "branches", "value", "dtype", "é", "\u2603", "a" * 300, " (", "x (Const)", "^^", "a:b:c", "/",
)
_ATTACHMENT_KEY = "hub_module_attachments"
_MAX_GROW = 64  # most elements one mutation adds to a repeated field


class Mutator:
    def __init__(self, rng: random.Random):
        self.rng = rng

    # ------------------------------------------------------------------ files

    def mutate_files(self, files: dict, rounds: int = None) -> dict:
        """A mutated copy of ``files`` (path -> bytes); ``rounds`` stacked mutations (random when None)."""
        files = dict(files)
        rounds = rounds or 1 + min(int(self.rng.expovariate(0.5)), 7)
        for _ in range(rounds):
            roll = self.rng.random()
            if roll < 0.80 and "saved_model.pb" in files:
                files["saved_model.pb"] = self.mutate_message_bytes(files["saved_model.pb"], protos.SavedModel)
            elif roll < 0.86:
                files["tfhub_module.pb"] = self.mutate_message_bytes(files.get("tfhub_module.pb", b""),
                                                                     protos.ModuleDef)
            elif roll < 0.92 and "variables/variables.index" in files:
                files["variables/variables.index"] = self.mutate_bytes(files["variables/variables.index"])
            elif roll < 0.97:
                path = self.rng.choice(sorted(files)) if files else "saved_model.pb"
                files[path] = self.mutate_bytes(files.get(path, b""))
            elif files:
                del files[self.rng.choice(sorted(files))]
        return files

    def mutate_message_bytes(self, data: bytes, cls) -> bytes:
        message = cls()
        try:
            message.ParseFromString(data)
        except (DecodeError, RuntimeError, ValueError):
            return self.mutate_bytes(data)
        self.mutate_message(message)
        return message.SerializeToString(deterministic=True)

    # --------------------------------------------------------------- messages

    def mutate_message(self, root) -> None:
        """Change one field of one message somewhere in the tree under ``root``."""
        nodes, strings = [], set(WORDS)
        _collect(root, nodes, strings)
        self.strings = sorted(strings)
        self.by_type = {}
        for message in nodes:
            self.by_type.setdefault(message.DESCRIPTOR.full_name, []).append(message)
        # A message type first, then one of its messages: a graph holds far more AttrValues and
        # shapes than signatures or collections, which would otherwise hardly ever change.
        kind = self.rng.choice(sorted(self.by_type))
        self._mutate_one(self.rng.choice(self.by_type[kind]))

    def _mutate_one(self, target) -> None:
        fields = target.DESCRIPTOR.fields
        if not fields:
            return
        field = self.rng.choice(fields)
        if _is_map(field):
            self._mutate_map(target, field)
        elif field.is_repeated:
            self._mutate_repeated(target, field)
        elif field.type == F.TYPE_MESSAGE:
            self._mutate_submessage(target, field)
        else:
            setattr(target, field.name, self.scalar(field, getattr(target, field.name)))

    def _mutate_submessage(self, target, field) -> None:
        roll = self.rng.random()
        if roll < 0.25:
            target.ClearField(field.name)
        elif roll < 0.6:
            donor = self._donor(field.message_type.full_name)
            if donor is not None:
                getattr(target, field.name).ParseFromString(donor)
        else:
            sub = getattr(target, field.name)
            sub.SetInParent()
            self._mutate_one(sub)

    def _mutate_repeated(self, target, field) -> None:
        values = getattr(target, field.name)
        roll = self.rng.random()
        if roll < 0.2 and len(values):
            del values[self.rng.randrange(len(values))]
        elif roll < 0.25:
            target.ClearField(field.name)
        elif roll < 0.35 and len(values) > 1:
            i, j = self.rng.randrange(len(values)), self.rng.randrange(len(values))
            if field.type == F.TYPE_MESSAGE:
                a, b = values[i].SerializeToString(), values[j].SerializeToString()
                values[i].Clear(), values[j].Clear()
                values[i].ParseFromString(b), values[j].ParseFromString(a)
            else:
                values[i], values[j] = values[j], values[i]
        elif roll < 0.5 and len(values):
            # grow: copies of one element, sometimes many
            count = self.rng.choice((1, 2, self.rng.randint(1, _MAX_GROW)))
            element = values[self.rng.randrange(len(values))]
            for _ in range(count):
                if field.type == F.TYPE_MESSAGE:
                    values.add().CopyFrom(element)
                else:
                    values.append(element)
        elif roll < 0.75 and len(values) and field.type == F.TYPE_MESSAGE:
            self._mutate_one(values[self.rng.randrange(len(values))])
        elif field.type == F.TYPE_MESSAGE:
            donor = self._donor(field.message_type.full_name)
            added = values.add()
            if donor is not None and self.rng.random() < 0.7:
                added.ParseFromString(donor)
            else:
                self._mutate_one(added)
        elif len(values) and self.rng.random() < 0.5:
            index = self.rng.randrange(len(values))
            values[index] = self.scalar(field, values[index])
        else:
            values.append(self.scalar(field, None))

    def _mutate_map(self, target, field) -> None:
        mapping = getattr(target, field.name)
        value_field = field.message_type.fields_by_name["value"]
        keys = sorted(mapping)  # map order is the hash table's: sorted keeps a seed reproducible
        roll = self.rng.random()
        if roll < 0.25 and keys:
            del mapping[self.rng.choice(keys)]
        elif roll < 0.6 and keys and value_field.type == F.TYPE_MESSAGE:
            self._mutate_one(mapping[self.rng.choice(keys)])
        else:
            key = self.string()
            if value_field.type == F.TYPE_MESSAGE:
                donor = self._donor(value_field.message_type.full_name)
                entry = mapping[key]
                if donor is not None:
                    entry.ParseFromString(donor)
                else:
                    entry.SetInParent()
            else:
                mapping[key] = self.scalar(value_field, None)

    def _donor(self, full_name: str):
        """The bytes of a message of the same type elsewhere in the tree, if any."""
        candidates = self.by_type.get(full_name)
        return self.rng.choice(candidates).SerializeToString(deterministic=True) if candidates else None

    # ---------------------------------------------------------------- scalars

    def scalar(self, field, current):
        kind = field.type
        if kind == F.TYPE_BOOL:
            return not current if current is not None else self.rng.random() < 0.5
        if kind in (F.TYPE_INT32, F.TYPE_INT64):
            table = INT32 if kind == F.TYPE_INT32 else INT64
            roll = self.rng.random()
            if roll < 0.6:
                return self.rng.choice(table)
            if roll < 0.8 and current is not None:
                low, high = table[-1], -table[-1] - 1  # -2^31 / 2^31-1 (-2^63 / 2^63-1)
                return max(low, min(high, current + self.rng.choice((-1, 1, -2, 2, 100))))
            return self.rng.randint(-300, 300)
        if kind in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
            return self.rng.choice(FLOATS) if self.rng.random() < 0.8 else self.rng.uniform(-1e6, 1e6)
        if kind == F.TYPE_STRING:
            return self.string()
        if kind == F.TYPE_BYTES:
            roll = self.rng.random()
            if roll < 0.3:
                return self.string().encode()
            if roll < 0.5:
                return self._attachment()
            return self.mutate_bytes(current or b"")
        return current

    def string(self) -> str:
        base = self.rng.choice(WORDS if self.rng.random() < 0.2 else self.strings)
        roll = self.rng.random()
        if roll < 0.05:
            return ""
        if roll < 0.55:
            return base
        if roll < 0.65:
            return "^" + base
        if roll < 0.75:
            return f"{base}:{self.rng.choice((0, 1, 2, 99, 2**31, -1))}"
        if roll < 0.8:
            return base + "/" + self.rng.choice(self.strings)
        if roll < 0.85:
            return base[: self.rng.randint(0, len(base))]
        if roll < 0.9:
            return base * self.rng.randint(2, 50)
        return "".join(self.rng.choice("abc/:^_0 ()[]\x00\né") for _ in range(self.rng.randint(0, 12)))

    def _attachment(self) -> bytes:
        """A ModuleAttachment, most often an image_module_info with odd sizes."""
        info = protos.ImageModuleInfo()
        if self.rng.random() < 0.8:
            info.default_image_size.height = self.rng.choice(INT32)
            info.default_image_size.width = self.rng.choice(INT32)
        value = info.SerializeToString()
        if self.rng.random() < 0.2:
            value = self.mutate_bytes(value)
        key = "image_module_info" if self.rng.random() < 0.8 else self.string()
        return protos.ModuleAttachment(key=key, value=value).SerializeToString()

    # ------------------------------------------------------------------ bytes

    def mutate_bytes(self, data: bytes) -> bytes:
        data = bytearray(data)
        roll = self.rng.random()
        if roll < 0.2 and data:
            del data[self.rng.randrange(len(data)):]
        elif roll < 0.45 and data:
            index = self.rng.randrange(len(data))
            data[index] ^= 1 << self.rng.randrange(8)
        elif roll < 0.6 and data:
            index = self.rng.randrange(len(data))
            data[index] = self.rng.choice((0, 1, 0x7F, 0x80, 0xFF))
        elif roll < 0.75:
            index = self.rng.randrange(len(data) + 1)
            data[index:index] = self._varint(self.rng.choice(INT64))
        elif roll < 0.9 and data:
            start = self.rng.randrange(len(data))
            chunk = data[start:start + self.rng.randint(1, 64)]
            index = self.rng.randrange(len(data) + 1)
            data[index:index] = chunk * self.rng.randint(1, 8)
        else:
            index = self.rng.randrange(len(data) + 1)
            data[index:index] = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 16)))
        return bytes(data)

    @staticmethod
    def _varint(value: int) -> bytes:
        value &= (1 << 64) - 1
        out = bytearray()
        while True:
            byte, value = value & 0x7F, value >> 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                return bytes(out)


def _is_map(field) -> bool:
    return field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _collect(message, nodes: list, strings: set) -> None:
    """Every message under ``message`` (itself included) into ``nodes``; string values into ``strings``."""
    nodes.append(message)
    for field, value in message.ListFields():
        if _is_map(field):
            strings.update(value.keys())
            if field.message_type.fields_by_name["value"].type == F.TYPE_MESSAGE:
                for key in sorted(value):  # not the hash table's order: a seed must reproduce its run
                    _collect(value[key], nodes, strings)
            else:
                strings.update(v for v in value.values() if isinstance(v, str))
        elif field.type == F.TYPE_MESSAGE:
            for item in (value if field.is_repeated else (value,)):
                _collect(item, nodes, strings)
        elif field.type == F.TYPE_STRING:
            strings.update(value if field.is_repeated else (value,))
