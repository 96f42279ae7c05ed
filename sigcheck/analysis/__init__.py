"""Pure analyses of a module's graphs: facts in, plain values out.

This layer sits below both the checks and the runtime: SEC601 and the
runtime's safety gate share one answer to "what would execute", OUT405's and
IMG307's static traces live beside it, and neither side imports the other.
Nothing here imports TensorFlow, a rule or an observation.
"""
