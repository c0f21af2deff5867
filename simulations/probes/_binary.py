"""Linear probes fitted on the exact population loss, each with a certified bound on its optimality gap.

Three classes (docs/design.md, "Task"; arXiv:2010.03648 §3-§5):

- the box ‖v‖_∞ <= B (the theorem's class for p_f features), `fit_probe(box=B)`;
- the polytope ‖Φᵀλ‖_∞ <= B (the class of tasks natural w.r.t. Φ, for Φp_f
  features), `fit_polytope_probe`;
- ridge on standardised features (what practitioners fit), `fit_probe(l2=...)`,
  and the unconstrained class (for f features), `fit_probe()`.

Every fit returns `gap`, an upper bound on objective(fit) − min objective
computed from the fit alone: a Frank–Wolfe gap over the constraint set plus a
bound for the free bias (box, polytope), or the strong-convexity bound (ridge).
The unconstrained class has no certificate (its infimum need not be attained;
`gap` is NaN): experiments only use it started from a comparator probe, so
its loss can only be below the comparator's. It is fitted on the directions
in which the features really vary (`RANK_RTOL`) by Newton's method, to a
gradient of 1e-12: features with an exact linear relation (a LayerNorm'd
f(s) sums to a constant) carry, across that relation, only the rounding of
the arithmetic that made them, and a probe free to weigh it fits that noise
(its weights grow without bound and its loss moves with the CPU).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import expit, logit

import theory

from ..core import row_chunks

#: A certified fit has gap <= this (in nats of population loss): below every violation tolerance
#: the experiments use (1e-7), and far below the smallest excess they read.
GAP_TOL = 1e-8
#: L-BFGS-B restarts from its own solution until the certificate holds, at most this often.
MAX_RESTARTS = 8
#: Ridge fits with at most this many features are finished by Newton steps (a k × k Hessian); unconstrained fits
#: of at most this many are solved by Newton's method.
NEWTON_MAX_DIM = 1000
#: The unconstrained class is fitted on the directions of the standardised, p_T-weighted features whose singular
#: value is above this share of the largest. Below it lie exact linear relations blurred by rounding: measured on
#: the sequence LMs' f(s) (float32, a LayerNorm last), one direction at 6e-8 to 8e-7 of the largest, the next at
#: 2e-2 or more.
RANK_RTOL = 1e-5
#: An unconstrained fit stops when every entry of its gradient is at most this, or when a Newton step would lower
#: the loss by at most `UNCONSTRAINED_DECREMENT` (half the Newton decrement, its distance to the minimum near it);
#: it is converged when the latter holds (1e-14 nats: rounding of the loss, far below every tolerance).
UNCONSTRAINED_GTOL = 1e-12
UNCONSTRAINED_DECREMENT = 1e-14


class ProbeFit(NamedTuple):
    """A fitted probe with its certificate.

    v: (k,) weights (λ for the polytope class), b: bias, loss: population ℓ_T
    (without the ℓ2 term), objective: loss + ℓ2 term, gap: certified upper
    bound on objective − its minimum over the class (NaN: no certificate),
    converged: gap <= GAP_TOL (or, uncertified, the gradient is below 1e-8),
    iterations: solver iterations.
    """

    v: np.ndarray
    b: float
    loss: float
    objective: float
    gap: float
    converged: bool
    iterations: int


def population_loss_and_grad(
    g: np.ndarray, p_T: np.ndarray, eta: np.ndarray, v: np.ndarray, b: float
) -> tuple[float, np.ndarray, float]:
    """ℓ_T(g, v, b) and its gradient in (v, b); exact weighted sums (float64)."""
    z = g @ v + b
    loss = np.sum(p_T * theory.context_loss(z, eta))
    r = p_T * (expit(z) - eta)
    return float(loss), g.T @ r, float(r.sum())


def _bias_radius(b: float, p_T: np.ndarray, eta: np.ndarray, margin_bound: float) -> float:
    """R with |b − b*| <= R for every optimum (v*, b*) whose margins satisfy |v*ᵀg(s)| <= margin_bound.

    The optimal bias solves Σ p_T(σ(v*ᵀg + b*) − η) = 0; σ is increasing, so
    σ(b* − M) <= η̄ <= σ(b* + M) with η̄ = Σ p_T η, i.e. |b* − logit η̄| <= M.
    """
    mean = float(np.sum(p_T * eta))
    if not 0.0 < mean < 1.0:
        return math.inf
    return abs(b - float(logit(mean))) + margin_bound


def _certificate(fw: float, grad_b: float, radius: float) -> float:
    """f(x) − f* <= FW gap over the constrained weights + |∂f/∂b|·|b − b*| (convexity).

    No certificate (inf) when the bias's radius is infinite (every label one class: the infimum is
    approached as b → ±∞ and never attained), even where the computed ∂f/∂b rounds to 0.
    """
    if math.isinf(radius):
        return math.inf
    tail = 0.0 if grad_b == 0.0 else abs(grad_b) * radius
    return max(fw, 0.0) + tail


class _Standardised(NamedTuple):
    """Features (g − m)/c with p_T-weighted mean m and std c (see `fit_probe`)."""

    gs: np.ndarray
    m: np.ndarray
    c: np.ndarray


def _standardise(g: np.ndarray, p_T: np.ndarray) -> _Standardised:
    m, c = _moments(g, p_T)
    return _Standardised((g - m) / c, m, c)


#: Rows of a feature matrix handled at once where a whole-matrix temporary would cost a copy of it.
CHUNK_ROWS = 512


def _moments(g: np.ndarray, p_T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The p_T-weighted mean m and standard deviation c of every feature (c = 1 where it is 0),
    with no temporary larger than `CHUNK_ROWS` rows of g."""
    m = p_T @ g
    sq = sum((p_T[r] @ np.square(g[r]) for r in row_chunks(g.shape[0], CHUNK_ROWS)), np.zeros(g.shape[1]))
    c = np.sqrt(np.maximum(sq - m * m, 0.0))
    return m, np.where(c > 1e-300, c, 1.0)


