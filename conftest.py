"""Collection rules for the whole repository (pytest reads this before anything else)."""

try:
    import dask.array  # noqa: F401

    collect_ignore_glob: list[str] = []
except ImportError:
    # chainrule.distributed's examples need Dask, an optional extra ("chainrule[dask]"):
    # without it their doctests are not collected (the tests in tests/ skip, saying why).
    collect_ignore_glob = ["src/chainrule/distributed/arrays.py"]
