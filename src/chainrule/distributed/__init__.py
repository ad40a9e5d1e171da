"""chainrule on Dask: finite differences on a cluster, gradients over Dask arrays.

* Finite differences: pass ``executor=client`` (or any
  ``concurrent.futures.Executor``) to :mod:`chainrule.numerical` or
  :func:`chainrule.check_grad`; :func:`cluster_client` opens a client to an
  address or on a new LocalCluster.

Dask is an optional extra: ``pip install "chainrule[dask]"``.
"""

from .cluster import INSTALL_HINT, MissingDaskError, cluster_client, ship_by_value

__all__ = ["INSTALL_HINT", "MissingDaskError", "cluster_client", "ship_by_value"]
