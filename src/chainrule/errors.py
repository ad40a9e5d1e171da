"""The exceptions chainrule raises, each for one kind of mistake a person can fix."""

from __future__ import annotations

__all__ = [
    "ChainruleError",
    "CheckpointMismatchError",
    "ComplexValueError",
    "ForeignArrayError",
    "ForeignTraceError",
    "InvalidRuleOutputError",
    "ModifiedAfterUseError",
    "InPlaceError",
    "LeakedTracerError",
    "NonScalarOutputError",
    "StagingError",
    "TracerConversionError",
    "UnsupportedOperationError",
]


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class UnsupportedOperationError(ChainruleError, NotImplementedError):
    """A NumPy or SciPy function was applied to a traced value and has no rule.

    chainrule refuses instead of passing the value through, because passing it
    through would drop the gradient silently.
    """


class TracerConversionError(ChainruleError):
    """A traced value was turned into a plain NumPy array or Python number.

    Deliberately not a ``TypeError``: NumPy catches ``TypeError`` from
    ``__float__`` during ``y[i] = x`` and replaces it with an unrelated
    message, and this one must reach the user.
    """


class InPlaceError(ChainruleError, TypeError):
    """An in-place write that chainrule cannot differentiate was attempted."""


class NonScalarOutputError(ChainruleError, TypeError):
    """``grad`` was asked for the gradient of a function whose output is not a scalar."""


class LeakedTracerError(ChainruleError, RuntimeError):
    """A traced value escaped the transformation that created it and was used later."""


class StagingError(ChainruleError, TypeError):
    """``chainrule.jit`` met something it cannot stage (printing or converting a traced value).

    The message names the line of the function that did it.
    """


class ComplexValueError(ChainruleError, TypeError):
    """A complex value appeared in a traced computation; casting it to real would drop its imaginary part."""


class ForeignArrayError(ChainruleError, TypeError):
    """A masked array, ``np.matrix`` or pandas object met a traced value: they change what operations mean."""


class ForeignTraceError(ChainruleError, RuntimeError):
    """Another thread's traced value was used: a trace belongs to the thread that opened it."""


class ModifiedAfterUseError(ChainruleError, RuntimeError):
    """An array a derivative needs was modified after the traced computation used it."""


class InvalidRuleOutputError(ChainruleError, TypeError):
    """A user-defined rule (custom_vjp, custom_jvp) returned the wrong structure, shape or dtype."""


class CheckpointMismatchError(ChainruleError, RuntimeError):
    """A ``checkpoint`` block gave a different output when recomputed for the backward pass."""
