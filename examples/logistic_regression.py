"""Binary logistic regression on the breast cancer data, fitted by L-BFGS with backprop gradients.

The model and its loss are written in plain NumPy; ``chainrule`` differentiates
them, ``check_grad`` confirms the gradient against finite differences, and
``chainrule.optim.minimize`` (L-BFGS) consumes it, and scikit-learn's own
solver, run on the same objective, lands on the same weights. The data set
ships with scikit-learn, so nothing is downloaded.

Run::

    python examples/logistic_regression.py [--steps 100] [--seed 0]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.optim import minimize


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardized train/test splits of scikit-learn's breast cancer data (569 x 30, labels 0/1)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x, y = data.data.astype(np.float64), data.target.astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = len(x) // 5
    test, train = order[:n_test], order[n_test:]
    # Standardize with the training statistics only: the features span six orders
    # of magnitude, which would make the problem badly conditioned for L-BFGS, and
    # using test statistics would leak information into the fit.
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    x = (x - mean) / std
    return x[train], y[train], x[test], y[test]


def loss(params: dict[str, Any], x: np.ndarray, y: np.ndarray, l2: float) -> Any:
    """Mean negative log-likelihood plus an L2 penalty on the weights (not the bias)."""
    z = x @ params["w"] + params["b"]
    # -log p(y | z) = log(1 + e^z) - y z. logaddexp(0, z) computes log(1 + e^z)
    # without overflow for large |z|, so the loss and its gradient stay finite
    # even when the classes become (almost) separable.
    nll = np.mean(np.logaddexp(0.0, z) - y * z)
    # Without the penalty a separable training set drives |w| to infinity; with it
    # the optimum is unique and L-BFGS converges to a gradient norm near zero.
    return nll + 0.5 * l2 * np.sum(params["w"] ** 2)


def accuracy(params: dict[str, Any], x: np.ndarray, y: np.ndarray) -> float:
    """Share of samples on the right side of the decision boundary z = 0."""
    z = x @ params["w"] + params["b"]
    return float(np.mean((z > 0) == (y > 0.5)))


def main(steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Fit, check and evaluate the model; returns the key numbers.

    Parameters
    ----------
    steps
        Maximum L-BFGS iterations (default 200, far more than it needs).
    seed
        Seed of the train/test split and the gradient check's random directions.
    """
    steps = 200 if steps is None else steps
    l2 = 1e-3
    x_train, y_train, x_test, y_test = load_data(seed)
    params0 = {"w": np.zeros(x_train.shape[1]), "b": 0.0}

    # Check the backprop gradient at a random (non-symmetric) point before trusting
    # it: at the zero start every sample contributes symmetrically, a weaker test.
    # "full" mode compares every one of the 31 partial derivatives.
    rng = np.random.default_rng(seed)
    probe = {"w": 0.1 * rng.standard_normal(x_train.shape[1]), "b": 0.1}
    report = cr.check_grad(loss, probe, x_train, y_train, l2, mode="full", seed=seed)
    print(f"gradient check ({report.evaluations} evaluations): {report.verdict}, "
          f"max abs error {report.max_abs_error:.1e}")  # fmt: skip

    # L-BFGS is the default optimizer of minimize; the gradient source is backprop.
    initial_loss = float(loss(params0, x_train, y_train, l2))
    result = minimize(loss, params0, args=(x_train, y_train, l2), steps=steps, tol=1e-8, progress=False)
    params = result.x

    # The same optimum by an independent solver: scikit-learn minimizes
    # C * sum(nll) + |w|^2 / 2, which is ours scaled by n / l2 when C = 1 / (n l2).
    from sklearn.linear_model import LogisticRegression

    reference = LogisticRegression(C=1.0 / (len(y_train) * l2), tol=1e-10, max_iter=10_000)
    reference.fit(x_train, y_train)
    sklearn_gap = float(np.max(np.abs(reference.coef_[0] - params["w"])))
    out = {
        "initial_loss": initial_loss,
        "final_loss": float(result.fun),
        "iterations": int(result.nit),
        "train_accuracy": accuracy(params, x_train, y_train),
        "test_accuracy": accuracy(params, x_test, y_test),
        "gradient_check_passed": report.passed,
        "gradient_check_max_abs_error": float(report.max_abs_error),
        "max_weight_difference_to_sklearn": sklearn_gap,
    }
    print(f"L-BFGS: {result.nit} iterations, {result.nfev} evaluations ({result.message})")
    print(f"loss {initial_loss:.4f} -> {out['final_loss']:.4f}")
    print(f"largest weight difference to scikit-learn's LogisticRegression: {sklearn_gap:.1e}")
    print(f"train accuracy: {out['train_accuracy']:.1%}")
    print(f"test accuracy: {out['test_accuracy']:.1%}")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="maximum L-BFGS iterations")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of the check")
    args = parser.parse_args()
    main(steps=args.steps, seed=args.seed)
