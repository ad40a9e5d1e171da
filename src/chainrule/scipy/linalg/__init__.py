"""Differentiable ``scipy.linalg`` functions, with SciPy's signatures.

See :mod:`.matrix_functions` (``expm``, ``logm``, ``sqrtm``, ``solve_sylvester``)
and :mod:`.triangular` (``solve_triangular``, ``cho_factor``/``cho_solve``,
``lu_factor``/``lu_solve``, ``solve_banded``) for the rules. ``det`` and ``inv``
are NumPy's (whose rules chainrule has), with SciPy's signature.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule.scipy import linalg
>>> float(cr.grad(lambda a: linalg.det(a))(2.0 * np.eye(2))[0, 0])
2.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import real_square
from .matrix_functions import expm, logm, solve_sylvester, sqrtm
from .triangular import cho_factor, cho_solve, lu_factor, lu_solve, solve_banded, solve_triangular

__all__ = [
    "cho_factor",
    "cho_solve",
    "det",
    "expm",
    "inv",
    "logm",
    "lu_factor",
    "lu_solve",
    "solve_banded",
    "solve_sylvester",
    "solve_triangular",
    "sqrtm",
]


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The determinant, as :func:`scipy.linalg.det` (stacks of matrices too).

    >>> det(np.array([[1.0, 2.0], [3.0, 4.0]])).round(6)
    np.float64(-2.0)
    """
    real_square("chainrule.scipy.linalg.det", a)
    return np.linalg.det(a)


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The inverse, as :func:`scipy.linalg.inv` (stacks of matrices too).

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    real_square("chainrule.scipy.linalg.inv", a)
    return np.linalg.inv(a)
