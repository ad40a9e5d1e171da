"""check_rule: passes correct rules over its shape table, fails broken ones by name."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import check_rule


def _mul_primitive(name, *, broadcasts=True, vjp_x=None, jvp_y=None):
    """x * y as a Primitive; the optional arguments replace one rule by a broken one."""
    prim = cr.Primitive(name, np.multiply, broadcasts=broadcasts)
    cr.defvjp(
        prim,
        vjp_x or (lambda ans, x, y: lambda g: g * y),
        lambda ans, x, y: lambda g: g * x,
    )
    cr.defjvp(prim, lambda t, ans, x, y: t * y, jvp_y or (lambda t, ans, x, y: t * x))
    return prim


def test_passes_on_numpy_sin():
    check_rule(np.sin, domain=(-3.0, 3.0))


def test_passes_on_numpy_hypot():
    check_rule(np.hypot, domain=((0.5, 2.0), (-2.0, -0.5)))


def test_passes_on_a_correct_primitive():
    check_rule(_mul_primitive("good_mul"), nargs=2)


def test_passes_on_a_unary_primitive_and_its_shape_table():
    seen = []

    def impl(x):
        seen.append(np.shape(x))
        return np.exp(x) * x

    prim = cr.Primitive("xexp", impl)
    cr.defvjp(prim, lambda ans, x: lambda g: g * (ans + np.exp(x)))
    cr.defjvp(prim, lambda t, ans, x: t * (ans + np.exp(x)))
    check_rule(prim, nargs=1)
    assert set(seen) == {(), (4,), (2, 3)}


def test_broadcasting_pairs_are_exercised():
    seen = []

    def impl(x, y):
        seen.append((np.shape(x), np.shape(y)))
        return x * y

    check_rule(_mul_primitive("recording_mul", broadcasts=True), nargs=2)
    prim = cr.Primitive("recording_mul2", impl, broadcasts=True)
    cr.defvjp(prim, lambda ans, x, y: lambda g: g * y, lambda ans, x, y: lambda g: g * x)
    cr.defjvp(prim, lambda t, ans, x, y: t * y, lambda t, ans, x, y: t * x)
    check_rule(prim, nargs=2)
    for pair in [((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2))]:
        assert pair in seen


def test_fails_on_a_broken_reverse_rule():
    broken = _mul_primitive("mul_with_sign_flip", vjp_x=lambda ans, x, y: lambda g: -g * y)
    with pytest.raises(AssertionError, match=r"check_rule\(mul_with_sign_flip\).*order-1 rev-mode.*shapes"):
        check_rule(broken, nargs=2)


def test_fails_on_a_broken_forward_rule():
    broken = _mul_primitive("mul_with_twice_the_tangent", jvp_y=lambda t, ans, x, y: 2.0 * t * x)
    with pytest.raises(AssertionError, match=r"check_rule\(mul_with_twice_the_tangent\).*fwd-mode"):
        check_rule(broken, nargs=2)
    # reverse only: the broken forward rule is not exercised
    check_rule(broken, nargs=2, modes=("rev",))


def test_fails_on_a_rule_that_forgets_broadcasting():
    # np.multiply broadcasts, but the Primitive is declared without broadcasts=True,
    # so the engine does not sum the cotangents back to the arguments' shapes.
    forgetful = _mul_primitive("mul_without_unbroadcast", broadcasts=False)
    with pytest.raises(AssertionError, match=r"check_rule\(mul_without_unbroadcast\).*shapes") as info:
        check_rule(forgetful, nargs=2)
    assert "broadcast" in str(info.value)
    # on equal shapes alone the rules are right
    check_rule(forgetful, shapes=[((3,), (3,)), ((2, 3), (2, 3))])


def test_fails_on_a_wrong_second_order():
    # first derivative right, but written with primal(): its own derivative is lost
    prim = cr.Primitive("cube_flat_second_order", lambda x: x**3)
    cr.defvjp(prim, lambda ans, x: lambda g: g * 3.0 * cr.primal(x) ** 2)
    cr.defjvp(prim, lambda t, ans, x: t * 3.0 * x**2)
    check_rule(prim, nargs=1, orders=(1,))
    with pytest.raises(AssertionError, match=r"check_rule\(cube_flat_second_order\): order-2 rev-over-rev"):
        check_rule(prim, nargs=1)


def test_message_names_a_plain_function():
    def bad_sin(x):
        return np.sin(x) + cr.stop_gradient(x)

    with pytest.raises(AssertionError, match=r"check_rule\(.*bad_sin\).*order-1 rev-mode"):
        check_rule(bad_sin, nargs=1)


def test_kwargs_args_factory_and_domains_per_argument():
    def factory(rng, shapes):
        (shape,) = shapes
        return [rng.uniform(1.0, 2.0, shape)]

    check_rule(np.sum, nargs=1, kwargs={"axis": -1}, shapes=[(3,), (2, 3)], args_factory=factory)
    check_rule(np.divide, domain=[(-2.0, 2.0), (0.5, 2.0)], orders=(1,))


def test_needs_nargs_for_a_primitive():
    prim = cr.Primitive("anon", lambda x: np.sin(x))
    with pytest.raises(TypeError, match="nargs"):
        check_rule(prim)


def test_refuses_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        check_rule(np.sin, modes=("backward",))
