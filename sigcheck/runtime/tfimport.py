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
import threading
import warnings


# fd 2 is one per process: overlapping windows (parallel jobs resolving URLs each import
# tensorflow_hub) share one redirection, made by the first to enter and undone by the last to
# leave.  Each window saving and restoring fd 2 on its own could "restore" another window's
# /dev/null and silence stderr for the rest of the run, error lines included.
_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved = -1


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True):
    """Send what native code writes to fd 2 to /dev/null for the duration (thread-safe)."""
    if not enabled or os.environ.get("SIGCHECK_DEBUG"):
        yield
        return
    _enter_quiet()
    try:
        yield
    finally:
        _leave_quiet()


def _enter_quiet() -> None:
    global _quiet_depth, _quiet_saved
    with _quiet_lock:
        if _quiet_depth == 0:
            sys.stderr.flush()
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
            except OSError:
                os.close(saved)
                raise
            finally:
                os.close(devnull)
            _quiet_saved = saved
        _quiet_depth += 1


def _leave_quiet() -> None:
    global _quiet_depth, _quiet_saved
    with _quiet_lock:
        _quiet_depth -= 1
        if _quiet_depth == 0:
            sys.stderr.flush()
            os.dup2(_quiet_saved, 2)
            os.close(_quiet_saved)
            _quiet_saved = -1


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
