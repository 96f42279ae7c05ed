"""The modules the genuine producer exports, and what sigcheck must say of them.

Plain data, shared by client_probe.py (which exports them inside the
old-client environment with ``hub.create_module_spec`` + ``Module.export``)
and test_compat.py (which validates them with sigcheck).  ``args`` are the
arguments of client_probe.feature_vector_fn for both tag sets; ``expect``
lists the static rules whose verdict is not ``pass`` (rule code -> worst
status), as in fixtures/catalog.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCOPE = "ProbeNet"
SIZE = 24
FEATURES = 12


@dataclass(frozen=True)
class Produced:
    name: str
    summary: str
    args: dict = field(default_factory=dict)
    expect: dict = field(default_factory=dict)
    fn: str = "feature_vector"  # the module function client_probe.MODULE_FNS exports
    image: bool = True  # False: not an image module, so its verdict is not-applicable


MODULES = (
    Produced("hub-conformant",
             f"Conformant feature vector: images [?, {SIZE}, {SIZE}, 3] float32 -> default [?, {FEATURES}] "
             f"float32, extra output {SCOPE}/conv1, ImageModuleInfo {SIZE}x{SIZE}, dropout inside the "
             "{train} graph only"),
    Produced("hub-conformant-with-asset",
             "The conformant feature vector shipping an asset file (assets/labels.txt, registered in "
             "ASSET_FILEPATHS) as modules with label maps or vocabularies do",
             args={"asset": "labels.txt"}),
    Produced("hub-uint8-input", "The image input is uint8 (cast and scaled inside the module)",
             args={"input_dtype": "uint8"}, expect={"IMG302": "fail", "IMG307": "skip"}),
    Produced("hub-no-default-output", f"The features are output as '{SCOPE}/features', no 'default' key",
             args={"default_key": f"{SCOPE}/features"},
             expect={"OUT401": "fail", "OUT402": "skip", "OUT403": "skip", "OUT404": "skip"}),
    Produced("hub-train-output-dropout", "The {train} graph applies dropout to the output features",
             args={"output_dropout": True}, expect={"OUT405": "fail"}),
    Produced("hub-extra-sparse-input", "A sparse input 'regions' (float32 [?, ?]) beside 'images'",
             args={"sparse_input": "regions"}, expect={"IMG301": "fail"}),
    Produced("hub-fixed-batch", f"Input [1, {SIZE}, {SIZE}, 3]: a fixed batch, so default is [1, {FEATURES}]",
             args={"batch": 1}, expect={"IMG304": "fail", "OUT403": "fail"}),
    # tensorflow_hub 0.15's own test modules, exported by the genuine producer: not image modules.
    Produced("hub-multi-signature", "tensorflow_hub's multi-signature test module: double and square, "
             "no default", fn="multi_signature", image=False),
    Produced("hub-ragged", "tensorflow_hub's ragged test module: a ragged int64 input squared",
             fn="ragged", image=False),
)

BY_NAME = {m.name: m for m in MODULES}
CONFORMANT = tuple(m.name for m in MODULES if not m.expect and m.image)
