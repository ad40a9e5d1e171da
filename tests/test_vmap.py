"""chainrule.vmap: JAX's semantics, composition with the other transformations, errors.

Each expected value is a Python loop over the examples (or NumPy directly), never
vmap's own output.
"""

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import LeakedTracerError, UnsupportedOperationError

RNG = np.random.default_rng(20)


def _loop(f, *batched, in_axes=0):
    """The reference: f on each example, stacked along axis 0."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(batched)
    size = next(np.shape(a)[ax] for a, ax in zip(batched, axes) if ax is not None)
    outs = []
    for j in range(size):
        args = [a if ax is None else np.take(a, j, axis=ax) for a, ax in zip(batched, axes)]
        outs.append(f(*args))
    return np.stack(outs)


def f_mixed(x, y):
    return np.tanh(x[:, None] * y).T @ x + np.max(x) * np.mean(y, axis=0)


# -- in_axes / out_axes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "in_axes", [0, (0, 0), (1, 0), (-1, 0), (0, None), (None, 1), (-2, None), (None, -1)]
)
def test_in_axes_variants(in_axes):
    X, Y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4, 5))  # 3 examples
    xa, ya = (in_axes, in_axes) if isinstance(in_axes, int) else in_axes
    xs = X[0] if xa is None else np.moveaxis(X, 0, xa)
    ys = Y[0] if ya is None else np.moveaxis(Y, 0, ya)
    got = cr.vmap(f_mixed, in_axes=in_axes)(xs, ys)
    want = _loop(f_mixed, xs, ys, in_axes=(xa, ya))
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("out_axes", [0, 1, -1, 2, -3])
def test_out_axes(out_axes):
    x = RNG.standard_normal((5, 2, 3))
    got = cr.vmap(lambda a: np.sin(a) * 2.0, out_axes=out_axes)(x)
    np.testing.assert_allclose(got, np.moveaxis(np.sin(x) * 2.0, 0, out_axes), rtol=1e-14)


def test_unbatched_output_is_repeated_and_out_axes_none_returns_it_once():
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal(3)
    out = cr.vmap(lambda a, b: (a * b, b * 2.0), in_axes=(0, None))(x, w)
    np.testing.assert_allclose(out[1], np.tile(w * 2.0, (4, 1)))
    out2 = cr.vmap(lambda a, b: (a * b, b * 2.0), in_axes=(0, None), out_axes=(0, None))(x, w)
    np.testing.assert_allclose(out2[1], w * 2.0)
    out[1][0, 0] = 7.0  # a writeable array the caller owns


def test_pytrees_in_and_out():
    params = {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
    xs = RNG.standard_normal((6, 3))

    def f(p, x):
        h = x @ p["w"] + p["b"]
        return {"h": h, "s": (np.sum(h), h[0])}

    got = cr.vmap(f, in_axes=({"w": None, "b": None}, 0))(params, xs)
    for j in range(6):
        want = f(params, xs[j])
        np.testing.assert_allclose(got["h"][j], want["h"])
        np.testing.assert_allclose(got["s"][0][j], want["s"][0])
        np.testing.assert_allclose(got["s"][1][j], want["s"][1])
    # A prefix: None for the whole dict.
    got2 = cr.vmap(f, in_axes=(None, 0))(params, xs)
    np.testing.assert_allclose(got2["h"], got["h"])
    # A batched dict leaf and out_axes as a pytree prefix.
    batched_b = RNG.standard_normal((6, 2))
    got3 = cr.vmap(f, in_axes=({"w": None, "b": 0}, 0), out_axes={"h": 1, "s": 0})(
        {"w": params["w"], "b": batched_b}, xs
    )
    for j in range(6):
        np.testing.assert_allclose(got3["h"][:, j], f({"w": params["w"], "b": batched_b[j]}, xs[j])["h"])


def test_keyword_arguments_are_batched_along_axis_0():
    x, s = RNG.standard_normal((4, 3)), RNG.standard_normal(4)
    got = cr.vmap(lambda a, scale: a * scale)(x, scale=s)
    np.testing.assert_allclose(got, x * s[:, None])


def test_scalars_and_python_numbers():
    got = cr.vmap(lambda a, c: a * c + 1.0, in_axes=(0, None))(np.arange(3.0), 2)
    np.testing.assert_allclose(got, np.arange(3.0) * 2 + 1.0)
    got = cr.vmap(lambda a: 3.0)(np.arange(3.0))  # a constant output: repeated
    np.testing.assert_allclose(got, [3.0, 3.0, 3.0])


# -- nesting and composition -------------------------------------------------------------------
def test_nested_vmap_is_an_outer_product_of_loops():
    x, y = RNG.standard_normal((3, 2)), RNG.standard_normal((4, 2))
    got = cr.vmap(cr.vmap(lambda a, b: np.dot(np.sin(a), b), in_axes=(None, 0)), in_axes=(0, None))(x, y)
    want = np.array([[np.dot(np.sin(a), b) for b in y] for a in x])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_nested_vmap_over_the_same_argument():
    x = RNG.standard_normal((2, 3, 4))
    got = cr.vmap(cr.vmap(lambda r: np.sum(r**2)))(x)
    np.testing.assert_allclose(got, np.sum(x**2, axis=-1))
    got = cr.vmap(cr.vmap(lambda r: np.sum(r**2), in_axes=1), in_axes=2)(x)  # axes in any order
    np.testing.assert_allclose(got, np.sum(x**2, axis=0).T)


def test_batch_perturbation_confusion_is_avoided():
    # The inner vmap closes over the outer batched value: it must stay batched by the
    # outer trace only (each inner example sees the same outer example).
    x, y = np.arange(3.0), np.arange(4.0)

    def outer(a):
        return cr.vmap(lambda b: a * b + a)(y)

    got = cr.vmap(outer)(x)
    np.testing.assert_allclose(got, x[:, None] * y[None, :] + x[:, None])
    # Closing over a value of the *same* level from two sibling vmaps.
    got = cr.vmap(lambda a: cr.vmap(lambda b: b - a)(y) + cr.vmap(lambda b: b * a)(y))(x)
    np.testing.assert_allclose(got, (y[None, :] - x[:, None]) + y[None, :] * x[:, None])


def test_grad_inside_vmap_closing_over_the_batched_value():
    # Reverse/batch perturbation confusion: d/db (a * b) for each a is a, not the sum of a.
    x = np.array([1.0, 2.0, 3.0])
    got = cr.vmap(lambda a: cr.grad(lambda b: a * b**2)(1.5))(x)
    np.testing.assert_allclose(got, 3.0 * x)
    got = cr.grad(lambda s: np.sum(cr.vmap(lambda a: cr.grad(lambda b: a * s * b**2)(1.5))(x)))(2.0)
    np.testing.assert_allclose(got, 3.0 * np.sum(x))


def loss(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    return np.sum((h @ params["w2"] - y) ** 2)


def _mlp(seed=0):
    rng = np.random.default_rng(seed)
    params = {
        "w1": rng.standard_normal((5, 4)),
        "b1": rng.standard_normal(4),
        "w2": rng.standard_normal((4, 2)),
    }
    return params, rng.standard_normal((7, 5)), rng.standard_normal((7, 2))


def test_per_example_gradients_of_an_mlp():
    params, X, Y = _mlp()
    got = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(params, X, Y)
    for j in range(len(X)):
        want = cr.grad(loss)(params, X[j], Y[j])
        for k in params:
            np.testing.assert_allclose(got[k][j], want[k], rtol=1e-12)
    assert got["w1"].shape == (7, 5, 4)


def test_vmap_of_value_and_grad_and_of_vjp():
    params, X, Y = _mlp(1)
    vals, _ = cr.vmap(cr.value_and_grad(loss), in_axes=(None, 0, 0))(params, X, Y)
    np.testing.assert_allclose(vals, [loss(params, x, y) for x, y in zip(X, Y)], rtol=1e-12)

    def pullback(x, ct):
        return cr.vjp(lambda a: np.sin(a) * a, x)[1](ct)[0]

    cts = RNG.standard_normal(X.shape)
    np.testing.assert_allclose(cr.vmap(pullback)(X, cts), (np.cos(X) * X + np.sin(X)) * cts, rtol=1e-12)
    # vmap over cotangents with one fixed primal (vjp_fn called inside vmap).
    _, fn = cr.vjp(lambda a: np.sin(a) * a, X[0])
    np.testing.assert_allclose(cr.vmap(lambda c: fn(c)[0])(cts), (np.cos(X[0]) * X[0] + np.sin(X[0])) * cts)


def test_grad_of_vmap_equals_sum_of_grads():
    params, X, Y = _mlp(2)
    total = cr.grad(lambda p: np.sum(cr.vmap(loss, in_axes=(None, 0, 0))(p, X, Y)))(params)
    for k in params:
        want = sum(cr.grad(loss)(params, x, y)[k] for x, y in zip(X, Y))
        np.testing.assert_allclose(total[k], want, rtol=1e-12)


def test_jvp_of_vmap_and_vmap_of_jvp():
    x, t = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    f = lambda a: np.exp(a) * np.sum(a**2)
    out, tan = cr.jvp(cr.vmap(f), (x,), (t,))
    np.testing.assert_allclose(out, _loop(f, x))
    np.testing.assert_allclose(tan, _loop(lambda a, b: cr.jvp(f, (a,), (b,))[1], x, t), rtol=1e-12)
    tan2 = cr.vmap(lambda a, b: cr.jvp(f, (a,), (b,))[1])(x, t)
    np.testing.assert_allclose(tan2, tan, rtol=1e-12)


def test_vmap_of_hessian_and_jacobians():
    x = RNG.standard_normal((3, 4))
    rosen = lambda v: np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)
    np.testing.assert_allclose(cr.vmap(cr.hessian(rosen))(x), _loop(cr.hessian(rosen), x), rtol=1e-12)
    f = lambda v: np.sin(v) * np.sum(v)
    np.testing.assert_allclose(cr.vmap(cr.jacfwd(f))(x), _loop(cr.jacfwd(f), x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.jacrev(f))(x), _loop(cr.jacrev(f), x), rtol=1e-12)
    # And the Jacobian of a vmapped function: block diagonal.
    jac = cr.jacobian(cr.vmap(f))(x)
    for i in range(3):
        for j in range(3):
            want = cr.jacobian(f)(x[i]) if i == j else np.zeros((4, 4))
            np.testing.assert_allclose(jac[i, :, j, :], want, atol=1e-14)


def test_vmap_of_custom_vjp_uses_the_rule_inside():
    @cr.custom_vjp
    def clip_grad(x):
        return x * 1.0

    def fwd(x):
        return x * 1.0, None

    def bwd(res, g):
        return (np.clip(g, -1.0, 1.0),)

    clip_grad.defvjp(fwd, bwd)
    x = RNG.standard_normal((4, 3))
    got = cr.vmap(cr.grad(lambda a: np.sum(5.0 * clip_grad(a))))(x)
    np.testing.assert_allclose(got, np.ones_like(x))  # the rule's clip, not 5
    np.testing.assert_allclose(cr.vmap(clip_grad)(x), x)


def test_grad_of_vmap_records_the_custom_rule_batched():
    @cr.custom_vjp
    def scaled(x, w):
        return x * w

    # The rule clips the cotangent of x: differentiating x * w instead would give w (= 5).
    scaled.defvjp(lambda x, w: (x * w, (x, w)), lambda res, g: (np.clip(g * res[1], -1.0, 1.0), g * res[0]))
    x, w = RNG.standard_normal((4, 3)), np.full(3, 5.0)
    gx, gw = cr.grad(lambda a, b: np.sum(cr.vmap(scaled, in_axes=(0, None))(a, b)), argnums=(0, 1))(x, w)
    want = [cr.grad(lambda a, b: np.sum(scaled(a, b)), argnums=(0, 1))(row, w) for row in x]
    np.testing.assert_allclose(gx, np.stack([g[0] for g in want]))
    np.testing.assert_allclose(gw, np.sum([g[1] for g in want], axis=0))  # unbatched: summed
    np.testing.assert_allclose(gx, np.ones_like(x))
    # And a checkpoint: the same derivatives as without it.
    f = cr.checkpoint(lambda a: np.sin(a) * a)
    got = cr.grad(lambda a: np.sum(cr.vmap(f)(a) ** 2))(x)
    np.testing.assert_allclose(got, 2 * np.sin(x) * x * (np.cos(x) * x + np.sin(x)), rtol=1e-12)


def test_checkpoint_inside_vmap():
    f = cr.checkpoint(lambda a: np.sin(a) * a)
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(
        cr.vmap(cr.grad(lambda a: np.sum(f(a))))(x), np.cos(x) * x + np.sin(x), rtol=1e-12
    )


def test_custom_jvp_inside_vmap():
    @cr.custom_jvp
    def softplus(x):
        return np.log1p(np.exp(x))

    softplus.defjvp(
        lambda primals, tangents: (softplus(primals[0]), tangents[0] / (1.0 + np.exp(-primals[0])))
    )
    x = RNG.standard_normal((3, 4))
    got = cr.vmap(cr.grad(lambda a: np.sum(softplus(a))))(x)
    np.testing.assert_allclose(got, 1.0 / (1.0 + np.exp(-x)), rtol=1e-12)


# -- values that cannot be batched, and errors -------------------------------------------------
def test_nondifferentiable_functions_batch():
    x = RNG.standard_normal((4, 6))
    np.testing.assert_array_equal(cr.vmap(np.argmax)(x), np.argmax(x, axis=1))
    np.testing.assert_array_equal(cr.vmap(lambda a: a > 0)(x), x > 0)
    np.testing.assert_array_equal(cr.vmap(lambda a: np.floor(a).astype(int))(x), np.floor(x).astype(int))
    assert cr.vmap(lambda a: np.zeros(np.shape(a)) + a.ndim)(x).shape == (4, 6)
    np.testing.assert_allclose(cr.vmap(lambda a: a[np.argmax(a)])(x), np.max(x, axis=1))


def test_python_branch_on_a_batched_value_is_refused():
    with pytest.raises(UnsupportedOperationError, match="np.where"):
        cr.vmap(lambda a: a if a > 0 else -a)(np.array([1.0, -1.0]))


def test_shape_changing_by_example_is_refused():
    with pytest.raises(UnsupportedOperationError, match="different shapes"):
        cr.vmap(lambda a: np.nonzero(a)[0])(np.array([[1.0, 0.0], [1.0, 1.0]]))


def test_mismatched_batch_sizes_name_arguments_and_sizes():
    with pytest.raises(ValueError, match=r"argument 0: 3, argument 1: 4"):
        cr.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"argument 1 \(leaf 1\): 2"):
        cr.vmap(lambda a, b: a + b[0] + b[1])(np.ones(3), (np.ones(3), np.ones(2)))


@pytest.mark.parametrize(
    ("in_axes", "match"),
    [
        ((0,), "1 entries but .* 2 positional"),
        ([0, 0], "tuple"),
        ((0, 2), "cannot be batched along axis 2"),
        ((0, "x"), "ints and None"),
        ((0, 1.0), "ints and None"),
        ((None, None), "no argument is batched"),
        (({"a": 0}, 0), "dict"),
    ],
)
def test_bad_in_axes_say_what_and_how(in_axes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cr.vmap(lambda a, b: a + b, in_axes=in_axes)(np.ones(3), np.ones((3, 2)))


def test_bad_out_axes_say_what_and_how():
    with pytest.raises(ValueError, match="out_axes is None"):
        cr.vmap(lambda a: a, out_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="out of range"):
        cr.vmap(lambda a: a, out_axes=2)(np.ones(3))
    with pytest.raises(ValueError, match="does not match"):
        cr.vmap(lambda a: (a, a), out_axes=(0, 0, 0))(np.ones(3))


def test_a_leaked_batched_value_is_refused():
    kept = []
    cr.vmap(lambda a: kept.append(a) or a)(np.ones(3))
    with pytest.raises(LeakedTracerError):
        np.sin(kept[0])


def test_repr_and_str_describe_the_batch():
    seen = []
    cr.vmap(lambda a: seen.append(str(a)) or a)(np.ones((3, 2)))
    assert "3 examples of float64 (2,)" in seen[0]


def test_threads_do_not_share_batch_traces():
    out = {}

    def work(k):
        out[k] = cr.vmap(lambda a: a * k)(np.arange(3.0))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        np.testing.assert_allclose(out[k], np.arange(3.0) * k)


# -- an oracle: jax.vmap where JAX is installed -------------------------------------------------
def test_against_jax_vmap():
    jax = pytest.importorskip("jax", reason="JAX is an optional oracle for vmap's semantics")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x, w = RNG.standard_normal((5, 3, 4)), RNG.standard_normal((4, 2))

    def ours(a, b):
        return np.sum(np.tanh(a @ b), axis=0)

    def theirs(a, b):
        return jnp.sum(jnp.tanh(a @ b), axis=0)

    for in_axes, out_axes in [((0, None), 0), ((2, None), 1), ((1, None), -1)]:
        xa = np.moveaxis(x, 0, in_axes[0])
        np.testing.assert_allclose(
            cr.vmap(ours, in_axes, out_axes)(xa, w),
            np.asarray(jax.vmap(theirs, in_axes, out_axes)(xa, w)),
            rtol=1e-12,
        )
    g_ours = cr.vmap(cr.grad(lambda a, b: np.sum(ours(a, b) ** 2), argnums=1), in_axes=(0, None))(x, w)
    g_jax = jax.vmap(jax.grad(lambda a, b: jnp.sum(theirs(a, b) ** 2), argnums=1), in_axes=(0, None))(x, w)
    np.testing.assert_allclose(g_ours, np.asarray(g_jax), rtol=1e-10)


def test_value_branching_rules_fall_back_per_example_or_refuse():
    # nanmedian's rule branches on each slice's count of values: vmap runs it per example
    # (equal to the loop), and vmap(grad) is refused with an error, never a wrong number.
    x = RNG.standard_normal((3, 4, 5))
    x[0, 1, 2] = x[2, 0, 0] = np.nan
    got = cr.vmap(lambda a: np.nanmedian(a, axis=1))(x)
    np.testing.assert_allclose(got, np.nanmedian(x, axis=2))
    with pytest.raises((UnsupportedOperationError, TypeError, ValueError)):
        cr.vmap(cr.grad(lambda a: np.sum(np.nanmedian(a, axis=1))))(x)
    # The Jacobian of such a function still works (one pass per unit vector).
    jac = cr.jacobian(lambda a: np.nanmedian(a, axis=1))(x[0])
    for i in range(4):
        row = cr.grad(lambda a, i=i: np.nanmedian(a, axis=1)[i])(x[0])
        np.testing.assert_allclose(jac[i], row)


def test_reductions_along_an_axis_of_scalar_examples_follow_numpy():
    # NumPy accepts axis=-1 (and 0) for a 0-d array: each example is its own sum
    x = np.array([1.0, -2.0, 3.5])
    np.testing.assert_array_equal(cr.vmap(lambda z: np.sum(z, axis=-1, keepdims=True))(x), x)
    np.testing.assert_array_equal(cr.vmap(cr.grad(lambda z: np.sum(z, axis=-1) ** 2))(x), 2 * x)


def test_a_rule_calling_the_handlers_function_inside_a_newer_vmap():
    # vmap(hessian(f)) with np.where in f: where's tangent rule calls np.where on the inner
    # batch's tangents while the outer batch trace is inside where's handler; the call must
    # go to the inner trace (it was refused, and jacfwd fell back to a loop over basis vectors).
    xs = np.random.default_rng(7).standard_normal((3, 4))

    def f(x):
        return np.sum(np.where(x > 0, x, 0.5 * x) ** 3)

    g = cr.grad(f)
    eye = np.eye(4)
    nested = cr.vmap(lambda x: cr.vmap(lambda t: cr.jvp(g, (x,), (t,))[1])(eye))(xs)
    want = np.stack([np.stack([cr.jvp(g, (x,), (t,))[1] for t in eye]) for x in xs])
    np.testing.assert_allclose(nested, want, rtol=1e-12)
    loop = np.stack([cr.hessian(f)(x) for x in xs])
    np.testing.assert_allclose(cr.vmap(cr.hessian(f))(xs), loop, rtol=1e-12)
