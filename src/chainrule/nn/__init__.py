"""Neural networks as one application of backprop: layers, losses and data as pure functions.

Parameters are plain dicts (and lists of dicts) of NumPy arrays; every layer
is a function ``apply(params, x)`` with an initializer taking an explicit
``numpy.random.Generator``. ``chainrule.grad`` differentiates a loss built
from them like any other NumPy code.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> p = nn.init_dense(np.random.default_rng(0), 3, 2)
>>> g = cr.grad(lambda p: nn.softmax_cross_entropy(nn.dense(p, np.ones((4, 3))), np.array([0, 1, 1, 0])))(p)
>>> g["w"].shape, g["b"].shape
((3, 2), (2,))
"""

from . import batching  # noqa: F401  (registers the batching rules of conv and pooling)
from .activations import elu, gelu, leaky_relu, log_softmax, logsumexp, relu, sigmoid, softmax, softplus, tanh
from .conv import conv2d_input_grad, conv2d_kernel_grad, conv2d_raw, conv_output_size
from .data import Digits, batches, load_digits
from .init import glorot_uniform, he_normal, normal, zeros
from .layers import (
    conv2d,
    dense,
    dropout,
    embedding,
    flatten,
    init_conv2d,
    init_dense,
    init_embedding,
    init_layer_norm,
    layer_norm,
)
from .losses import binary_cross_entropy, huber, mse, softmax_cross_entropy
from .pooling import avg_pool2d, max_pool2d
from .sequential import (
    Activation,
    AvgPool2D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Layer,
    LayerNorm,
    MaxPool2D,
    Sequential,
)

__all__ = [
    "Activation", "AvgPool2D", "Conv2D", "Dense", "Digits", "Dropout", "Embedding", "Flatten", "Layer",
    "LayerNorm", "MaxPool2D", "Sequential", "avg_pool2d", "batches", "binary_cross_entropy", "conv2d",
    "conv2d_input_grad", "conv2d_kernel_grad", "conv2d_raw", "conv_output_size", "dense", "dropout", "elu",
    "embedding", "flatten", "gelu", "glorot_uniform", "he_normal", "huber", "init_conv2d", "init_dense",
    "init_embedding", "init_layer_norm", "layer_norm", "leaky_relu", "load_digits", "log_softmax",
    "logsumexp", "max_pool2d", "mse", "normal", "relu", "sigmoid", "softmax", "softmax_cross_entropy",
    "softplus", "tanh", "zeros",
]  # fmt: skip
