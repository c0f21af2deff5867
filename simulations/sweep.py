"""`simulations.sweep`, the public name of the sweep module, which lives in `simulations.runs.sweep`.

Importing this module gives that module itself (one object, so setting an
attribute on either changes both); see `simulations.runs.sweep` for the API.
"""

import sys

from .runs import sweep as _sweep

sys.modules[__name__] = _sweep
