"""``expm``, ``logm``, ``sqrtm`` and ``solve_sylvester``: primitives with Fréchet-derivative rules.

* ``expm`` and ``logm``: the Fréchet derivative ``L(A, E)`` is the top-right
  block of ``f([[A, E], [0, A]])`` (Higham, *Functions of Matrices*, 2008,
  Thm. 3.6; Al-Mohy & Higham, SIAM J. Matrix Anal. Appl. 30 (2009)). The
  reverse rule is ``L(A^T, G)`` (the adjoint of ``L(A, .)`` for a real
  analytic ``f``). Both are written with the primitive itself on the block
  matrix, so every order follows (each order doubles the matrix size).
* ``sqrtm``: ``X dX + dX X = dA``, a Sylvester equation solved with
  :func:`solve_sylvester` (differentiable), reverse rule with ``X^T``.
* ``solve_sylvester(a, b, q)``: ``X`` with ``A X + X B = Q``. Its tangent
  solves ``A dX + dX B = dQ - dA X - X dB``; the cotangent of ``Q`` is
  ``Qbar = solve_sylvester(A^T, B^T, G)``, of ``A`` ``-Qbar X^T``, of ``B``
  ``-X^T Qbar``.

Complex matrices follow JAX's convention (the functions are holomorphic; the
rules transpose, never conjugate). ``logm`` and ``sqrtm`` of a *real* matrix
whose result SciPy returns complex (eigenvalues on the closed negative real
axis, the branch cut) are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy
import scipy.linalg as sla

from ...extend import Primitive, broadcast_batch, defbatch, defcomplex, defjvp, defvjp, loop_rule
from ._common import mT, real_square

__all__ = ["expm", "logm", "solve_sylvester", "sqrtm"]


def _real_result(name: str, a: Any, x: Any) -> Any:
    """SciPy's result ``x`` for ``a``; a complex result of a real matrix is refused."""
    if np.iscomplexobj(x) and not np.iscomplexobj(a):
        if np.all(np.imag(x) == 0):
            return np.real(x)
        raise ValueError(
            f"{name}: the result of this real matrix is complex (it has eigenvalues on the closed "
            "negative real axis, the branch cut, where the principal function is not differentiable)."
        )
    return x


expm_p = Primitive("scipy.linalg.expm", lambda a: sla.expm(a))
logm_p = Primitive("scipy.linalg.logm", lambda a: _real_result("scipy.linalg.logm", a, sla.logm(a)))
sqrtm_p = Primitive("scipy.linalg.sqrtm", lambda a: _real_result("scipy.linalg.sqrtm", a, sla.sqrtm(a)))


def _block_frechet(prim: Primitive, a: Any, e: Any) -> Any:
    """``L_f(a, e)``: the top-right block of ``f([[a, e], [0, a]])``."""
    n = np.shape(a)[-1]
    zeros = np.zeros(np.broadcast_shapes(np.shape(a), np.shape(e)))
    top = np.concatenate([a + zeros, e + zeros], axis=-1)
    bottom = np.concatenate([zeros, a + zeros], axis=-1)
    return prim(np.concatenate([top, bottom], axis=-2))[..., :n, n:]


defvjp(expm_p, lambda ans, a: lambda g: _block_frechet(expm_p, mT(a), g))
defjvp(expm_p, lambda t, ans, a: _block_frechet(expm_p, a, t))
defvjp(logm_p, lambda ans, a: lambda g: _block_frechet(logm_p, mT(a), g))
defjvp(logm_p, lambda t, ans, a: _block_frechet(logm_p, a, t))


sylvester_p = Primitive("scipy.linalg.solve_sylvester", lambda a, b, q: sla.solve_sylvester(a, b, q))
# Holomorphic (analytic matrix functions, linear solves): the rules transpose and never conjugate.
defcomplex(expm_p, logm_p, sqrtm_p, sylvester_p)


def _sylvester_q_bar(ans: Any, a: Any, b: Any, g: Any) -> Any:
    return sylvester_p(mT(a), mT(b), g)


