"""Drop-in for users of v1 (``homodyne-analysis`` 1.0.1) configurations.

:func:`objective_settings` maps the keys of a v1 JSON configuration that its
objective reads onto :class:`homodyne_rs.Objective`'s arguments;
:meth:`homodyne_rs.Objective.from_v1_config` builds the objective from them,
and :func:`fit` runs v1's classical fit (scipy's Nelder-Mead with the
options and starting point of the same file) or, with
``method="least_squares"``, homodyne-rs's bounded least squares with the
file's bounds and start, which returns uncertainties.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ._objective import Objective
from ._v1_config import DEFAULT_RANGES, ConfigLike, _section, load_config, objective_settings, parameter_bounds

__all__ = ["DEFAULT_RANGES", "fit", "load_config", "objective_settings", "parameter_bounds"]


def fit(
    config: ConfigLike,
    c2_exp: Any,
    phi: Any,
    *,
    x0: Any = None,
    options: Optional[Mapping[str, Any]] = None,
    method: str = "Nelder-Mead",
    fixed: Any = None,
    multistart: int = 0,
) -> Any:
    """v1's classical fit of a configuration's data.

    ``method="Nelder-Mead"`` (v1's): ``scipy.optimize.minimize(objective,
    x0, method="Nelder-Mead", options=...)`` with the starting point
    ``initial_parameters.values`` and the options
    ``optimization_config.classical_optimization.method_options.Nelder-Mead``
    of the configuration (``x0`` and ``options`` override them); returns
    scipy's ``OptimizeResult``.

    ``method="least_squares"``: :meth:`homodyne_rs.Objective.fit` on the
    same objective (v1's angle filter and sigma rule) from the same start,
    bounded by ``parameter_space.bounds``; ``options`` may set
    ``max_iterations``, ``ftol``, ``xtol``, ``gtol``; ``fixed`` and
    ``multistart`` as for :func:`homodyne_rs.fit`. Returns a
    :class:`homodyne_rs.FitResult` (``x``, ``fun`` and ``nfev`` as scipy's,
    plus uncertainties and covariance).
    """
    loaded = load_config(config)
    objective = Objective.from_v1_config(loaded, c2_exp, phi)
    if x0 is None:
        values = _section(loaded, "initial_parameters").get("values")
        if values is None:
            raise ValueError("the v1 configuration has no initial_parameters.values (pass x0)")
        x0 = list(values)[: objective.n_params]
    if method == "least_squares":
        known = {"max_iterations", "ftol", "xtol", "gtol"}
        settings = dict(options or {})
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown least_squares options {unknown} (known: {sorted(known)})")
        return objective.fit(
            x0, bounds=parameter_bounds(loaded, objective.n_params), fixed=fixed, multistart=multistart, **settings
        )
    if method != "Nelder-Mead":
        raise ValueError(f"method must be 'Nelder-Mead' or 'least_squares', got {method!r}")
    from scipy.optimize import minimize

    if options is None:
        methods = _section(loaded, "optimization_config", "classical_optimization", "method_options")
        options = dict(_section(methods, "Nelder-Mead"))
    return minimize(objective, x0, method="Nelder-Mead", options=dict(options))
