"""`python -m simulations` is the `natural-tasks` command."""

import sys

from .cli import main

sys.exit(main())
