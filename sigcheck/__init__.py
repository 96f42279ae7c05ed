"""sigcheck: does a TF1 Hub image module follow the Common Signatures for Images?"""

import os as _os

__version__ = "0.1.0"

# The module recipes live at the top of a source checkout (fixtures/); an install
# ships them as sigcheck/fixtures.  Let `sigcheck.fixtures` resolve in a checkout
# too (python -m from the repository root imports this directory, not the install).
_CHECKOUT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "fixtures")) and _os.path.isfile(
        _os.path.join(_CHECKOUT, "fixtures", "__init__.py")):
    __path__.append(_CHECKOUT)
