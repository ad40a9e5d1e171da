"""Every rule table of the rule tests, staged by chainrule.jit: value, VJP and JVP equal the eager calls.

The tables are the rule tests' own (imported from their modules), checked
with :func:`chainrule.check.check_rule_jit` on the same shape tables and
domains as :func:`chainrule.check.check_rule`.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.check import check_rule_jit
from test_elementwise import BINARY, UNARY
from test_indexing import INDICES
from test_jit import CASES as JIT_FAMILIES
from test_linalg import DIAG_CASES, DOT_SHAPES, EINSUM_CASES, MATMUL_SHAPES
from test_reductions import REDUCTIONS
from test_shape import CASES as SHAPE_CASES
from test_shape import SORT_CASES


def _ids(table):
    return [getattr(row[0], "__name__", None) or str(row[0]) for row in table]


@pytest.mark.parametrize(("fun", "domain"), UNARY, ids=_ids(UNARY))
def test_unary_elementwise(fun, domain) -> None:
    check_rule_jit(fun, domain=domain, nargs=1)


@pytest.mark.parametrize(("fun", "dx", "dy"), BINARY, ids=_ids(BINARY))
def test_binary_elementwise_with_broadcasting(fun, dx, dy) -> None:
    check_rule_jit(fun, domain=(dx, dy))


def test_scipy_special() -> None:
    pytest.importorskip("scipy", reason="SciPy's rules exist only where SciPy is installed")
    from test_special import BINARY as SP_BINARY
    from test_special import UNARY as SP_UNARY

    for fun, domain in SP_UNARY:
        check_rule_jit(fun, domain=domain, nargs=1, shapes=[(4,)])
    for fun, dx, dy in SP_BINARY:
        check_rule_jit(fun, domain=(dx, dy), shapes=[((2, 3), (3,))])


def _distinct(rng, case):
    # Well-separated values: sorting and max/min have no ties.
    return [(rng.permutation(int(np.prod(s))) * 0.5 + 0.1).reshape(s) for s in case]


@pytest.mark.parametrize(("name", "fun", "shapes"), SHAPE_CASES + SORT_CASES, ids=_ids([
    (c[0],) for c in SHAPE_CASES + SORT_CASES
]))  # fmt: skip
def test_shape_and_sorting(name, fun, shapes) -> None:
    check_rule_jit(fun, nargs=len(shapes), shapes=[tuple(shapes)], args_factory=_distinct)


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions(name) -> None:
    f, _ = REDUCTIONS[name]
    for axis in (None, 0, (0, 2)):
        for keepdims in (False, True):
            check_rule_jit(
                lambda a, axis=axis, keepdims=keepdims: f(a, axis, keepdims),
                nargs=1, shapes=[(2, 3, 4)], args_factory=_distinct,
            )  # fmt: skip


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES, ids=str)
def test_matmul(sa, sb) -> None:
    check_rule_jit(np.matmul, shapes=[(sa, sb)])


@pytest.mark.parametrize(("sa", "sb"), DOT_SHAPES, ids=str)
def test_dot(sa, sb) -> None:
    check_rule_jit(np.dot, nargs=2, shapes=[(sa, sb)])


@pytest.mark.parametrize(("subscripts", "shapes"), EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum(subscripts, shapes) -> None:
    check_rule_jit(lambda *ops: np.einsum(subscripts, *ops), nargs=len(shapes), shapes=[tuple(shapes)])


@pytest.mark.parametrize(("fun", "shape"), DIAG_CASES, ids=[str(c[1]) for c in DIAG_CASES])
def test_diagonals(fun, shape) -> None:
    check_rule_jit(fun, nargs=1, shapes=[shape])


@pytest.mark.parametrize(("name", "index"), INDICES, ids=[c[0] for c in INDICES])
def test_indexing(name, index) -> None:
    check_rule_jit(lambda x: x[index], nargs=1, shapes=[(3, 4, 5)])


@pytest.mark.parametrize(("name", "f", "make"), JIT_FAMILIES, ids=[c[0] for c in JIT_FAMILIES])
def test_rule_families(name, f, make) -> None:
    args = make()
    check_rule_jit(
        f, nargs=len(args), shapes=[tuple(np.shape(a) for a in args)],
        args_factory=lambda rng, case: make(),
    )  # fmt: skip


def test_check_rule_jit_fails_on_a_function_jit_cannot_stage_faithfully() -> None:
    counter = [0]

    def drifting(x):
        counter[0] += 1  # outside state, frozen in the staged code at its staging value
        return x * float(counter[0])

    with pytest.raises(AssertionError, match=r"check_rule_jit\(.*drifting\): value at shapes"):
        check_rule_jit(drifting, nargs=1, shapes=[(3,)])


def test_complex_values_are_staged_like_real_ones() -> None:
    import chainrule as cr

    f = lambda z: np.sum(np.abs(np.sin(z) * z) ** 2)
    jg = cr.jit(cr.grad(f))
    rng = np.random.default_rng(3)
    for n in (3, 3, 50_000):  # small twice (the staged code runs), then large (buffers)
        z = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        g = jg(z)
        assert g.dtype == np.complex128
        np.testing.assert_allclose(g, cr.grad(f)(z), rtol=1e-13)
