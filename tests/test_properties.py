"""Property tests: random compositions of supported operations agree with finite differences."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.check import check_derivatives

# Operations that are smooth on the whole real line, so any composition stays smooth.
UNARY = {
    "sin": np.sin,
    "tanh": np.tanh,
    "arctan": np.arctan,
    "softsquash": lambda x: x / np.sqrt(1.0 + x * x),
    "log1p_sq": lambda x: np.log1p(x * x),
    "gauss": lambda x: np.exp(-x * x),
    "scale": lambda x: 1.7 * x - 0.3,
    "cube": lambda x: x**3 / 10.0,
}
BINARY = {
    "add": np.add,
    "mul": np.multiply,
    "sub": lambda a, b: a - b,
    "hypot1": lambda a, b: np.sqrt(1.0 + a * a + b * b),
    "logaddexp": np.logaddexp,
    "div": lambda a, b: a / (2.0 + np.sin(b)),
}
SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2,)), ((2, 2), ())]


@st.composite
def programs(draw):
    steps = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))),
                st.tuples(st.just("b"), st.sampled_from(sorted(BINARY))),
            ),
            min_size=1,
            max_size=8,
        )
    )
    shapes = draw(st.sampled_from(SHAPES))
    seed = draw(st.integers(0, 2**16))
    return steps, shapes, seed


def build(steps):
    def f(x, y):
        h = x
        for kind, name in steps:
            h = UNARY[name](h) if kind == "u" else BINARY[name](h, y)
        return h

    return f


@settings(max_examples=60, deadline=None)
@given(programs())
def test_random_compositions_match_finite_differences(program):
    steps, (sx, sy), seed = program
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, size=sx)
    y = rng.uniform(-1.5, 1.5, size=sy)
    check_derivatives(build(steps), x, y, order=1, rtol=1e-6, atol=1e-7, seed=seed)


@settings(max_examples=20, deadline=None)
@given(programs())
def test_random_compositions_second_order(program):
    steps, (sx, sy), seed = program
    rng = np.random.default_rng(seed)
    check_derivatives(
        build(steps), rng.uniform(-1, 1, size=sx), rng.uniform(-1, 1, size=sy), order=2, seed=seed
    )
