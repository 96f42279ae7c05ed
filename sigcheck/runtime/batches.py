"""Deterministic synthetic images in [0, 1] at the module's expected size.

The same (height, width, seed) always gives the same images, in the parent
and in the worker, so only image indices travel between processes.  The set
covers the extremes (black, white), texture at two scales (uniform and smooth
noise), structure (gradients, a checkerboard) and colour (per-channel ramps).
"""

from __future__ import annotations

NAMES = (
    "black",
    "white",
    "uniform-noise",
    "smooth-noise",
    "horizontal-gradient",
    "vertical-gradient",
    "checkerboard",
    "channel-ramps",
)
DEFAULT_SEED = 20181010
BYTES_PER_VALUE = 4  # float32


def make_images(height: int, width: int, seed: int = DEFAULT_SEED):
    """All synthetic images, shape [len(NAMES), height, width, 3], float32 in [0, 1]."""
    import numpy as np  # imported here: the parent reads NAMES without paying for numpy

    rng = np.random.default_rng(seed)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    horizontal = np.broadcast_to(xs, (height, width))
    vertical = np.broadcast_to(ys, (height, width))
    cell = max(1, min(height, width) // 8)
    checker = ((np.arange(height)[:, None] // cell + np.arange(width)[None, :] // cell) % 2).astype(np.float32)
    images = [
        np.zeros((height, width, 3), np.float32),
        np.ones((height, width, 3), np.float32),
        rng.random((height, width, 3), dtype=np.float32),
        _smooth_noise(rng, height, width),
        np.repeat(horizontal[..., None], 3, axis=2),
        np.repeat(vertical[..., None], 3, axis=2),
        np.repeat(checker[..., None], 3, axis=2),
        np.stack([horizontal, vertical, (horizontal + vertical) / 2], axis=2),
    ]
    return np.clip(np.stack(images).astype(np.float32), 0.0, 1.0)


def _smooth_noise(rng, height: int, width: int):
    """Coarse random grid upsampled bilinearly: noise with large blobs."""
    import numpy as np

    grid = rng.random((5, 5, 3), dtype=np.float32)
    ys = np.linspace(0, 4, height)
    xs = np.linspace(0, 4, width)
    y0 = np.minimum(ys.astype(int), 3)
    x0 = np.minimum(xs.astype(int), 3)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def batch(images, indices, scale: float = 1.0, dtype: str = "float32"):
    """The images at ``indices`` scaled by ``scale`` and converted to the input dtype.

    Integer inputs get [0, 1] mapped to [0, 255] (what uint8 image modules take);
    other float types are a plain cast."""
    import numpy as np

    chosen = images[list(indices)] * np.float32(scale)
    if dtype in ("uint8", "int8", "int16", "int32", "int64", "uint16"):
        return np.clip(np.rint(chosen * 255.0), 0, 255).astype(dtype)
    return chosen.astype(dtype)


def batch_bytes(count: int, height: int, width: int, channels: int = 3) -> int:
    """Bytes a float32 batch of ``count`` images needs, before allocating it."""
    return count * height * width * channels * BYTES_PER_VALUE
