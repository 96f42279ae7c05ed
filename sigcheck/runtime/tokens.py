"""Deterministic synthetic token ids for a TF2 text encoder (a dict of integer tensors [batch, seq_length]).

Row ``i`` stands for the synthetic string ``strings.NAMES[i]``: its word ids are
small (1-5, inside any vocabulary, never the padding id 0), different from row
to row, and start and end as a BERT input does; ``*mask*`` keys get ones over the
ids and zeros for padding, ``*type*`` keys zeros; the rest are word ids.
"""

from __future__ import annotations

DEFAULT_LENGTH = 16  # when the encoder leaves the sequence length unknown
WORDS = 5


def batch(feed, indices) -> dict:
    """{key: numpy array [len(indices), length]} for ``feed`` ((key, dtype, length or 0), ...)."""
    import numpy as np

    out = {}
    for key, dtype, length in feed:
        length = length or DEFAULT_LENGTH
        used = [min(length, 2 + (i % 4)) for i in indices]  # tokens per row, the rest padding
        ids = np.zeros((len(indices), length), dtype=np.int64)
        for row, (index, count) in enumerate(zip(indices, used)):
            ids[row, :count] = [1 + (index * 3 + position) % WORDS for position in range(count)]
        mask = (ids > 0).astype(np.int64)
        value = mask if "mask" in key else np.zeros_like(ids) if "type" in key else ids
        out[key] = value.astype(dtype)
    return out
