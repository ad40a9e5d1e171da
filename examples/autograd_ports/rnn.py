"""A character-level recurrent network learns a short text (after autograd's rnn.py).

The hidden state is updated from the previous state and the one-hot input
by a tanh layer; the outputs are log-probabilities of the next character.
The loss runs a Python loop over time steps, and backprop goes through the
whole unrolled sequence. Parameters are a dict of arrays, trained with
autograd's ``adam`` loop.

Run::

    python examples/autograd_ports/rnn.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.optim.loops import adam

TEXT = "hello world, hello rnn. "


def one_hot_sequence(text: str, alphabet: str) -> np.ndarray:
    """``(time, 1, characters)``: one sequence (a batch of one) of one-hot rows."""
    return np.eye(len(alphabet))[[alphabet.index(c) for c in text]][:, None, :]


def create_rnn_params(input_size: int, state_size: int, output_size: int, scale: float,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:  # fmt: skip
    return {
        "init hiddens": scale * rng.standard_normal((1, state_size)),
        "change": scale * rng.standard_normal((input_size + state_size + 1, state_size)),
        "predict": scale * rng.standard_normal((state_size + 1, output_size)),
    }


def concat_and_multiply(weights: Any, *args: Any) -> Any:
    cat_state = np.hstack([*args, np.ones((args[0].shape[0], 1))])
    return cat_state @ weights


def logsumexp(a: Any) -> Any:
    top = np.max(a, axis=1, keepdims=True)
    return top + np.log(np.sum(np.exp(a - top), axis=1, keepdims=True))


def rnn_predict(params: dict[str, Any], inputs: np.ndarray) -> list[Any]:
    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params["init hiddens"], num_sequences, axis=0)
    outputs = []
    for x in inputs:  # one time step at a time
        hiddens = np.tanh(concat_and_multiply(params["change"], x, hiddens))
        scores = concat_and_multiply(params["predict"], hiddens)
        outputs.append(scores - logsumexp(scores))
    return outputs


def rnn_log_likelihood(params: dict[str, Any], inputs: np.ndarray, targets: np.ndarray) -> Any:
    logprobs = rnn_predict(params, inputs)
    return sum(np.sum(lp * t) for lp, t in zip(logprobs, targets)) / (inputs.shape[0] * inputs.shape[1])


def gradient_case(seed: int = 0) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    alphabet = "".join(sorted(set(TEXT)))
    seq = one_hot_sequence(TEXT[:6], alphabet)
    params = create_rnn_params(len(alphabet), 4, len(alphabet), 0.3, np.random.default_rng(seed))
    return (lambda p: rnn_log_likelihood(p, seq[:-1], seq[1:])), (params,)


def main(seed: int = 0) -> dict[str, float]:
    alphabet = "".join(sorted(set(TEXT)))
    seq = one_hot_sequence(TEXT, alphabet)
    inputs, targets = seq[:-1], seq[1:]
    params = create_rnn_params(len(alphabet), 12, len(alphabet), 0.1, np.random.default_rng(seed))

    def training_loss(params: dict[str, Any], it: int) -> Any:
        return -rnn_log_likelihood(params, inputs, targets)

    initial = float(training_loss(params, 0))
    params = adam(cr.grad(training_loss), params, num_iters=40, step_size=0.05)
    return {"initial_loss": initial, "final_loss": float(training_loss(params, 0))}


if __name__ == "__main__":
    print(main())
