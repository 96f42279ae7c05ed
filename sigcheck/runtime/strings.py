"""Deterministic synthetic strings for text modules (the twin of ``batches`` for images).

What a text embedding must take in its stride: ordinary ASCII sentences, a
single word, a URL, the empty string, non-ASCII text (CJK, accented Latin,
emoji), a very long string and tokens no vocabulary holds.  The same index
always means the same string in the parent and in the worker, so only indices
travel between processes; ``NAMES`` label them in messages.
"""

from __future__ import annotations

LONG_LENGTH = 10_000

_SENTENCES = (
    ("sentence-cat", "The cat sat on the mat."),
    ("sentence-weather", "A long sentence about the weather in the mountains today."),
    ("single-word", "single-word"),
    ("url", "http://example-url.com"),
    ("empty", ""),
    ("cjk", "\u4eca\u65e5\u306f\u826f\u3044\u5929\u6c17\u3067\u3059\u3002"),
    ("accented", "Cr\u00e8me br\u00fbl\u00e9e \u00e0 la fa\u00e7on de l'\u00e9t\u00e9"),
    ("emoji", "good morning \U0001F600\U0001F680"),
    ("out-of-vocabulary", "zqxv blorptastic fnordle"),
    ("long", None),  # LONG_LENGTH characters, made below
)
NAMES = tuple(name for name, _ in _SENTENCES)
# Strings whose embeddings should differ from each other: distinct ordinary sentences.
DISTINCT = (0, 1, 3)


def _long() -> str:
    words = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")
    text = " ".join(words[i % len(words)] for i in range(LONG_LENGTH // 5))
    return (text + " ") * (LONG_LENGTH // max(1, len(text)) + 1)


def make_strings() -> tuple:
    """Every synthetic string, in ``NAMES`` order (the long one exactly LONG_LENGTH characters)."""
    return tuple(_long()[:LONG_LENGTH] if text is None else text for _, text in _SENTENCES)


def batch(texts, indices):
    """A numpy object array of the strings at ``indices``, as UTF-8 bytes (what a string Placeholder takes)."""
    import numpy as np

    return np.array([texts[i].encode("utf-8") for i in indices], dtype=object)

