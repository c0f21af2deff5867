"""The experiment kit: what every experiment is built from, built once.

The floor above `simulations.features` and below the experiment modules: the
`Experiment` contract and the fields every config shares (`RunConfig`),
claims as data (`Claim`), row schemas and selection (`select`, `column`),
the shared probe row and its bound check (`ProbeRow`, `bound_check`), log-log
slopes with a seed bootstrap, and one figure style (matplotlib imported on
first use). It never imports an experiment module or `simulations.runs`
(docs/design.md §3).
"""

from ._base import PROFILES, TINY_LM, TINY_WORLD, Experiment, RunConfig
from ._claims import FAIL, PASS, Claim, claims_by_id
from ._plotting import (
    FAMILY_STYLE,
    LEGEND_BELOW,
    STYLE,
    finish_figure,
    label_panels,
    new_figure,
    plot_hollow,
    plot_signed,
    plot_strips,
    pyplot,
    save_figure,
    slope_label,
)
from ._probe_rows import ProbeRow, bound_check, probe_rows
from ._rows import CELL_TYPES, column, finite, from_cells, row_fields, select, to_cells, values
from ._stats import format_slope, loglog_slope, slope_consistent, slopes_by

__all__ = [
    "CELL_TYPES",
    "FAIL",
    "FAMILY_STYLE",
    "LEGEND_BELOW",
    "PASS",
    "PROFILES",
    "STYLE",
    "TINY_LM",
    "TINY_WORLD",
    "Claim",
    "Experiment",
    "ProbeRow",
    "RunConfig",
    "bound_check",
    "claims_by_id",
    "column",
    "finish_figure",
    "finite",
    "format_slope",
    "from_cells",
    "label_panels",
    "loglog_slope",
    "new_figure",
    "plot_hollow",
    "plot_signed",
    "plot_strips",
    "probe_rows",
    "pyplot",
    "row_fields",
    "save_figure",
    "select",
    "slope_label",
    "slope_consistent",
    "slopes_by",
    "to_cells",
    "values",
]
