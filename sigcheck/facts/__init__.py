"""Protobuf-only reading of a module into immutable facts (never imports TensorFlow)."""

from .model import ModuleFacts  # noqa: F401
from .reader import read_module  # noqa: F401
