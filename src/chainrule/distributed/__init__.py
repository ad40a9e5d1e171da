"""chainrule on Dask: finite differences on a cluster, gradients over Dask arrays.

* Finite differences: pass ``executor=client`` (or any
  ``concurrent.futures.Executor``) to :mod:`chainrule.numerical` or
  :func:`chainrule.check_grad`; :func:`cluster_client` opens a client to an
  address or on a new LocalCluster.
* Data-parallel gradients: :func:`dask_value_and_grad` (a loss over Dask
  arrays, NumPy parameters, chunk by chunk in bounded memory) and
  :func:`dask_objective` (the same for :func:`chainrule.optim.minimize`).
* Dask arrays as parameters are refused (:func:`refuse_dask_parameters`).

Dask is an optional extra: ``pip install "chainrule[dask]"``; this package
imports it only when one of its functions runs.
"""

from .arrays import dask_objective, dask_value_and_grad
from .cluster import INSTALL_HINT, MissingDaskError, cluster_client, ship_by_value
from .parameters import dask_parameter_message, is_dask_array, refuse_dask_parameters

__all__ = [
    "INSTALL_HINT",
    "MissingDaskError",
    "cluster_client",
    "dask_objective",
    "dask_parameter_message",
    "dask_value_and_grad",
    "is_dask_array",
    "refuse_dask_parameters",
    "ship_by_value",
]
