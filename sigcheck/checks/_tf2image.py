"""The TF2 image API ("Common SavedModel APIs for Image Tasks") judged on __call__'s traces.

Rules whose convention is the same in both formats keep their TF1 code (IMG302
float32 input, OUT402-OUT404 the output's dtype, shape and static N) and call
these when the module is a TF2 SavedModel; the TF2 model has no signatures or
'default' key: its input is __call__'s one tensor argument and its output
what __call__ returns.  Traces that agree (training=True and False) give one
result; the location names the first such trace.
"""

from __future__ import annotations

from ..facts.model import format_shape
# facts.objects is imported inside the functions that use it: a TF1 module's static check
# never loads the TF2 object facts (start-up cost, BENCHMARKS.md).
from ..facts.tf2 import CALL, TF2_SAVED_MODEL, call_traces, single_input
from . import passed, skipped, violated


def is_tf2(ctx) -> bool:
    return ctx.module_format == TF2_SAVED_MODEL


def _distinct(ctx, part) -> list:
    """(value, where) for every distinct ``part(trace)`` of __call__'s traces, in trace order."""
    from ..facts.objects import describe
    seen, found = set(), []
    for index, trace in enumerate(call_traces(ctx.facts) or ()):
        value = part(trace)
        key = describe(value)
        if key not in seen:
            seen.add(key)
            found.append((value, {"location": f"objects/{CALL}/trace[{index}]"}))
    return found


def _outputs(ctx) -> list:
    return _distinct(ctx, lambda t: t.outputs)


def input_dtype(ctx):
    from ..facts.objects import TensorSpec, describe
    for spec, where in _distinct(ctx, single_input):
        if not isinstance(spec, TensorSpec):
            yield violated(f"__call__ takes {describe(spec)}; expected one dense float32 batch of images", **where)
        elif spec.dtype == "float32":
            yield passed(f"__call__ takes float32 {format_shape(spec.shape)}", **where)
        else:
            yield violated(f"__call__ takes {spec.dtype} {format_shape(spec.shape)}; expected float32 RGB values "
                           "in [0, 1]", **where)


def _single(spec, where):
    from ..facts.objects import TensorSpec, describe
    return None if isinstance(spec, TensorSpec) else skipped(
        f"__call__ returns {describe(spec)}, not a single tensor (see OUT411)", **where)


def output_dtype(ctx):
    for spec, where in _outputs(ctx):
        not_single = _single(spec, where)
        if not_single:
            yield not_single
        elif spec.dtype == "float32":
            yield passed("__call__ returns float32", **where)
        else:
            yield violated(f"__call__ returns {spec.describe()}; expected float32", **where)


def output_shape(ctx):
    for spec, where in _outputs(ctx):
        not_single = _single(spec, where)
        shape = None if not_single else spec.shape
        if not_single:
            yield not_single
        elif shape is None or len(shape) != 2:
            yield violated(f"__call__ returns {format_shape(shape)}; expected rank 2 [batch_size, N]", **where)
        elif shape[0] is not None:
            yield violated(f"__call__ returns a fixed batch size {shape[0]} ({format_shape(shape)}); expected it "
                           "unknown", **where)
        else:
            yield passed(f"__call__ returns {format_shape(shape)}", **where)


def static_size(ctx):
    for spec, where in _outputs(ctx):
        not_single = _single(spec, where)
        if not_single:
            yield not_single
        elif spec.shape is None or len(spec.shape) != 2:
            yield skipped(f"__call__'s output is not rank 2 ({format_shape(spec.shape)}; see OUT403)", **where)
        elif spec.shape[1] is None or spec.shape[1] <= 0:
            yield violated(f"__call__ returns {format_shape(spec.shape)}: N is not a known constant > 0; expected "
                           "a fixed number of features or classes", **where)
        else:
            yield passed(f"N = {spec.shape[1]}", **where)


def single_output(ctx):
    from ..facts.objects import TensorSpec, describe
    for spec, where in _outputs(ctx):
        if isinstance(spec, TensorSpec):
            yield passed("__call__ returns a single tensor", **where)
        else:
            yield violated(f"__call__ returns {describe(spec)}; the TF2 image API returns one tensor "
                           "[batch_size, N], not a dict or a tuple", **where)
