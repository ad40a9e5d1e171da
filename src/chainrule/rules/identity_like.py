"""Functions equal on real values to the identity, or to it plus a piecewise-constant term.

``np.real_if_close(a)`` returns a real array unchanged (a complex one whose
imaginary parts are negligible becomes ``np.real(a)``, differentiated as such);
``np.unwrap(p)`` adds
multiples of the period where consecutive values jump by more than
``discont``. Both are written as ``a + constant``, so the derivative is the
identity in every mode and order. At a jump of ``unwrap`` (a difference of
exactly ``discont``) the added constant changes: the derivative given is that
of the branch NumPy chose.

>>> import numpy as np
>>> import chainrule as cr
>>> cr.grad(lambda p: np.sum(np.unwrap(p) ** 2))(np.array([0.0, 3.0, -3.0]))
array([0.        , 6.        , 6.56637061])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import UnsupportedOperationError, primal, refuse_complex, register_function


def _real_if_close(a: Any, tol: Any = 100) -> Any:
    # On complex values NumPy decides from the values: np.real where every imaginary part is
    # within tol machine epsilons of zero (its derivative is that of np.real), else the identity.
    value = primal(a)
    if np.iscomplexobj(value) and not np.iscomplexobj(np.real_if_close(value, tol=tol)):
        return np.real(a)
    return a


def _unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: Any = 2 * np.pi) -> Any:
    refuse_complex("numpy.unwrap", primal(p), primal(discont), primal(period))
    # The shift is a multiple of period chosen from the values; its derivative in period would
    # be that multiple, which this rule does not carry: a traced period is refused.
    if any(primal(v) is not v for v in (discont, period)):
        raise UnsupportedOperationError(
            "numpy.unwrap: a traced discont or period is not differentiated; pass them as "
            "constants (chainrule.primal(period)), or write the unwrapping with np.diff and np.round."
        )
    value = primal(p)
    shift = np.unwrap(value, discont=discont, axis=axis, period=period) - value
    return p + shift


register_function(np.real_if_close, _real_if_close)
register_function(np.unwrap, _unwrap)
