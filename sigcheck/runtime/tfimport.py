"""The one way sigcheck imports TensorFlow: lazily, quietly, CPU only.

TensorFlow's native libraries log their banner (oneDNN, CUDA probing) straight
to file descriptor 2 before any logging setting applies, which would drown the
report; ``quiet_native_stderr`` silences the descriptor while TensorFlow
starts up.  sigcheck has no use for a GPU and must behave the same on every
machine, so GPUs are hidden unless the user set CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True):
    """Send what native code writes to fd 2 to /dev/null for the duration."""
    if not enabled or os.environ.get("SIGCHECK_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    with warnings.catch_warnings(), quiet_native_stderr("tensorflow" not in sys.modules):
        warnings.simplefilter("ignore")
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover
        pass
    return tf
