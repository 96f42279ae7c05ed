"""sigcheck: does a TF1 Hub image module follow the Common Signatures for Images?"""

__version__ = "0.1.0"
