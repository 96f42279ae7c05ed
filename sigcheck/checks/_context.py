"""What a check may read: the module's facts and, for runtime rules, observations."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Optional

from ..facts.image import module_image_signatures
from ..facts.kind import module_kind, text_signature_names
from ..facts.model import MetaGraphFacts, ModuleFacts, SignatureFacts
from ..facts.tf2 import TF2_SAVED_MODEL, module_format, tf2_kind
from . import location
from ..record import record


@record
class Context:
    facts: ModuleFacts
    observations: Any = None  # runtime.Observations when the runtime stage ran
    runtime_skip_reason: Optional[str] = None  # why runtime rules were not run (skip)
    runtime_error: Optional[str] = None  # why the runtime stage failed (error)
    registry: Optional[dict] = None  # tags -> unregistered op types, when only the op registry was asked

    def unregistered_ops(self, tags) -> Optional[tuple]:
        """The op types of tag set ``tags`` the installed TensorFlow does not register; None: not asked."""
        if self.registry is not None:
            return self.registry.get(tuple(tags))
        run = self.observations.for_tags(tags) if self.observations is not None else None
        return None if run is None else run.unregistered_ops

    @cached_property
    def module_format(self) -> str:
        """tf1-hub, tf2-saved-model or tf1-saved-model: which rules apply (Rule.formats)."""
        return module_format(self.facts)

    @property
    def primary(self) -> MetaGraphFacts:
        return self.facts.primary

    @cached_property
    def image_signatures(self) -> tuple:
        """Image signatures of the inference graph, the ones IMG/OUT rules judge."""
        return tuple(self.primary.signature(n) for n in module_image_signatures(self.facts))

    def image_signatures_in(self, meta: MetaGraphFacts) -> tuple:
        """The inference graph's image signatures that tag set ``meta`` has too."""
        return tuple(s for s in (meta.signature(i.name) for i in self.image_signatures) if s is not None)

    @property
    def is_image_module(self) -> bool:
        return bool(self.image_signatures) or self.tf2_kind == "image"

    @cached_property
    def tf2_kind(self):
        """image, text or other for a TF2 SavedModel (facts.tf2.tf2_kind); None for the TF1 formats."""
        return tf2_kind(self.facts) if self.module_format == TF2_SAVED_MODEL else None

    @cached_property
    def kind(self) -> str:
        """image | text | other (facts.kind: the one definition; --kind overrides)."""
        return module_kind(self.facts)

    @cached_property
    def text_signatures(self) -> tuple:
        """The signatures the TXT rules judge: `default` of a text module."""
        return tuple(self.primary.signature(n) for n in text_signature_names(self.facts))

    def where(self, signature: SignatureFacts, *path: str) -> dict:
        """tags/signature/location keywords for a finding about ``signature``."""
        tags = self.primary.tags
        return {
            "tags": tags,
            "signature": signature.name,
            "location": location(tags, "signatures", signature.name, *path),
        }
