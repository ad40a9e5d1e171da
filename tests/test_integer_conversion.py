"""``int(x)`` and ``np.int64(x)`` of a traced value: refused, saying why and what to write instead.

The refusal names the value (dtype, shape, value) and the user's line, says the
derivative would be zero almost everywhere, and offers alternatives; the tests
also run each alternative it offers, so the advice cannot go stale.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import TracerConversionError

THIS_FILE = __file__


def _message(f, x=2.5):
    with pytest.raises(TracerConversionError) as info:
        cr.grad(f)(x)
    return str(info.value)


def _with_int(x):
    return x * int(x)


def _with_int64(x):
    return x * np.int64(x)


@pytest.mark.parametrize(("f", "call"), [(_with_int, "int(...)"), (_with_int64, "np.int64(...)")])
def test_the_refusal_names_the_value_the_line_and_the_reason(f, call):
    message = _message(f)
    assert message.startswith(f"{call} of a traced float64 scalar (value 2.5) ({THIS_FILE}:")
    assert "zero almost everywhere" in message
    fixes = (f"{call[:-5]}(chainrule.stop_gradient(x))", "np.trunc(x)", "np.floor(x)", "x.astype(np.int64)")
    for fix in fixes:
        assert fix in message, fix
    assert "static_argnums" not in message  # only inside chainrule.jit


def test_under_a_second_derivative_the_plain_value_is_named():
    with pytest.raises(TracerConversionError, match=r"float64 scalar \(value 0\.5\)"):
        cr.grad(cr.grad(_with_int))(0.5)


def test_an_array_is_named_by_its_shape():
    message = _message(lambda x: np.sum(x * np.int64(x)), np.array([1.5, 2.5]))
    assert message.startswith("np.int64(...) of a traced float64 array of shape (2,) (")
    assert "value" not in message.split(" would ", 1)[0]


def test_inside_jit_the_message_points_to_static_arguments():
    with pytest.raises(cr.ChainruleError, match="static_argnums") as info:
        cr.jit(_with_int)(np.float64(2.5))
    refusal = str(info.value).split("_with_int: ", 1)[1]
    assert refusal.startswith("int(...) of a traced float64 scalar (")
    assert "value" not in refusal.split(" would ", 1)[0]  # not known while staging


# The alternatives the message offers, run: each gives the derivative it promises.
ALTERNATIVES = {
    "int(stop_gradient(x))": lambda x: x * int(cr.stop_gradient(x)),
    "np.int64(stop_gradient(x))": lambda x: x * np.int64(cr.stop_gradient(x)),
    "np.trunc(x)": lambda x: x * np.trunc(x),
    "np.floor(x)": lambda x: x * np.floor(x),
    "x.astype(np.int64)": lambda x: x * x.astype(np.int64),
}


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_every_alternative_offered_works(name):
    # d/dx (x * n) with n = 2, the integer part of 2.5, held constant: n.
    assert float(cr.grad(ALTERNATIVES[name])(2.5)) == 2.0
