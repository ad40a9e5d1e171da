"""The engine's contract: transforms, pytrees, dtypes, nesting, and refusals with clear errors."""

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import chainrule as cr

Pair = namedtuple("Pair", "w b")


def test_grad_of_simple_composition_matches_hand_derivative():
    x = np.array([0.3, -1.2, 2.0])
    g = cr.grad(lambda x: np.sum(np.sin(x) * x))(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-14)


def test_value_and_grad_returns_value_too():
    x = np.array([1.0, 2.0])
    value, g = cr.value_and_grad(lambda x: np.sum(x**3))(x)
    assert value == pytest.approx(9.0)
    np.testing.assert_allclose(g, 3 * x**2)


def test_argnums_tuple_and_negative():
    f = lambda a, b, c: np.sum(a * b + c**2)
    a, b, c = np.ones(2), np.full(2, 3.0), np.full(2, 5.0)
    ga, gc = cr.grad(f, argnums=(0, 2))(a, b, c)
    np.testing.assert_allclose(ga, b)
    np.testing.assert_allclose(gc, 2 * c)
    np.testing.assert_allclose(cr.grad(f, argnums=-2)(a, b, c), a)


def test_argnums_out_of_range_is_named():
    with pytest.raises(ValueError, match="argnums=3"):
        cr.grad(lambda a: np.sum(a), argnums=3)(np.ones(2))


def test_has_aux_passes_aux_through_untraced():
    def f(x):
        y = x * 2.0
        return np.sum(y), {"y": y}

    g, aux = cr.grad(f, has_aux=True)(np.ones(3))
    np.testing.assert_allclose(g, 2.0)
    assert type(aux["y"]) is np.ndarray
    (value, aux2), _ = cr.value_and_grad(f, has_aux=True)(np.ones(3))
    assert value == pytest.approx(6.0)
    np.testing.assert_allclose(aux2["y"], 2.0)


def test_gradient_has_exact_tree_structure_shapes_and_dtypes():
    params = {
        "dense": Pair(np.ones((2, 3), np.float32), np.zeros(3, np.float32)),
        "extra": [np.float64(2.0), None, (np.ones(2),)],
        "nothing": None,
    }

    def loss(p):
        h = np.tanh(np.ones((4, 2), np.float32) @ p["dense"].w + p["dense"].b)
        return np.sum(h) * p["extra"][0] + np.sum(p["extra"][2][0] ** 2)

    g = cr.grad(loss)(params)
    assert cr.tree_flatten(g)[1] == cr.tree_flatten(params)[1]
    assert isinstance(g["dense"], Pair)
    assert g["nothing"] is None and g["extra"][1] is None
    assert g["dense"].w.dtype == np.float32 and g["dense"].w.shape == (2, 3)
    assert g["dense"].b.dtype == np.float32
    np.testing.assert_allclose(g["extra"][2][0], 2.0)


def test_ordered_dict_and_python_floats():
    g = cr.grad(lambda p: p["a"] * p["b"] ** 2)(OrderedDict(a=2.0, b=3.0))
    assert isinstance(g, OrderedDict) and list(g) == ["a", "b"]
    assert float(g["a"]) == 9.0 and float(g["b"]) == 12.0


def test_float32_stays_float32_even_when_mixed_with_float64():
    x = np.ones(3, np.float32)
    g = cr.grad(lambda x: np.sum(x * np.arange(3.0)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [0, 1, 2])


def test_unused_argument_gets_zero_gradient_of_its_shape():
    g = cr.grad(lambda x, y: np.sum(y), argnums=(0, 1))(np.ones((2, 2)), np.ones(3))
    np.testing.assert_array_equal(g[0], np.zeros((2, 2)))


@pytest.mark.parametrize("order", [2, 3, 4])
def test_higher_order_derivatives_of_power(order):
    f = lambda x: x**5
    for _ in range(order):
        f = cr.grad(f)
    expected = {2: 20 * 2.0**3, 3: 60 * 2.0**2, 4: 120 * 2.0}[order]
    assert float(f(2.0)) == pytest.approx(expected)


def test_perturbation_confusion_is_avoided():
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1; confusing the two gives 2.
    f = lambda x: x * cr.grad(lambda y: x + y)(1.0)
    assert float(cr.grad(f)(1.0)) == 1.0
    # The same with the inner derivative taken with respect to a closure's own argument.
    g = lambda x: cr.grad(lambda y: x * y)(2.0)  # = x
    assert float(cr.grad(g)(3.0)) == 1.0


def test_two_grads_of_the_same_function_in_one_expression():
    f = lambda x: np.sin(x) * x
    df = cr.grad(f)
    h = lambda x: df(x) * df(2.0 * x)
    x = 0.7
    d = lambda x: np.cos(x) * x + np.sin(x)
    d2 = lambda x: -np.sin(x) * x + 2 * np.cos(x)
    expected = d2(x) * d(2 * x) + d(x) * 2 * d2(2 * x)
    assert float(cr.grad(h)(x)) == pytest.approx(expected, rel=1e-12)


def test_closure_capturing_traced_value_inside_inner_grad():
    def outer(a):
        inner = lambda b: np.sum(a * b**2)  # captures the outer traced a
        return np.sum(cr.grad(inner)(np.array([1.0, 2.0])) * a)  # = sum(2 a^2 b)

    a = np.array([0.5, -1.0])
    np.testing.assert_allclose(cr.grad(outer)(a), 4 * a * np.array([1.0, 2.0]))


def test_vjp_can_be_called_many_times():
    out, vjp_fn = cr.vjp(lambda x, y: x * y, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(out, [3.0, 8.0])
    for u in (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([2.0, 2.0])):
        gx, gy = vjp_fn(u)
        np.testing.assert_allclose(gx, u * [3.0, 4.0])
        np.testing.assert_allclose(gy, u * [1.0, 2.0])


def test_vjp_rejects_cotangent_of_wrong_shape_or_structure():
    _, vjp_fn = cr.vjp(lambda x: (x, 2 * x), np.ones(2))
    with pytest.raises(ValueError, match="structure"):
        vjp_fn(np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        vjp_fn((np.ones(3), np.ones(2)))


def test_jvp_matches_vjp_transpose():
    rng = np.random.default_rng(1)
    x, v, u = rng.standard_normal((3, 4))
    f = lambda x: np.exp(np.sin(x) * x)
    _, t = cr.jvp(f, (x,), (v,))
    (ct,) = cr.vjp(f, x)[1](u)
    assert np.dot(u, t) == pytest.approx(np.dot(ct, v), rel=1e-12)


# -- where and kinks: finite, documented answers -----------------------------------------------
def test_where_sqrt_branch_not_selected_gives_finite_gradient():
    x = np.array([-1.0, 0.0, 4.0])
    with np.errstate(invalid="ignore"):
        g = cr.grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0)))(x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.25])


