"""Collection rules for the whole repository (pytest reads this before anything else)."""

import importlib.util

# chainrule.distributed's examples need Dask, an optional extra ("chainrule[dask]"):
# without it their doctests are not collected (the tests of tests/ skip with the reason).
collect_ignore_glob = [] if importlib.util.find_spec("dask") else ["src/chainrule/distributed/arrays.py"]
