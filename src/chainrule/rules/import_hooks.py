"""Run a callback when a module is imported: now if it already is, else right after its import.

The rules of an optional library's functions (``scipy.special``'s ufuncs) are
registered when that library is imported, not when chainrule is: importing
SciPy costs more than importing chainrule itself, and a user who never touches
SciPy should not pay for it. The rules must still be there before the user can
reach any of the library's functions, so the callback runs inside the import,
right after the module's own code and before ``import scipy.special`` returns:
there is no moment at which a SciPy ufunc exists and its rule does not.

A finder at the front of :data:`sys.meta_path` answers for the watched names
only: it asks the other finders for the module's spec and wraps its loader,
whose ``exec_module`` runs the module, puts the original loader back on the
module (nothing else ever sees the wrapper), then runs the callbacks. The
finder removes itself once every watched module has been imported.

>>> seen = []
>>> after_import("chainrule.extend", lambda module: seen.append(module.__name__))
>>> seen  # already imported: called at once
['chainrule.extend']
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["after_import"]

Callback = Callable[[types.ModuleType], None]


def after_import(name: str, callback: Callback) -> None:
    """Call ``callback(module)`` once module ``name`` is imported (at once if it already is).

    Parameters
    ----------
    name : str
        The module's full name, e.g. ``"scipy.special"``.
    callback : callable
        Called with the module object, after the module's code has run and
        before the ``import`` statement that loaded it returns. An exception it
        raises propagates out of that ``import`` statement (never swallowed).
    """
    with _LOCK:
        module = sys.modules.get(name)
        if module is None:
            _FINDER.callbacks.setdefault(name, []).append(callback)
            if _FINDER not in sys.meta_path:
                sys.meta_path.insert(0, _FINDER)
            return
    callback(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader the other finders give for a watched module."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callback]] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.callbacks:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: importlib.machinery.ModuleSpec | None = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None  # not installed: the import fails as it would without this finder
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # a namespace package or a legacy loader: run the callbacks on the next lookup
        spec.loader = _Loader(spec.loader, fullname)
        return spec


class _Loader(importlib.abc.Loader):
    """The original loader, then the callbacks of the module it loaded."""

    def __init__(self, loader: Any, name: str) -> None:
        self.loader = loader
        self.name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: types.ModuleType) -> None:
        # The module and its spec keep the original loader (importlib has read spec.loader by now).
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        with _LOCK:
            callbacks = _FINDER.callbacks.pop(self.name, [])
            if not _FINDER.callbacks and _FINDER in sys.meta_path:
                sys.meta_path.remove(_FINDER)
        for callback in callbacks:
            callback(module)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.loader, attribute)  # get_resource_reader, is_package, ...


_LOCK = threading.Lock()
_FINDER = _Finder()
