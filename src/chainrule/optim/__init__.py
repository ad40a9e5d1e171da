"""Optimizers: consumers of gradients, whatever computed them.

Backprop (:func:`chainrule.grad`) computes a gradient; an optimizer turns it
into a step. The two are separate here: every optimizer takes a gradient tree
and never asks where it came from (backprop, finite differences, a formula).

- Gradient transformations, optax-style: ``opt = adam(1e-3)``,
  ``state = opt.init(params)``, ``updates, state = opt.update(grads, state, params)``,
  ``params = apply_updates(params, updates)``. **Updates are ADDED** to the
  parameters; descent optimizers return updates that already point downhill.
- :func:`lbfgs`: L-BFGS with a strong Wolfe line search.
- :func:`minimize`: the loop, with ``gradient="backprop" | "numerical" | callable``.
- :func:`minimize_scipy`: ``scipy.optimize.minimize`` on pytrees with exact
  gradients and Hessian-vector products.
- :mod:`chainrule.optim.loops`: HIPS autograd's loops, ``adam(grad, x0, callback,
  num_iters, step_size)``, ``sgd`` and ``rmsprop``, for code ported from autograd.

Examples
--------
>>> import numpy as np
>>> from chainrule.optim import minimize, minimize_scipy, momentum
>>> rosen = lambda x: (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2
>>> res = minimize(rosen, np.array([-1.2, 1.0]))  # L-BFGS
>>> res.success, np.round(res.x, 5)
(True, array([1., 1.]))
>>> res = minimize_scipy(rosen, np.array([-1.2, 1.0]), method="trust-ncg")
>>> res.success, np.round(res.x, 5)
(True, array([1., 1.]))
"""

from . import loops
from .aliases import adagrad, adam, adamw, lion, momentum, nesterov, rmsprop, sgd
from .base import (
    EmptyState,
    GradientTransformation,
    LineSearchTransformation,
    apply_updates,
    chain,
    tree_global_norm,
)
from .linesearch import LineSearchResult, strong_wolfe
from .minimization import minimize
from .quasi_newton import LbfgsState, lbfgs
from .result import History, OptimizeResult
from .schedules import (
    Schedule,
    constant_schedule,
    cosine_decay_schedule,
    exponential_decay_schedule,
    join_schedules,
    linear_schedule,
    piecewise_constant_schedule,
    step_decay_schedule,
    warmup_cosine_decay_schedule,
)
from .scipy_bridge import minimize_scipy
from .transforms import (
    AdamState,
    LionState,
    RmsState,
    RssState,
    ScheduleState,
    TraceState,
    add_decayed_weights,
    clip,
    clip_by_global_norm,
    identity,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_momentum,
    scale_by_rms,
    scale_by_rss,
    trace,
)

__all__ = [
    "AdamState",
    "EmptyState",
    "GradientTransformation",
    "History",
    "LbfgsState",
    "LineSearchResult",
    "LineSearchTransformation",
    "LionState",
    "OptimizeResult",
    "RmsState",
    "RssState",
    "Schedule",
    "ScheduleState",
    "TraceState",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_updates",
    "chain",
    "clip",
    "clip_by_global_norm",
    "constant_schedule",
    "cosine_decay_schedule",
    "exponential_decay_schedule",
    "identity",
    "join_schedules",
    "lbfgs",
    "linear_schedule",
    "loops",
    "lion",
    "minimize",
    "minimize_scipy",
    "momentum",
    "nesterov",
    "piecewise_constant_schedule",
    "rmsprop",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_rms",
    "scale_by_rss",
    "sgd",
    "step_decay_schedule",
    "strong_wolfe",
    "scale_by_momentum",
    "trace",
    "tree_global_norm",
    "warmup_cosine_decay_schedule",
]
