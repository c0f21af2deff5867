"""The prompt against its controls: what both sequence experiments decide their prompt claims on.

A suffix is "none", "prompt", or a control of the prompt ("order: …", another order of its words; "random: …",
words of its length drawn by frequency; `simulations.worlds.suffixes`). The task's labels are the bare
document's for every suffix, so a suffix's gain, the loss without a suffix minus the loss with it, is what the
suffix lets a probe read, never a change of labels. The prompt helps when it gains at least the margin and
beats the best of its controls by the margin too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ...worlds import suffix_kind

#: The kinds of suffix that are controls of the prompt.
CONTROL_KINDS = ("order", "random")


def suffix_names(names: Iterable[str]) -> list[str]:
    """Distinct suffix names: "none", "prompt", then the controls in the order they first appear."""
    seen = list(dict.fromkeys(names))
    return [s for s in ("none", "prompt") if s in seen] + [s for s in seen if s not in ("none", "prompt")]


def prompt_against_controls(gains: dict[str, float], margin: float) -> dict:
    """The prompt's gain beside its best control's (`gains`: suffix -> loss(none) − loss(suffix)).

    Returns prompt (its gain), best_control (the control that gains most; "" without one), best_control_gain,
    beats_best_by (the prompt's gain less the best control's), controls (how many), margin, and helps: the
    prompt gains at least `margin` and beats the best control by at least `margin`.
    """
    controls = {s: g for s, g in gains.items() if suffix_kind(s) in CONTROL_KINDS}
    best = max(controls, key=lambda s: controls[s], default="")
    prompt = gains.get("prompt", math.nan)
    best_gain = controls[best] if best else math.nan
    beat = prompt - best_gain if best else math.nan
    return dict(prompt=prompt, best_control=best, best_control_gain=best_gain, beats_best_by=beat,
                controls=len(controls), margin=margin, helps=bool(prompt >= margin and beat >= margin))  # fmt: skip