defvjp(
    sylvester_p,
    lambda ans, a, b, q: lambda g: -(_sylvester_q_bar(ans, a, b, g) @ mT(ans)),
    lambda ans, a, b, q: lambda g: -(mT(ans) @ _sylvester_q_bar(ans, a, b, g)),
    lambda ans, a, b, q: lambda g: _sylvester_q_bar(ans, a, b, g),
)
defjvp(
    sylvester_p,
    lambda t, ans, a, b, q: sylvester_p(a, b, -(t @ ans)),
    lambda t, ans, a, b, q: sylvester_p(a, b, -(ans @ t)),
    lambda t, ans, a, b, q: sylvester_p(a, b, t),
)

defvjp(sqrtm_p, lambda ans, a: lambda g: sylvester_p(mT(ans), mT(ans), g))
defjvp(sqrtm_p, lambda t, ans, a: sylvester_p(ans, ans, t))


# vmap: SciPy computes stacks of matrices itself (expm since 1.9; logm, sqrtm and
# solve_sylvester since 1.16, "batched linear operations"), so each primitive runs once on the
# stacked examples, shared arguments repeated; with an older SciPy, once per example.
_SCIPY_STACKS = tuple(int(part) for part in scipy.__version__.split(".")[:2]) >= (1, 16)


def _stacked_rule(
    size: int, prim: Primitive, values: list[Any], batched: list[bool], kwargs: dict[str, Any]
) -> Any:
    if prim is not expm_p and not _SCIPY_STACKS:
        return loop_rule(size, prim, values, batched, kwargs)
    return prim(*(broadcast_batch(v, b, size) for v, b in zip(values, batched)), **kwargs)


defbatch(expm_p, _stacked_rule, "leading axes")
for _prim in (logm_p, sqrtm_p, sylvester_p):
    defbatch(_prim, _stacked_rule, "leading axes" if _SCIPY_STACKS else "loop")


def expm(A: Any) -> Any:
    """The matrix exponential, as :func:`scipy.linalg.expm` (stacks of matrices too).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> a = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> cr.grad(lambda a: expm(a)[0, 0])(a).round(3).tolist()
    [[1.0, 0.0], [0.5, 0.0]]
    """
    real_square("chainrule.scipy.linalg.expm", A, complex_ok=True)
    return expm_p(A)


def logm(A: Any, disp: Any = None) -> Any:
    """The principal matrix logarithm, as :func:`scipy.linalg.logm` (real results of real matrices).

    ``disp`` is accepted for SciPy's signature and ignored (SciPy deprecates it).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> float(cr.grad(lambda a: np.trace(logm(a)))(2.0 * np.eye(2))[0, 0])
    0.5
    """
    real_square("chainrule.scipy.linalg.logm", A, complex_ok=True)
    return logm_p(A)


def sqrtm(A: Any, disp: Any = None, blocksize: Any = None) -> Any:
    """The principal matrix square root, as :func:`scipy.linalg.sqrtm` (real results of real matrices).

    ``disp`` and ``blocksize`` are accepted for SciPy's signature and ignored.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> float(cr.grad(lambda a: np.trace(sqrtm(a)))(4.0 * np.eye(2))[0, 0])
    0.25
    """
    real_square("chainrule.scipy.linalg.sqrtm", A, complex_ok=True)
    return sqrtm_p(A)


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """``X`` with ``a X + X b = q``, as :func:`scipy.linalg.solve_sylvester`.

    >>> import numpy as np
    >>> x = solve_sylvester(np.eye(2), np.eye(3), np.ones((2, 3)))
    >>> x.tolist()[0]
    [0.5, 0.5, 0.5]
    """
    real_square("chainrule.scipy.linalg.solve_sylvester (a)", a, complex_ok=True)
    real_square("chainrule.scipy.linalg.solve_sylvester (b)", b, complex_ok=True)
    m, n = np.shape(a)[-1], np.shape(b)[-1]
    if np.shape(q)[-2:] != (m, n):
        raise ValueError(
            f"chainrule.scipy.linalg.solve_sylvester: q must have shape {(m, n)} for a {(m, m)} and "
            f"b {(n, n)}, got {np.shape(q)}"
        )
    return sylvester_p(a, b, q)
