"""``python -m sigcheck`` is the ``sigcheck`` command."""

import sys

from .cli import main

sys.exit(main())
