"""A numerically stable log-sum-exp with a gradient rule of its own (after autograd's define_gradient.py).

autograd marks the function ``@primitive`` and registers ``defvjp``; here it is
``chainrule.custom_vjp``: the forward pass keeps its output, and the
backward pass multiplies the incoming gradient by the softmax
``exp(x - logsumexp(x))``. The rule is written with NumPy operations, so
second derivatives work too, and ``check_grad`` compares it with finite
differences.

Run::

    python examples/autograd_ports/define_gradient.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


@cr.custom_vjp
def logsumexp(x: Any) -> Any:
    top = np.max(x)
    return top + np.log(np.sum(np.exp(x - top)))


def _logsumexp_fwd(x: Any) -> tuple[Any, Any]:
    ans = logsumexp(x)
    return ans, (x, ans)


def _logsumexp_bwd(residuals: Any, g: Any) -> tuple[Any]:
    x, ans = residuals
    return (g * np.exp(x - ans),)


logsumexp.defvjp(_logsumexp_fwd, _logsumexp_bwd)


def example_func(y: Any) -> Any:
    z = y**2
    return logsumexp(z)


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    return example_func, (np.random.default_rng(seed).standard_normal(4),)


def main(seed: int = 0) -> dict[str, float]:
    y = np.random.default_rng(seed).standard_normal(5)
    report = cr.check_grad(example_func, y, order=2)
    softmax_error = float(np.max(np.abs(cr.grad(logsumexp)(y) - np.exp(y) / np.sum(np.exp(y)))))
    large = float(logsumexp(np.array([1000.0, 1000.0])) - 1000.0)  # no overflow: log 2
    return {"check_passed": float(report.verdict == "pass"), "softmax_error": softmax_error,
            "large_input_offset": large, "rule_calls": float(logsumexp.calls)}  # fmt: skip


if __name__ == "__main__":
    print(main())
