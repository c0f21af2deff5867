"""The prompt against its controls: what both sequence experiments decide their prompt claims on.

A suffix is "none", "prompt", or a control of the prompt ("order: …", another order of its words; "random: …",
words of its length drawn by frequency; `simulations.worlds.suffixes`). The task's labels are the bare
document's for every suffix, so a suffix's gain, the loss without a suffix minus the loss with it (in one seed,
one world), is what the suffix lets a probe read, never a change of labels. The prompt helps when it gains at
least the margin and beats the best control of each world by the margin too, on average over the worlds.
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


def prompt_against_controls(losses: dict[int, dict[str, float]], margin: float) -> dict:
    """The prompt's gain beside its best control's, seed by seed (`losses`: seed -> suffix -> the probe's loss).

    Each seed is a world with its own controls (random words are drawn per world), so every gain is a seed's:
    loss(none) − loss(suffix) in that seed, and the prompt is compared with the best control of the same seed.

    Returns gains (suffix -> mean gain over the seeds that have it), prompt (the prompt's mean gain),
    beats_best_by (the mean over seeds of the prompt's gain less that seed's best control's), worst_seed_beat
    (the smallest of those), best_control and best_control_gain (the control that gained most in its seed, and
    that gain), controls (how many per seed, at most), margin, and helps: the prompt gains at least `margin` and
    beats the best control by at least `margin`, on average over the seeds.
    """
    gains: dict[str, list[float]] = {}
    beats: list[float] = []
    best, best_gain, controls = "", math.nan, 0
    for by_suffix in losses.values():
        if "none" not in by_suffix:
            continue
        seed_gains = {k: by_suffix["none"] - v for k, v in by_suffix.items() if k != "none"}
        for k, g in seed_gains.items():
            gains.setdefault(k, []).append(g)
        ctrl = {k: g for k, g in seed_gains.items() if suffix_kind(k) in CONTROL_KINDS}
        controls = max(controls, len(ctrl))
        if "prompt" in seed_gains and ctrl:
            top = max(ctrl, key=lambda k: ctrl[k])
            beats.append(seed_gains["prompt"] - ctrl[top])
            if not ctrl[top] <= best_gain:  # NaN at first
                best, best_gain = top, ctrl[top]
    mean = {k: float(sum(v) / len(v)) for k, v in gains.items()}
    prompt = mean.get("prompt", math.nan)
    beat = float(sum(beats) / len(beats)) if beats else math.nan
    return dict(gains=mean, prompt=prompt, best_control=best, best_control_gain=best_gain, beats_best_by=beat,
                worst_seed_beat=min(beats, default=math.nan), controls=controls, margin=margin,
                helps=bool(prompt >= margin and beat >= margin))  # fmt: skip