def test_where_sinc_like_at_zero_is_finite_and_correct():
    x = np.array([0.0, 0.5])
    with np.errstate(invalid="ignore"):
        g = cr.grad(lambda x: np.sum(np.where(x != 0, np.sin(x) / x, 1.0)))(x)
    assert g[0] == 0.0
    assert g[1] == pytest.approx((np.cos(0.5) * 0.5 - np.sin(0.5)) / 0.25)


def test_sqrt_at_zero_is_inf_only_when_really_differentiated():
    assert cr.grad(np.sqrt)(0.0) == np.inf
    assert cr.grad(lambda x: 0.0 * np.sqrt(x) + x)(0.0) == 1.0


def test_documented_subgradients_at_kinks():
    assert cr.grad(np.abs)(0.0) == 0.0
    g = cr.grad(lambda x, y: np.maximum(x, y), argnums=(0, 1))(1.0, 1.0)
    assert (float(g[0]), float(g[1])) == (0.5, 0.5)
    g = cr.grad(lambda x: np.sum(np.clip(x, -1.0, 1.0)))(np.array([-1.0, 0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0, 0.0])


# -- refusals --------------------------------------------------------------------------------
def test_nonscalar_output_names_shape_and_alternatives():
    with pytest.raises(cr.NonScalarOutputError, match=r"shape \(2,\).*vjp.*jacobian"):
        cr.grad(lambda x: x * 2)(np.ones(2))


@pytest.mark.parametrize("arg", [3, True, np.arange(3), np.ones(2, bool), np.ones(2, "U1")])
def test_non_float_arguments_are_refused_by_name(arg):
    def f(weights):
        return np.sum(weights * 1.0)

    with pytest.raises(TypeError, match="argument 0 \\('weights'\\)"):
        cr.grad(f)(arg)


def test_non_float_leaf_inside_tree_names_its_path():
    with pytest.raises(TypeError, match=r"\['layers'\]\[1\]"):
        cr.grad(lambda p: np.sum(p["layers"][0]))({"layers": [np.ones(2), np.arange(2)]})


def test_function_without_rule_is_named():
    with pytest.raises(cr.UnsupportedOperationError, match=r"numpy\.insert.*chainrule\.defvjp"):
        cr.grad(lambda x: np.sum(np.insert(x, 1, 0.0)))(np.ones(4))


def test_ufunc_without_rule_is_named():
    with pytest.raises(cr.UnsupportedOperationError, match=r"numpy\.spacing|numpy\.ldexp"):
        cr.grad(lambda x: np.sum(np.ldexp(x, 2)))(np.ones(2))


@pytest.mark.parametrize(
    "conversion",
    [
        lambda x: np.sum(np.asarray(x)),
        lambda x: float(x[0]),
        lambda x: sum(x.tolist()),
        lambda x: x[0].item(),
        lambda x: np.sum(np.array([x[0], x[1]])),
    ],
)
def test_conversions_that_would_drop_the_trace_raise(conversion):
    # (int(x) has a message of its own: tests/test_integer_conversion.py)
    with pytest.raises(cr.TracerConversionError, match="np.stack"):
        cr.grad(conversion)(np.array([1.0, 2.0]))


def test_writing_traced_value_into_plain_array_raises_with_alternative():
    def f(x):
        y = np.zeros(3)
        y[0] = x[0]
        return np.sum(y)

    # NumPy re-raises any failure of float() in y[i] = x as "setting an array element with
    # a sequence", chaining chainrule's error as the direct cause shown in the traceback.
    with pytest.raises((cr.TracerConversionError, ValueError)) as info:
        cr.grad(f)(np.array([1.0, 2.0]))
    err = info.value if isinstance(info.value, cr.TracerConversionError) else info.value.__cause__
    assert isinstance(err, cr.TracerConversionError)
    assert "chainrule.at(y)[i].set(x)" in str(err)


def test_in_place_writes_are_refused_with_functional_form():
    def setitem(x):
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(cr.InPlaceError, match="chainrule.at"):
        cr.grad(setitem)(np.ones(2))

    def iadd_plain(x):
        y = np.ones(2)
        y += x
        return np.sum(y)

    with pytest.raises(cr.InPlaceError, match="a = a \\+ x"):
        cr.grad(iadd_plain)(np.ones(2))
    with pytest.raises(cr.InPlaceError, match="out="):
        cr.grad(lambda x: np.sum(np.sin(x, out=np.empty(2))))(np.ones(2))


def test_augmented_assignment_on_traced_value_rebinds_correctly():
    def f(x):
        x += 1.0
        x *= x
        return np.sum(x)

    np.testing.assert_allclose(cr.grad(f)(np.array([1.0, 2.0])), [4.0, 6.0])


def test_control_flow_on_concrete_values_is_fine():
    f = lambda x: np.sum(x**2) if np.sum(x) > 0 else -np.sum(x)
    np.testing.assert_allclose(cr.grad(f)(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_allclose(cr.grad(f)(np.array([-1.0, -2.0])), [-1.0, -1.0])


def test_leaked_tracer_is_refused():
    leaked = []
    cr.grad(lambda x: (leaked.append(x), np.sum(x))[1])(np.ones(2))
    with pytest.raises(cr.LeakedTracerError, match="numpy.sin"):
        np.sin(leaked[0])


def test_comparisons_return_plain_arrays():
    def f(x):
        mask = x > 0
        assert type(mask) is np.ndarray and mask.dtype == bool
        return np.sum(x * mask)

    np.testing.assert_array_equal(cr.grad(f)(np.array([-1.0, 2.0])), [0.0, 1.0])


def test_gradients_are_writeable_arrays_the_user_owns():
    g = cr.grad(np.sum)(np.ones(3))
    g *= 2.0
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])


def test_reverse_sweep_frees_saved_values_as_it_goes():
    import weakref

    saved = []
    alive_when_first_op_is_reached = []

    @cr.custom_vjp
    def probe(x):
        return x

    def bwd(res, g):
        alive_when_first_op_is_reached.append([r() is not None for r in saved])
        return (g,)

    probe.defvjp(lambda x: (x, None), bwd)

    def f(x):
        h = probe(x)
        for _ in range(4):
            h = np.tanh(h)
            saved.append(weakref.ref(cr.primal(h)))  # the value tanh's rule keeps
        return np.sum(h)

    cr.grad(f)(np.ones(1000))
    # By the time the sweep reaches the first operation, every later node has been
    # processed and must have dropped the arrays its rule kept.
    assert alive_when_first_op_is_reached == [[False, False, False, False]]


@pytest.mark.parametrize(
    ("method", "alternative"),
    [
        (lambda x: x.sort(), "np.sort"),
        (lambda x: x.fill(1.0), "full_like"),
        (lambda x: x.put([0], [1.0]), "chainrule.at"),
        (lambda x: x.partition(1), "np.partition"),
        (lambda x: x.resize(2), "np.resize"),
    ],
)
def test_in_place_methods_are_refused_with_the_functional_form(method, alternative):
    def f(x):
        method(x)
        return np.sum(x)

    with pytest.raises(cr.InPlaceError, match=alternative):
        cr.grad(f)(np.array([3.0, 1.0, 2.0]))


def test_in_place_accumulation_never_writes_into_an_array_a_rule_keeps():
    kept = np.array([1.0, 2.0])
    leaky = cr.Primitive("returns_a_kept_array", lambda x: x * kept)
    cr.defvjp(leaky, lambda ans, x: lambda g: kept)  # hands out the array it holds
    for f in (
        lambda x: np.sum(leaky(x)) + np.sum(x * 3.0) + np.sum(x * 5.0),
        lambda x: np.sum(x * 3.0) + np.sum(x * 5.0) + np.sum(leaky(x)),
    ):
        _, vjp_fn = cr.vjp(f, np.ones(2))
        for _ in range(2):  # the kept array must survive repeated sweeps unchanged
            np.testing.assert_array_equal(vjp_fn(1.0)[0], [9.0, 10.0])
        np.testing.assert_array_equal(kept, [1.0, 2.0])
        np.testing.assert_array_equal(cr.grad(f)(np.ones(2)), [9.0, 10.0])
        np.testing.assert_array_equal(kept, [1.0, 2.0])