def _max_standardised_norm(g: np.ndarray, m: np.ndarray, c: np.ndarray) -> float:
    """max_s ‖(g(s) − m)/c‖₂, a row chunk at a time."""
    return max(float(np.linalg.norm((g[r] - m) / c, axis=1).max()) for r in row_chunks(g.shape[0], CHUNK_ROWS))


def _max_abs_row_sum(g: np.ndarray) -> float:
    """max_s Σ_j |g_j(s)|, a row chunk at a time."""
    return max(float(np.abs(g[r]).sum(1).max()) for r in row_chunks(g.shape[0], CHUNK_ROWS))


def _task_rows(features: ArrayLike, p_T: ArrayLike, eta: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked float64 (g, p_T, η) restricted to the task's contexts (p_T > 0)."""
    g = np.asarray(features, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != np.shape(p_T)[0] or g.shape[0] != np.shape(eta)[0]:
        raise ValueError(f"features must be (N, k) with N = len(p_T) = len(eta), got {g.shape}")
    p_T = np.asarray(p_T, dtype=np.float64)
    eta = np.asarray(eta, dtype=np.float64)
    live = p_T > 0
    if live.all():  # no copy: a full-vocabulary feature matrix may be most of the memory
        return g, p_T, eta
    return g[live], p_T[live], eta[live]


def fit_probe(
    features: ArrayLike,
    p_T: ArrayLike,
    eta: ArrayLike,
    *,
    box: float | None = None,
    l2: float = 0.0,
    init: tuple[ArrayLike, float] | None = None,
    max_iter: int = 20000,
) -> ProbeFit:
    r"""Fit a linear probe (v, b) on the exact population logistic loss, with its certificate.

    Minimises ℓ_T(g, v, b) + (l2/2)‖c ⊙ v‖₂² over v (with ‖v‖_∞ <= box when
    box is given, the theorem's class) and an unconstrained bias b, where
    ℓ_T(g, v, b) = Σ_s p_T(s)[η(s)ℓ(vᵀg(s)+b) + (1−η(s))ℓ(−vᵀg(s)−b)] uses the
    label probabilities, not samples (arXiv:2010.03648, §3).

    Solver: L-BFGS-B on standardised features (g_j − m_j)/c_j, with m_j and
    c_j the p_T-weighted mean and standard deviation of feature j, i.e. on
    coordinates u_j = c_j v_j and b' = b + mᵀv. A diagonal rescaling keeps
    the box a box, and centring only moves the free bias; together they
    even out the tiny, highly correlated entries of p_f features. The ridge
    acts on u, i.e. on standardised features, as practitioners use it
    (StandardScaler then LogisticRegression); the box acts on v. The solver
    restarts until the certificate (module docstring) is below `GAP_TOL`.

    Args:
      features: g, shape (N, k).  p_T: (N,) task weights.  eta: (N,) in [0, 1].
      box: B > 0 or None (unconstrained).  l2: ridge strength >= 0.
      init: optional (v, b) warm start (clipped into the box).

    Returns:
      A `ProbeFit`.

    Raises:
      ValueError: bad shapes or parameters.
    """
    if box is not None and not box > 0:
        raise ValueError(f"box must be > 0 or None, got {box}")
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    g, p_T, eta = _task_rows(features, p_T, eta)
    m, c = _moments(g, p_T)
    k = g.shape[1]

    def fun(x):  # z = gs·u + b' with gs = (g − m)/c, applied as g·(u/c) + (b' − m·(u/c)): gs is never formed
        u, b = x[:k], x[k]
        v = u / c
        loss, gv, gb = population_loss_and_grad(g, p_T, eta, v, b - m @ v)
        gu = (gv - m * gb) / c
        return loss + 0.5 * l2 * u @ u, np.append(gu + l2 * u, gb)

    if box is not None:  # |vᵀg(s)| <= B Σ_j |g_j(s)|
        margin = box * _max_abs_row_sum(g)
    elif l2 > 0:  # l2-strongly convex in u; ‖u*‖² <= 2 H(η̄)/l2 since the objective at u = 0 is <= H(η̄)
        margin = math.sqrt(2.0 * theory.trivial_loss(p_T, eta) / l2) * _max_standardised_norm(g, m, c)

    def certify(x, grad):
        u, b = x[:k], x[k]
        if box is not None:  # in the original coordinates v, b
            v = u / c
            _, gv, gb = population_loss_and_grad(g, p_T, eta, v, b - m @ v)
            fw = gv @ v + box * np.abs(gv).sum()
            return _certificate(fw, gb, _bias_radius(b - m @ v, p_T, eta, margin))
        if l2 > 0:
            return _certificate(float(grad[:k] @ grad[:k]) / (2.0 * l2), grad[k], _bias_radius(b, p_T, eta, margin))
        return math.nan

    def weights_gap(x, grad):
        """The certificate's part for the weights, from a gradient `fun` returned (no product with g): the
        solver stops once it is small, and `polish` then removes the bias's part."""
        if box is not None:
            v, gv = x[:k] / c, (grad[:k] - l2 * x[:k]) * c + m * grad[k]  # the loss gradient in v
            return max(float(gv @ v + box * np.abs(gv).sum()), 0.0)
        return float(grad[:k] @ grad[:k]) / (2.0 * l2) if l2 > 0 else math.nan

    def polish(x):
        """x with the free bias that minimises the objective for its weights (the margins' 1-D Newton)."""
        v = x[:k] / c
        return np.append(x[:k], _best_bias(g @ v - m @ v, float(x[k]), p_T, eta))

    if box is None and l2 == 0 and k <= NEWTON_MAX_DIM:
        return _fit_unconstrained(g, p_T, eta, m, c, init)
    x0 = np.zeros(k + 1)
    if init is not None:
        v0, b0 = init
        v0 = np.asarray(v0, dtype=np.float64)
        if box is not None:
            v0 = np.clip(v0, -box, box)
        x0 = np.append(v0 * c, float(b0) + m @ v0)
    certified = box is not None or l2 > 0
    x, obj, gap, iters = _lbfgsb(
        fun, certify, x0, _box_bounds(box, c), max_iter, weights_gap if certified else None, polish
    )
    if box is None and l2 > 0 and gap > GAP_TOL and k <= NEWTON_MAX_DIM:
        x, obj, gap, iters = _newton_polish((g - m) / c, p_T, eta, l2, x, certify, iters)
    v = x[:k] / c
    b = float(x[k] - m @ v)
    loss, gv, gb = population_loss_and_grad(g, p_T, eta, v, b)
    converged = gap <= GAP_TOL if not math.isnan(gap) else max(np.abs(gv).max(initial=0.0), abs(gb)) <= 1e-8
    return ProbeFit(v, b, loss, float(obj), gap, bool(converged), iters)


def _fit_unconstrained(g, p_T, eta, m, c, init, max_iter: int = 200) -> ProbeFit:
    """The unconstrained probe by damped Newton steps on the features' significant directions (`RANK_RTOL`).

    With gs = (g − m)/c standardised and weighted by √p_T, its SVD keeps the right singular vectors P (k × r)
    whose singular values exceed RANK_RTOL of the largest; the fit is z = h a + b' on h = gs P, and v = P a / c.
    Each step solves the Newton system of the population loss and halves it until the loss does not rise;
    the fit stops when a Newton step would gain at most `UNCONSTRAINED_DECREMENT` (converged), or when no step
    lowers the loss any more (then not converged: the infimum is not attained, the weights run off along a
    separating direction). Started from `init`, it never ends above that start's loss on the full features: a
    direction dropped as rounding may still carry information (two features apart by 1e-6 of their size), and
    then the start is returned, not converged.
    """
    gs = (g - m) / c
    _, sv, vt = np.linalg.svd(gs * np.sqrt(p_T)[:, None], full_matrices=False)
    basis = vt[sv > RANK_RTOL * sv[0]].T if sv.size and sv[0] > 0 else np.zeros((g.shape[1], 0))
    design = np.hstack([gs @ basis, np.ones((g.shape[0], 1))])
    x = np.zeros(design.shape[1])
    if init is not None:
        v0, b0 = np.asarray(init[0], dtype=np.float64), float(init[1])
        x = np.append(basis.T @ (v0 * c), b0 + m @ v0)

    def objective(x):
        return float(p_T @ theory.context_loss(design @ x, eta))

    obj, iters, decrement = objective(x), 0, math.inf
    for iters in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        sig = expit(design @ x)
        grad = design.T @ (p_T * (sig - eta))
        hess = design.T @ ((p_T * sig * (1.0 - sig))[:, None] * design)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        decrement = float(grad @ step) / 2  # what a Newton step would gain: the loss's distance to its minimum
        if np.abs(grad).max() <= UNCONSTRAINED_GTOL or decrement <= UNCONSTRAINED_DECREMENT:
            break
        for _ in range(60):  # halve until the loss does not rise (Newton's full step near the optimum)
            trial = x - step
            if (new := objective(trial)) <= obj:
                break
            step = step / 2
        else:
            break
        if np.array_equal(trial, x):
            break
        x, obj = trial, new
    v = basis @ x[:-1] / c
    b = float(x[-1] - m @ v)
    converged = bool(decrement <= UNCONSTRAINED_DECREMENT)
    if init is not None:  # a start the reduced directions cannot hold (information in a direction that varies by
        # less than RANK_RTOL of the largest): the fit never ends above it, and says it did not converge
        start = float(p_T @ theory.context_loss(g @ v0 + b0, eta))
        if start < obj:
            return ProbeFit(v0, b0, start, start, math.nan, False, iters)
    return ProbeFit(v, b, obj, obj, math.nan, converged, iters)


def _newton_polish(gs, p_T, eta, l2, x, certify, iters):
    """Newton steps on the (strongly convex) ridge objective from L-BFGS-B's point, until certified.

    Near the optimum the objective's rounding (~1e-16 of its size) stalls a
    line search on its values; Newton's quadratic convergence needs none.
    """
    k = gs.shape[1]
    design = np.hstack([gs, np.ones((gs.shape[0], 1))])

    def grad_hess(x):
        z = design @ x
        sig = expit(z)
        grad = design.T @ (p_T * (sig - eta))
        grad[:k] += l2 * x[:k]
        hess = design.T @ ((p_T * sig * (1 - sig))[:, None] * design)
        hess[np.arange(k), np.arange(k)] += l2
        return grad, hess

    gap = math.inf
    for _ in range(20):
        grad, hess = grad_hess(x)
        gap = certify(x, grad)
        if gap <= GAP_TOL / 100:
            break
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:  # saturated margins (σ(1 − σ) = 0 in float64) leave the bias's row empty:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]  # the least-norm Newton step
        x, iters = x - step, iters + 1
    z = design @ x
    obj = float(np.sum(p_T * theory.context_loss(z, eta)) + 0.5 * l2 * x[:k] @ x[:k])
    return x, obj, certify(x, grad_hess(x)[0]), iters


def _box_bounds(box, c):
    """(lo, hi) of the standardised coordinates: |v_j| <= box is |u_j| <= box·c_j; the bias is free."""
    if box is None:
        return None
    hi = np.append(box * c, np.inf)
    return -hi, hi


def _best_bias(z0: np.ndarray, b: float, p_T: np.ndarray, eta: np.ndarray, max_iter: int = 60) -> float:
    """argmin_b Σ p_T φ_η(z0 + b) from b: Newton's method on the convex 1-D loss, steps halved until
    |∂/∂b| decreases; stops when it no longer does (its rounding floor)."""
    grad = float(p_T @ (expit(z0 + b) - eta))
    for _ in range(max_iter):
        if grad == 0.0 or not math.isfinite(grad):
            break
        s = expit(z0 + b)
        step = grad / max(float(p_T @ (s * (1.0 - s))), 1e-300)
        for _ in range(64):  # halvings
            new = float(p_T @ (expit(z0 + b - step) - eta))
            if math.isfinite(step) and abs(new) < abs(grad):
                b, grad = b - step, new
                break
            step /= 2.0
        else:
            break
    return b


def _lbfgsb(fun, certify, x0, lohi, max_iter, early=None, polish=None):
    """L-BFGS-B with restarts until the certificate is below GAP_TOL: (x, objective, gap, iterations).

    early(x, grad): the certificate's part for the weights, from a gradient the solver already has; the
    solver stops once it is below GAP_TOL / 100 (instead of running until its line search stalls), and
    polish(x) then sets the free bias to its best value for those weights (so the bias's part of the
    certificate vanishes) before the certificate is computed afresh.
    """
    bounds = None
    if lohi is not None:
        bounds = [(a, b) if np.isfinite(b) else (None, None) for a, b in zip(*lohi, strict=True)]
    x, iters, gap, obj = x0, 0, math.inf, math.nan
    last = {}  # the latest point the solver evaluated, and its gradient

    def tracked(x):
        obj, grad = fun(x)
        last.update(x=x.copy(), grad=grad)
        return obj, grad

    def stop(intermediate_result):
        y = intermediate_result.x
        if "x" in last and np.array_equal(y, last["x"]) and early(y, last["grad"]) <= GAP_TOL / 100:
            raise StopIteration

    # L-BFGS-B may stop on its relative-decrease test before the certificate holds; a restart (fresh
    # curvature memory) then continues from where it stopped.
    for _ in range(MAX_RESTARTS):
        options = dict(maxiter=max_iter, maxfun=2 * max_iter, ftol=0.0, gtol=1e-14, maxcor=30)
        res = minimize(tracked, x, jac=True, method="L-BFGS-B", bounds=bounds, options=options,
                       callback=stop if early is not None else None)  # fmt: skip
        x, iters = res.x, iters + int(res.nit)
        if polish is not None:
            x = polish(x)
        obj, grad = fun(x)
        gap = certify(x, grad)
        if not gap > GAP_TOL:  # certified, or no certificate (NaN) for the unconstrained class
            break
    return x, obj, gap, iters
