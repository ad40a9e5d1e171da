"""``chainrule.jit``: a function, derivatives included, staged into straight-line NumPy code you can read.

:func:`jit` stages on the first call per input structure and caches the
compiled code (:mod:`.api`); :mod:`.codegen` writes the source;
:mod:`.constants` notices closed-over values that changed.
"""

from .api import MAX_STRUCTURES, MAX_VARIANTS, Jitted, jit
from .codegen import GuardFailed

__all__ = ["MAX_STRUCTURES", "MAX_VARIANTS", "GuardFailed", "Jitted", "jit"]
