"""The experiment kit: what every experiment is built from, built once.

The floor above `simulations.features` and below the experiment modules: the
`Experiment` contract and the fields every config shares (`RunConfig`),
claims as data (`Claim`), row schemas and selection (`select`, `column`),
the shared probe row and its bound check (`ProbeRow`, `bound_check`), log-log
slopes with a seed bootstrap, and one figure style (matplotlib imported on
first use). It never imports an experiment module or `simulations.runs`
(docs/design.md §3).
"""

from ._base import PROFILES, TINY_LM, TINY_WORLD, Experiment, RunConfig, check_distinct, check_slope_grid
from ._claims import FAIL, INCONCLUSIVE, PASS, VERDICTS, Claim, Verdict, claims_by_id, claims_title, overall
from ._plotting import (
    FAMILY_STYLE,
    LEGEND_BELOW,
    STYLE,
    VERDICT_COLOUR,
    WORDS,
    finish_figure,
    label_panels,
    layout_checks,
    new_figure,
    plot_hollow,
    plot_signed,
    plot_strips,
    pyplot,
    save_figure,
    slope_label,
    text_overlaps,
    words,
)
from ._probe_rows import ProbeRow, bound_check, bound_verdict, probe_rows
from ._rows import CELL_TYPES, column, finite, from_cells, row_fields, select, to_cells, values
from ._stats import (
    MIN_SLOPE_POINTS,
    MIN_SLOPE_SEEDS,
    format_slope,
    loglog_slope,
    rate_verdict,
    share_verdict,
    slope_consistent,
    slopes_by,
    threshold_verdict,
    wilson_interval,
)

__all__ = [
    "CELL_TYPES",
    "Claim",
    "Experiment",
    "FAIL",
    "FAMILY_STYLE",
    "INCONCLUSIVE",
    "LEGEND_BELOW",
    "MIN_SLOPE_POINTS",
    "MIN_SLOPE_SEEDS",
    "PASS",
    "PROFILES",
    "ProbeRow",
    "RunConfig",
    "STYLE",
    "TINY_LM",
    "TINY_WORLD",
    "VERDICTS",
    "Verdict",
    "bound_check",
    "bound_verdict",
    "check_distinct",
    "check_slope_grid",
    "claims_by_id",
    "claims_title",
    "column",
    "finish_figure",
    "finite",
    "format_slope",
    "from_cells",
    "VERDICT_COLOUR",
    "WORDS",
    "label_panels",
    "layout_checks",
    "loglog_slope",
    "new_figure",
    "overall",
    "plot_hollow",
    "plot_signed",
    "plot_strips",
    "probe_rows",
    "pyplot",
    "rate_verdict",
    "row_fields",
    "save_figure",
    "select",
    "slope_consistent",
    "slope_label",
    "slopes_by",
    "share_verdict",
    "threshold_verdict",
    "wilson_interval",
    "words",
    "text_overlaps",
    "to_cells",
    "values",
]
