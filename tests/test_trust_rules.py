"""Issue 11, classes 6, 7, 10 and the rules' unclear errors: user-defined rules inside the engine.

``checkpoint`` recomputes with the same random numbers and verifies its
recomputation; ``custom_vjp``/``checkpoint`` never cache by the identity of a
cotangent (reused buffers, retries, threads); every user rule's output is
checked against the primal and the rule is named.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import CheckpointMismatchError, ComplexValueError, InvalidRuleOutputError

WEIGHTS = np.arange(8.0)


# -- class 6: checkpoint and randomness ------------------------------------------------
def _dropout_mask(rng, n):
    return rng.random(n) > 0.5


def test_checkpoint_replays_a_generator_from_the_closure():
    rng = np.random.default_rng(1)

    def dropout(x):
        return x * _dropout_mask(rng, x.shape[0])

    block = cr.checkpoint(dropout)
    g = cr.grad(lambda x: np.sum(block(x) * WEIGHTS))(np.ones(8))
    expected_mask = _dropout_mask(np.random.default_rng(1), 8)  # the mask of the forward pass
    np.testing.assert_array_equal(g, expected_mask * WEIGHTS)
    # The backward pass put the generator back where the forward pass left it.
    reference = np.random.default_rng(1)
    reference.random(8)
    assert rng.random() == reference.random()


def test_checkpoint_replays_a_generator_passed_as_an_argument():
    def dropout(x, rng):
        return x * _dropout_mask(rng, x.shape[0])

    block = cr.checkpoint(dropout)
    g = cr.grad(lambda x: np.sum(block(x, np.random.default_rng(7)) * WEIGHTS))(np.ones(8))
    np.testing.assert_array_equal(g, _dropout_mask(np.random.default_rng(7), 8) * WEIGHTS)


def test_checkpoint_replays_the_global_numpy_random_state():
    block = cr.checkpoint(lambda x: x * (np.random.rand(x.shape[0]) > 0.5))  # noqa: NPY002 (the legacy global state is what is tested)
    np.random.seed(3)  # noqa: NPY002
    g = cr.grad(lambda x: np.sum(block(x) * WEIGHTS))(np.ones(8))
    np.random.seed(3)  # noqa: NPY002
    np.testing.assert_array_equal(g, (np.random.rand(8) > 0.5) * WEIGHTS)  # noqa: NPY002


class Layer:
    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)

    def __call__(self, x):
        return x * (self.rng.rand(x.shape[0]) > 0.5)


def test_checkpoint_replays_a_generator_held_by_a_callable_object():
    block = cr.checkpoint(Layer(5))
    g = cr.grad(lambda x: np.sum(block(x) * WEIGHTS))(np.ones(8))
    np.testing.assert_array_equal(g, (np.random.RandomState(5).rand(8) > 0.5) * WEIGHTS)


def test_checkpoint_forward_mode_replays_too():
    rng = np.random.default_rng(2)
    block = cr.checkpoint(lambda x: x * _dropout_mask(rng, x.shape[0]))
    _, t = cr.jvp(block, (np.ones(8),), (WEIGHTS,))
    np.testing.assert_array_equal(t, _dropout_mask(np.random.default_rng(2), 8) * WEIGHTS)


def test_a_nondeterministic_checkpoint_block_is_refused():
    calls = []

    def drifting(x):
        calls.append(1)
        return x * len(calls)  # reads state that changes between calls

    with pytest.raises(CheckpointMismatchError, match=r"checkpoint\(drifting\).*deterministic"):
        cr.grad(lambda x: np.sum(cr.checkpoint(drifting)(x)))(np.ones(3))
    hidden = {"rng": np.random.default_rng(0)}  # out of reach of the search (inside a dict attribute's dict)

    class Hidden:
        pass

    holder = Hidden()
    holder.box = {"deep": hidden}
    block = cr.checkpoint(lambda x: x * holder.box["deep"]["rng"].random(3))
    with pytest.raises(CheckpointMismatchError):
        cr.grad(lambda x: np.sum(block(x)))(np.ones(3))


@pytest.mark.parametrize(("out", "message"), [(None, "holds no array"), ("a", "str"), ((), "holds no array")])
def test_checkpoint_block_returning_a_non_array_is_explained(out, message):
    block = cr.checkpoint(lambda x: out)
    with pytest.raises(InvalidRuleOutputError, match=f"checkpointed block <lambda>.*{message}"):
        cr.grad(lambda x: np.sum(block(x)))(np.ones(2))


# -- class 7: no cache by identity; pure, thread-safe vjp_fn ----------------------------
def _product_rule():
    @cr.custom_vjp
    def mul(a, b):
        return a * b

    mul.defvjp(lambda a, b: (a * b, (a, b)), lambda res, g: (g * res[1], g * res[0]))
    return mul


A = np.array([1.0, 2.0, 3.0])
B = np.array([4.0, 5.0, 6.0])


@pytest.mark.parametrize("wrap", ["custom_vjp", "checkpoint"])
def test_a_reused_cotangent_buffer_gives_each_row(wrap):
    mul = _product_rule() if wrap == "custom_vjp" else cr.checkpoint(lambda a, b: a * b)
    _, vjp_fn = cr.vjp(lambda a, b: mul(a, b), A, B)
    e = np.zeros(3)
    rows_a, rows_b = [], []
    for i in range(3):
        e[:] = 0
        e[i] = 1  # the same buffer, refilled: the issue got the first row each time
        ga, gb = vjp_fn(e)
        rows_a.append(ga)
        rows_b.append(gb)
    np.testing.assert_array_equal(rows_a, np.diag(B))
    np.testing.assert_array_equal(rows_b, np.diag(A))


@pytest.mark.parametrize("wrap", ["custom_vjp", "checkpoint"])
def test_a_retry_after_a_failing_backward_recomputes(wrap):
    fail = [False]

    def guarded(v):
        if fail[0]:
            raise KeyboardInterrupt  # an interrupted backward pass
        return v

    if wrap == "custom_vjp":

        @cr.custom_vjp
        def sq(x, y):
            return x * x * y

        sq.defvjp(
            lambda x, y: (x * x * y, (x, y)), lambda r, g: (2 * r[0] * r[1] * guarded(g), r[0] ** 2 * g)
        )
    else:
        sq = cr.checkpoint(lambda x, y: guarded(x * x * y))  # fails when recomputed
    _, vjp_fn = cr.vjp(sq, A, B)
    g = np.ones(3)
    fail[0] = True
    with pytest.raises(KeyboardInterrupt):
        vjp_fn(g)
    fail[0] = False
    gx, gy = vjp_fn(g)  # the issue: KeyError, or the previous call's result
    np.testing.assert_allclose(gx, 2 * A * B)
    np.testing.assert_allclose(gy, A**2)
    gx, gy = vjp_fn(2 * g)
    np.testing.assert_allclose(gx, 4 * A * B)


@pytest.mark.parametrize("wrap", ["custom_vjp", "checkpoint"])
def test_threads_sharing_one_vjp_fn_get_their_own_cotangents(wrap):
    mul = _product_rule() if wrap == "custom_vjp" else cr.checkpoint(lambda a, b: a * b)
    _, vjp_fn = cr.vjp(lambda a, b: mul(a, b), A, B)
    wrong = []

    def work(k):
        for _ in range(200):
            e = np.zeros(3)
            e[k] = 1.0
            ga, gb = vjp_fn(e)
            if ga[k] != B[k] or gb[k] != A[k] or np.count_nonzero(ga) != 1:
                wrong.append((k, ga, gb))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


# -- class 10: user rules' outputs are checked against the primal ----------------------
def _jvp_rule(tangent_out):
    @cr.custom_jvp
    def double(x):
        return x * 2.0

    @double.defjvp
    def double_rule(primals, tangents):
        return double(primals[0]), tangent_out(tangents[0])

    return double


@pytest.mark.parametrize(
    ("tangent_out", "error", "message"),
    [
        (lambda t: 5.0, InvalidRuleOutputError, r"has shape \(\), but the output has shape \(2,\)"),
        (lambda t: np.ones(3), InvalidRuleOutputError, r"has shape \(3,\), but the output has shape \(2,\)"),
        (lambda t: None, InvalidRuleOutputError, "returned None as the tangent"),
        (lambda t: (t, t), InvalidRuleOutputError, "structure"),
        (lambda t: t.astype(np.float32), InvalidRuleOutputError, "dtype float32"),
        (lambda t: t * (1 + 1j), ComplexValueError, "complex"),
        (lambda t: "a", InvalidRuleOutputError, "str"),
    ],
)
def test_custom_jvp_tangents_are_checked(tangent_out, error, message):
    f = _jvp_rule(tangent_out)
    with pytest.raises(error, match=message) as info:
        cr.jvp(f, (np.ones(2),), (np.ones(2),))
    assert "double_rule" in str(info.value)
    with pytest.raises(error, match=message):
        cr.grad(lambda x: np.sum(f(x)))(np.ones(2))


def test_custom_jvp_good_rule_still_works():
    f = _jvp_rule(lambda t: 2.0 * t)
    np.testing.assert_allclose(cr.jvp(f, (np.ones(2),), (np.array([1.0, 3.0]),))[1], [2.0, 6.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(f(x)))(np.ones(2)), [2.0, 2.0])


def _vjp_rule(bwd, fwd=None):
    @cr.custom_vjp
    def ident(x):
        return x

    ident.defvjp(fwd or (lambda x: (x, None)), bwd)
    return ident


@pytest.mark.parametrize(
    ("bwd", "error", "message"),
    [
        (lambda r, g: (g.astype(np.float32),), InvalidRuleOutputError, "dtype float32 for argument 0"),
        (lambda r, g: (g * 1j,), ComplexValueError, "complex value for argument 0"),
        (lambda r, g: (np.ones(3),), InvalidRuleOutputError, r"shape \(3,\)"),
        (lambda r, g: ("a",), InvalidRuleOutputError, "str"),
        (lambda r, g: g, InvalidRuleOutputError, "tuple with one cotangent per positional argument"),
    ],
)
def test_custom_vjp_cotangents_are_checked(bwd, error, message):
    f = _vjp_rule(bwd)
    with pytest.raises(error, match=message) as info:
        cr.grad(lambda x: np.sum(f(x)))(np.ones(2))
    assert "<lambda> for ident" in str(info.value)


def test_custom_vjp_python_number_cotangent_takes_the_dtype():
    f = _vjp_rule(lambda r, g: (3.0,))
    g = cr.grad(lambda x: f(x))(np.float32(1.0))
    assert np.result_type(g) == np.float32 and g == 3.0


@pytest.mark.parametrize(
    ("fwd", "message"),
    [
        (lambda x: (x, 1, 2), "tuple of length 3"),
        (lambda x: x, "returned a ndarray"),
        (lambda x: (None, x), "holds no array"),
    ],
)
def test_custom_vjp_forward_outputs_are_explained(fwd, message):
    f = _vjp_rule(lambda r, g: (g,), fwd)
    with pytest.raises(InvalidRuleOutputError, match=message):
        cr.grad(lambda x: np.sum(f(x)))(np.ones(2))


def test_custom_vjp_with_a_string_static_argument():
    @cr.custom_vjp
    def scaled(x, mode):
        return x * (2.0 if mode == "double" else 1.0)

    scaled.defvjp(
        lambda x, mode: (scaled.fun(x, mode), mode),
        lambda mode, g: (g * (2.0 if mode == "double" else 1.0), None),
    )
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(scaled(x, "double")))(np.ones(2)), [2.0, 2.0])
