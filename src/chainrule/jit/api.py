"""``chainrule.jit``: stage a function once per input structure into straight-line NumPy code.

The first call for a structure (the arguments' tree structure, each array's
shape and dtype, the values of the other leaves and of the static arguments)
runs the function under the staging trace of :mod:`chainrule.engine.staging`,
which records every NumPy call made on the arguments' data, including those
made by ``grad``, ``value_and_grad``, ``hessian``... inside it (their backward
passes are NumPy code too). The record becomes Python source
(:mod:`.codegen`), compiled and cached; later calls with the same structure run
it with no tracing at all.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import Tracer, trace_scope
from ..engine.staging import StagingTrace, Var, user_line
from ..errors import InPlaceError, StagingError, TracerConversionError
from ..pytree import paths_of, tree_flatten, tree_unflatten
from .codegen import GuardFailed, StagedCode, generate
from .constants import ConstantGuard, RandomDraws
from .structure import builder, plain_flatten

__all__ = ["Jitted", "jit"]

MAX_VARIANTS = 8  # stagings kept per structure (guard outcomes); then the function runs as is
MAX_STRUCTURES = 64  # structures kept (shapes, dtypes, static values); the oldest is dropped


class _Variant:
    """One staging of one structure: the compiled code, its guard on constants, how outputs rebuild."""

    def __init__(self, code: StagedCode, constants: ConstantGuard, out_def: Any):
        self.code = code
        self.fn = code.fn
        self.constants = constants
        self.out_def = out_def
        self.build = builder(out_def)


def _identifier(text: str, taken: set[str]) -> str:
    name = re.sub(r"\W+", "_", text).strip("_") or "arg"
    # Not a keyword, not a name of the staged code's own (np, GuardFailed, the temporaries
    # v0, v1, ...: a parameter named v1 would be overwritten by the temporary v1).
    if (
        name[0].isdigit()
        or keyword.iskeyword(name)
        or name in ("np", "GuardFailed")
        or re.fullmatch(r"v\d+", name)
    ):
        name = "a_" + name
    base, k = name, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


class Jitted:
    """A function staged by :func:`jit`; call it like the function.

    Attributes
    ----------
    stagings
        How many times the function was staged (first calls, failed guards,
        changed constants).
    eager_calls
        Calls that ran the function as is: inside another transformation, or
        after :data:`MAX_VARIANTS` stagings of one structure.
    """

    # Copied from the function by functools.update_wrapper (a name is needed by error messages).
    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __init__(self, fun: Callable[..., Any], static_argnums: int | Sequence[int] = (), fuse: bool = False):
        if not callable(fun):
            raise TypeError(f"chainrule.jit needs a function, got a {type(fun).__name__}")
        self.fun = fun
        nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        for n in nums:
            if not isinstance(n, int) or n < 0:
                raise ValueError(f"static_argnums={static_argnums!r}: positions must be non-negative ints")
        self.static_argnums = frozenset(nums)
        if type(fuse) is not bool:
            raise TypeError(f"chainrule.jit: fuse must be True or False, got {fuse!r}")
        self.fuse = fuse
        # key -> the variants of that structure, newest first. The tuples are replaced, never
        # changed, under ``_lock``, so a call reads a consistent snapshot without locking;
        # one thread stages at a time, and a thread that waited finds what the other staged.
        self._cache: dict[Any, tuple[_Variant, ...]] = {}
        self._lock = threading.RLock()
        self.stagings = 0
        self.eager_calls = 0
        try:
            self._params = [
                p.name
                for p in inspect.signature(fun).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError):
            self._params = []
        functools.update_wrapper(self, fun)
        if not hasattr(self, "__name__"):  # a functools.partial or a callable object has no name
            self.__name__ = self.__qualname__ = type(fun).__name__

    # -- the cache key ---------------------------------------------------------------
    def _split(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, list[Any], list[int]]:
        """``(key, leaves, positions of the traced leaves)``; key None: run eagerly."""
        dynamic = []
        statics = []
        for i, a in enumerate(args):
            if i in self.static_argnums:
                try:
                    hash(a)
                except TypeError:
                    raise TypeError(
                        f"chainrule.jit: static argument {i} of {self.__name__} is a "
                        f"{type(a).__name__}, which is not hashable; static arguments key the cache"
                    ) from None
                statics.append((i, a))
            else:
                dynamic.append(a)
        plain = plain_flatten((dynamic, kwargs))
        # The structure in the key: a plain tree's signature (tuples, hashed and compared in C)
        # or, for other trees, its TreeDef.
        leaves, structure = plain if plain is not None else tree_flatten((dynamic, kwargs))
        spec: list[Any] = []
        traced: list[int] = []
        for k, v in enumerate(leaves):
            t = type(v)
            if t is np.ndarray or isinstance(v, np.generic):
                if v.dtype.kind in "OV":
                    raise TypeError(f"chainrule.jit: argument leaf {k} has dtype {v.dtype}, not numeric")
                # Memory order too: a few rules choose C or Fortran order from it (ravel order="A").
                spec.append((t, v.shape, v.dtype, t is np.ndarray and not v.flags.c_contiguous))
                traced.append(k)
            elif t is Tracer:
                return None, leaves, traced
            else:
                try:
                    hash(v)
                except TypeError:
                    raise TypeError(
                        f"chainrule.jit: argument leaf {k} of {self.__name__} is a {t.__name__}; "
                        "leaves must be NumPy arrays, or hashable values (which are static: a new "
                        "value stages the function again)"
                    ) from None
                spec.append((t, v))  # Python numbers and other values are static
        return (structure, tuple(spec), tuple(statics)), leaves, traced

    # -- calling ---------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key, leaves, traced = self._split(args, kwargs)
        if key is None:  # inside grad/jvp/another jit: their trace records the function itself
            self.eager_calls += 1
            return self.fun(*args, **kwargs)
        inputs = [leaves[k] for k in traced]
        hit, out = self._run(key, inputs)
        if hit is None:
            # Checked again and staged under one hold of the lock: another thread may have
            # staged this outcome meanwhile, and none may stage it in between.
            with self._lock:
                hit, out = self._run(key, inputs)
                if hit is None and len(self._cache.get(key, ())) < MAX_VARIANTS:
                    return self._stage(key, args, kwargs, leaves, traced)
        if hit:
            return out
        # The staged code raised (a singular matrix, an errstate set to raise...): the function
        # as is raises the same error, or takes the path that handles it. Or too many variants.
        self.eager_calls += 1
        return self.fun(*args, **kwargs)

    def _run(self, key: Any, inputs: list[Any]) -> tuple[bool | None, Any]:
        """Run the first variant of ``key`` whose guards hold.

        ``(True, result)``; ``(None, None)`` when no variant's guards hold (stage one);
        ``(False, None)`` when the staged code raised an error (run the function as is).
        """
        for variant in self._cache.get(key, ()):
            if variant.constants.changed() is not None:
                self._drop(key, variant)  # never run with a stale constant
                continue
            try:
                out = variant.fn(*inputs)
            except GuardFailed:
                continue  # another guard outcome: maybe another variant
            except (NameError, UnboundLocalError) as e:
                # Only a defect of the generated code raises these (the function's own code
                # ran at staging): never hidden behind the eager call's correct result.
                raise RuntimeError(
                    f"chainrule.jit generated code for {self.__name__} that does not run ({e}): "
                    "a bug in chainrule, please report it with `.source(...)` of the arguments; "
                    "meanwhile call the function without jit"
                ) from e
            except Exception:
                return False, None
            return True, variant.build(out)
        return None, None

    def _drop(self, key: Any, variant: _Variant) -> None:
        with self._lock:
            self._cache[key] = tuple(v for v in self._cache.get(key, ()) if v is not variant)

    def _names(self, args: tuple[Any, ...], kwargs: dict[str, Any], leaves: list[Any]) -> list[str]:
        """A readable parameter name for each leaf: ``x``, ``params_W1``."""
        labels: list[str] = []
        for i, a in enumerate(args):
            if i in self.static_argnums:
                continue
            base = self._params[i] if i < len(self._params) else f"arg{i}"
            _, d = tree_flatten(a)
            labels.extend(base + p for p in paths_of(d))
        for name, v in kwargs.items():
            _, d = tree_flatten(v)
            labels.extend(name + p for p in paths_of(d))
        taken: set[str] = set()
        return [_identifier(label, taken) for label in labels]

    def _stage(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any], leaves: list[Any],
               traced: list[int]) -> Any:  # fmt: skip
        names = self._names(args, kwargs, leaves)
        draws = RandomDraws(self.fun, [*args, *kwargs.values()])
        with trace_scope(StagingTrace()) as trace:
            boxed = list(leaves)
            for k in traced:
                boxed[k] = trace.input(leaves[k], names[k])
            dynamic_args = [a for i, a in enumerate(args) if i not in self.static_argnums]
            dynamic, kw = tree_unflatten(tree_flatten((dynamic_args, kwargs))[1], boxed)
            it = iter(dynamic)
            full = [a if i in self.static_argnums else next(it) for i, a in enumerate(args)]
            try:
                out = self.fun(*full, **kw)
            except (TracerConversionError, InPlaceError, ValueError) as e:
                if type(e) is ValueError and "array element with a sequence" not in str(e):
                    raise  # NumPy's own error about the function's values, unchanged
                raise StagingError(
                    f"chainrule.jit could not stage {self.__name__}: {e} (at {_failing_line(e)})"
                ) from e
        drawn = draws.drawn()
        if drawn is not None:
            raise StagingError(
                f"chainrule.jit cannot stage {self.__name__}: it draws random numbers from {drawn}, "
                "and the staged code would repeat this call's draws on every call. Draw them "
                "outside and pass them in as an argument (a dropout mask, a noise array), or call "
                "the function without jit."
            )
        if trace.raised:
            raise StagingError(
                f"chainrule.jit cannot stage {self.__name__}: {trace.raised[0]}, and the function "
                "caught the error and went on. Staged code has no path for an error that depends on "
                "the data, so a later call could silently take the wrong one. Test the condition "
                "before the call (np.all(np.isfinite(x)), a rank or condition-number check) instead "
                "of catching the error, or call the function without jit."
            )
        out_leaves, out_def = tree_flatten(out)
        returned = []
        plain = []
        for v in out_leaves:
            if type(v) is Tracer:
                if v._trace is not trace:
                    raise StagingError(f"{self.__name__} returned a value of another trace")
                returned.append(Var(v._node))
                plain.append(v._value)
            else:
                returned.append(v)
                plain.append(v)
        shapes = ", ".join(f"{names[k]}: {leaves[k].dtype} {leaves[k].shape}" for k in traced)
        header = [f"{self.__name__} staged by chainrule.jit for {shapes or 'no array inputs'}"]
        name = (re.sub(r"\W+", "_", self.__name__).strip("_") or "f") + "_staged"
        code = generate(trace.program, returned, name, header, fusion=self.fuse)
        trace.program.steps.clear()  # the equations hold the constants too: keep only the code's
        # Private constants are referenced by the staged code's two namespaces only.
        # Static arguments are roots of chains too (model.W of a static model).
        statics = {
            self._params[i]: args[i] for i in self.static_argnums if i < min(len(args), len(self._params))
        }
        constants = ConstantGuard(self.fun, code.namespace, private_refs=2, statics=statics)
        with self._lock:
            self.stagings += 1
            if key not in self._cache and len(self._cache) >= MAX_STRUCTURES:
                del self._cache[next(iter(self._cache))]  # the oldest structure goes first
            self._cache[key] = (_Variant(code, constants, out_def), *self._cache.get(key, ()))
        return tree_unflatten(out_def, plain)

    # -- reading -----------------------------------------------------------------------
    def source(self, *args: Any, **kwargs: Any) -> str:
        """The Python source staged for these arguments (staging the function if needed).

        Examples
        --------
        >>> import numpy as np
        >>> import chainrule as cr
        >>> f = cr.jit(lambda x: np.sum(np.sin(x) * 2.0))
        >>> print(f.source(np.ones(3)))  # doctest: +NORMALIZE_WHITESPACE
        # <lambda> staged by chainrule.jit for x: float64 (3,)
        def lambda_staged(x):
            v0 = np.sin(x)  # numpy.sin
            v1 = v0 * 2.0  # numpy.multiply
            v2 = np.add.reduce(v1, axis=None)  # numpy.sum
            return (v2,)
        """
        key, leaves, traced = self._split(args, kwargs)
        if key is None:
            raise StagingError("source() needs plain arrays, not traced values")
        self(*args, **kwargs)
        for variant in self._cache.get(key, []):
            try:
                variant.fn(*[leaves[k] for k in traced])
            except GuardFailed:
                continue
            return variant.code.source
        raise StagingError(f"{self.__name__} could not be staged for these arguments")

    def __repr__(self) -> str:
        return f"<chainrule.jit of {self.__name__}: {self.stagings} staging(s)>"


def _failing_line(e: BaseException) -> str:
    tb = e.__traceback__
    frame = None
    while tb is not None:
        frame = tb.tb_frame
        tb = tb.tb_next
    return user_line(frame) if frame is not None else "<unknown line>"


def jit(fun: Callable[..., Any], static_argnums: int | Sequence[int] = (), fuse: bool = False) -> Jitted:
    """Stage ``fun`` into straight-line NumPy code on its first call for each input structure.

    Parameters
    ----------
    fun
        A function of NumPy arrays (pytrees of them). It may take derivatives
        inside (``chainrule.grad``, ``value_and_grad``, ``hessian``...): their
        forward and backward passes are staged too.
    static_argnums
        Positions of arguments that are not data (sizes, flags, functions):
        each new value (compared by ``==``, so hashable) stages again.
    fuse
        Evaluate chains of arithmetic on large float64 arrays in one pass with
        numexpr when it is installed (the ``jit`` extra): the same result bit
        for bit, fewer passes over memory, several threads
        (:mod:`chainrule.jit.fusion`). Off by default: where NumPy's loops use
        AVX-512 they beat numexpr's per operation, and the large temporaries
        are preallocated anyway (bench/RESULTS.md has the measurements). Without
        numexpr every line is one NumPy call, whatever this says.

    Returns
    -------
    A :class:`Jitted` callable with ``fun``'s signature. ``.source(*args)``
    shows the staged Python source.

    Notes
    -----
    * The cache key is the tree structure of the arguments, each array's
      shape and dtype, and the value of every other leaf (Python numbers are
      static: pass ``np.float64(t)`` to make a number data).
    * A branch on the data (``if np.sum(x) > 0``, a ``while`` on a residual)
      becomes a guard: the staged code checks the branch goes the same way and
      stages again when it does not (at most ``MAX_VARIANTS`` per structure,
      then the function runs as is). Each outcome keeps its own staged
      variant in the structure's cache entry, so alternating branches do not
      stage again. Shapes that depend on the data (``x[x > 0]``,
      ``np.nonzero``) are guarded the same way.
    * An error raised by NumPy during staging and caught by the function
      (``try: inv(a) except LinAlgError:``) cannot be guarded: staging raises
      :class:`~chainrule.errors.StagingError` saying so. When the staged code
      raises at a later call, the function runs as is for that call.
    * Large temporaries (32768 elements or more) that never leave the call
      are preallocated once per thread and reused by later calls: memory of
      one call's temporaries is held between calls.
    * Threads may share a jitted function: the cache is locked while it
      changes, and one thread stages at a time.
    * Values read from closures and globals are constants of the staged code.
      Rebinding them, or writing into a closed-over array, stages again
      (:mod:`chainrule.jit.constants` gives the exact policy). Random numbers
      drawn inside the function, the clock and other outside state are frozen
      at staging: pass them in as arguments.
    * Printing a traced value, converting it to a Python number or writing
      into an array with it raise :class:`~chainrule.errors.StagingError`
      naming the line.
    * Inside ``grad`` or another ``jit`` the function runs as is (the outer
      transformation traces it); put ``jit`` outermost.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> loss = lambda w: np.sum(np.tanh(w) ** 2)
    >>> step = cr.jit(cr.value_and_grad(loss))
    >>> value, g = step(np.array([0.5, -1.0]))
    >>> bool(np.allclose(g, cr.grad(loss)(np.array([0.5, -1.0]))))
    True
    """
    return Jitted(fun, static_argnums, fuse)
