"""``chainrule.jit``: a function, derivatives included, staged into straight-line NumPy code you can read.

:func:`jit` stages on the first call per input structure and caches the
compiled code (:mod:`.api`); :mod:`.codegen` writes the source;
:mod:`.constants` notices closed-over values that changed.

This package is callable: ``chainrule.jit(f)`` is :func:`chainrule.jit.jit`.
The package and the function share one name (``cr.jit``), so rather than let
the function shadow the module (``import chainrule.jit as m`` would give the
function), the module object's class is a :class:`types.ModuleType` subclass
whose ``__call__`` forwards to :func:`jit`, as for :mod:`chainrule.explain`.

Examples
--------
>>> import numpy as np
>>> import chainrule as cr
>>> cr.jit(lambda x: np.sum(x**2))(np.arange(3.0))
np.float64(5.0)
>>> import chainrule.jit as m
>>> type(m).__name__, m.jit is jit, m is cr.jit
('CallableModule', True, True)
"""

from __future__ import annotations

import sys
import types

from .api import MAX_STRUCTURES, MAX_VARIANTS, Jitted, jit
from .codegen import GuardFailed

__all__ = ["MAX_STRUCTURES", "MAX_VARIANTS", "GuardFailed", "Jitted", "jit"]


class CallableModule(types.ModuleType):
    """The ``chainrule.jit`` package, callable as :func:`jit` (also as a decorator)."""

    __call__ = staticmethod(jit)  # the function itself: its signature, whatever options it grows


sys.modules[__name__].__class__ = CallableModule
