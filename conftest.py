"""Skip modules whose optional dependency is missing when pytest collects doctests."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("scipy") else ["src/chainrule/rules/special.py"]
