"""The test suite's strategies are the public ones (`simulations.strategies`)."""

from simulations.strategies import *  # noqa: F403
from simulations.strategies import EMBEDDING, LOGIT, SHARP_LOGIT, WEIGHT  # noqa: F401
