"""Complex numbers: rules of ``abs``, ``angle``, ``real``, ``imag``; which rules hold for complex values.

chainrule follows JAX's convention (see ``docs/guide/complex.md``). A forward rule
is the real-linear map ``t -> df`` of the tangent; a reverse rule is its
transpose for the pairing ``Re(sum(g * t))`` (no conjugate). So the reverse
rule of a holomorphic function is ``g * f'(z)``, the same expression as for
real numbers, and the rules written for real arguments stay right for
complex ones when the derivative they evaluate is the complex derivative.
``real``, ``imag``, ``conj``, ``abs`` and ``angle`` are not holomorphic and
have their own rules here:

==========  =======================  ============================
function    forward ``t ->``         reverse ``g ->``
==========  =======================  ============================
real(z)     ``Re t``                 ``g``
imag(z)     ``Im t``                 ``-i g``
conj(z)     ``conj t``               ``conj g``
abs(z)      ``Re(conj(z) t) / |z|``  ``g conj(z) / |z|``
angle(z)    ``Im(conj(z) t)/|z|^2``  ``-i g conj(z) / |z|^2``
==========  =======================  ============================

Subgradients at ``z = 0``: ``abs`` and ``angle`` get 0 (``|z|`` is replaced by
1 where it is 0, as for the real ``abs``, whose derivative at 0 is ``sign(0) =
0``). The real argument of a function returning complex values (``x * 1j``)
gets the real part of its cotangent; the engine does that for every primitive.

A primitive refuses complex values until :func:`~chainrule.extend.defcomplex`
declares it; the declarations at the end of this module list every rule that
has been checked with complex inputs (``tests/test_complex_rules.py`` checks
each one against finite differences in complex directions, and that no
primitive is declared without a test).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..extend import (
    CAST,
    GETITEM,
    RULED_PRIMITIVES,
    Primitive,
    defcomplex,
    defjvp,
    defvjp,
    primal,
    raw_array,
    register_function,
)

# Imported for their registrations: the primitives declared complex-capable below.
from . import cumulative, elementwise, indexing, joining, linalg, products, reductions, shape, updates  # noqa: F401

__all__ = ["COMPLEX_FUNCTIONS", "angle_p", "imag_p", "real_p"]


def _nonzero(r: Any) -> Any:
    """``r`` with zeros replaced by ones: the derivative of ``|z|`` at 0 is taken as 0."""
    return np.where(r == 0, 1.0, r).astype(np.result_type(r), copy=False)


# -- abs -------------------------------------------------------------------------------------------
def _abs_vjp(ans: Any, x: Any) -> Any:
    if np.iscomplexobj(x):
        d = np.conjugate(x) / _nonzero(ans)
        return lambda g: g * d
    s = np.sign(x)
    return lambda g: g * s


def _abs_jvp(t: Any, ans: Any, x: Any) -> Any:
    if np.iscomplexobj(x):
        return np.real(np.conjugate(x) * t) / _nonzero(ans)
    return t * np.sign(x)


defvjp(np.absolute, _abs_vjp)
defjvp(np.absolute, _abs_jvp)


# -- real and imag ---------------------------------------------------------------------------------
real_p = Primitive("numpy.real", np.real)
defvjp(real_p, lambda ans, z: lambda g: g)
defjvp(real_p, lambda t, ans, z: np.real(t))

imag_p = Primitive("numpy.imag", np.imag)
defvjp(imag_p, lambda ans, z: lambda g: -1j * g)
defjvp(imag_p, lambda t, ans, z: np.imag(t))


def _real(val: Any) -> Any:
    return real_p(val) if np.iscomplexobj(raw_array(val)) else val


def _imag(val: Any) -> Any:
    if np.iscomplexobj(raw_array(val)):
        return imag_p(val)
    return np.zeros(np.shape(val), dtype=raw_array(val).dtype)  # a constant: no derivative


register_function(np.real, _real)
register_function(np.imag, _imag)


# -- angle -----------------------------------------------------------------------------------------
def _angle_impl(z: Any) -> Any:
    return np.angle(z)


angle_p = Primitive("numpy.angle", _angle_impl)


def _angle_factor(z: Any) -> Any:
    """``-i conj(z) / |z|^2``: the reverse factor of ``angle`` (0 at 0)."""
    squared = np.real(z) ** 2 + np.imag(z) ** 2
    return -1j * np.conjugate(z) / _nonzero(squared)


defvjp(angle_p, lambda ans, z: (lambda d: lambda g: g * d)(_angle_factor(z)))
defjvp(angle_p, lambda t, ans, z: np.real(_angle_factor(z) * t))


def _angle(z: Any, deg: bool = False) -> Any:
    if not np.iscomplexobj(raw_array(z)):
        # 0 or pi by sign: piecewise constant, no derivative.
        return np.angle(primal(z), deg=deg)
    a = angle_p(z)
    return a * (180.0 / np.pi) if deg else a


register_function(np.angle, _angle)


# -- the primitives whose rules hold for complex values ----------------------------------------
COMPLEX_FUNCTIONS: list[Any] = [
    # holomorphic elementwise functions: the real rules evaluate f'(z)
    np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.positive,
    np.square, np.reciprocal, np.sqrt, np.power,
    np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p,
    np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan,
    np.sinh, np.cosh, np.tanh, np.arcsinh, np.arccosh, np.arctanh,
    # not holomorphic, with the rules above
    np.conjugate, np.absolute, real_p, imag_p, angle_p,
    # linear: the transpose is the same rearrangement, without conjugates
    GETITEM, CAST, "scatter_add", "chainrule.at.add", "chainrule.at.set",
    "numpy.reshape", "numpy.transpose", "numpy.broadcast_to", "numpy.concatenate", "numpy.stack",
    "numpy.flip", "numpy.roll", "numpy.pad", "numpy.diagonal", "numpy.tril", "numpy.triu",
    "diag_embed", "numpy.where", "shift", "include_initial",
    # reductions and products: holomorphic (multilinear, or a product of the entries)
    "numpy.sum", "numpy.mean", "numpy.prod", "numpy.cumsum", "numpy.cumprod",
    np.matmul, "numpy.einsum",
    # linear algebra of general (not Hermitian) matrices: holomorphic
    "numpy.linalg.inv", "numpy.linalg.solve", "numpy.linalg.det",
]  # fmt: skip


def _primitive(target: Any) -> Any:
    """A primitive named by its rules' name, or the ufunc/primitive itself."""
    if isinstance(target, str):
        for prim in RULED_PRIMITIVES:
            if prim.name == target:
                return prim
        raise LookupError(f"no primitive named {target!r} has rules")
    return target


defcomplex(*map(_primitive, COMPLEX_FUNCTIONS))
