"""The keys of a v1 (``homodyne-analysis`` 1.0.1) configuration that its
objective and its fit read (no dependence on the rest of the package).

:func:`objective_settings` maps the keys of a v1 JSON configuration that its
objective reads onto :class:`homodyne_rs.Objective`'s arguments;
:meth:`homodyne_rs.Objective.from_v1_config` builds the objective from them,
and :func:`fit` runs v1's classical fit (scipy's Nelder-Mead with the
options and starting point of the same file) or, with
``method="least_squares"``, homodyne-rs's bounded least squares with the
file's bounds and start, which returns uncertainties.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

ConfigLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]

#: v1's default target ranges, in degrees.
DEFAULT_RANGES: List[Tuple[float, float]] = [(-10.0, 10.0), (170.0, 190.0)]


def load_config(config: ConfigLike) -> Dict[str, Any]:
    """The configuration as a dict: read from a JSON file, or copied from a mapping."""
    if isinstance(config, Mapping):
        return dict(config)
    if isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as file:
            loaded = json.load(file)
        if not isinstance(loaded, dict):
            raise ValueError(f"{os.fspath(config)}: a v1 configuration is a JSON object")
        return loaded
    raise TypeError(f"config must be a path or a mapping, got {type(config).__name__}")


def _section(config: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    node: Any = config
    for key in keys:
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
    return node if isinstance(node, Mapping) else {}


def _required(section: Mapping[str, Any], key: str, where: str) -> float:
    if key not in section:
        raise ValueError(f"the v1 configuration has no {where}.{key}")
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}.{key} must be a number, got {value!r}")
    return float(value)


def objective_settings(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Keyword arguments of :class:`homodyne_rs.Objective` for a v1
    configuration, plus ``n_frames`` (``end_frame - start_frame + 1``).

    Keys read (see v1's templates): ``analyzer_parameters.temporal.{dt,
    start_frame, end_frame}``, ``analyzer_parameters.scattering.wavevector_q``,
    ``analyzer_parameters.geometry.stator_rotor_gap``,
    ``analysis_settings.static_mode``, ``optimization_config.angle_filtering``
    (``enabled``, ``target_ranges`` of ``{min_angle, max_angle}``,
    ``fallback_to_all_angles``),
    ``advanced_settings.chi_squared_calculation`` (``uncertainty_estimation_factor``,
    ``minimum_sigma``, ``validity_check``) and ``parameter_space.bounds``.
    """
    temporal = _section(config, "analyzer_parameters", "temporal")
    where = "analyzer_parameters.temporal"
    dt = _required(temporal, "dt", where)
    start, end = _required(temporal, "start_frame", where), _required(temporal, "end_frame", where)
    n_frames = int(end - start + 1)
    if n_frames < 1 or n_frames != end - start + 1:
        raise ValueError(f"{where}: end_frame - start_frame + 1 must be a positive integer, got {end - start + 1}")
    q = _required(
        _section(config, "analyzer_parameters", "scattering"), "wavevector_q", "analyzer_parameters.scattering"
    )
    gap = _required(
        _section(config, "analyzer_parameters", "geometry"), "stator_rotor_gap", "analyzer_parameters.geometry"
    )
    static = bool(_section(config, "analysis_settings").get("static_mode", False))
    n_params = 3 if static else 7

    filtering = _section(config, "optimization_config", "angle_filtering")
    targets = filtering.get("target_ranges")
    if targets is None:
        ranges = list(DEFAULT_RANGES)
    else:
        ranges = []
        for target in targets:
            if "min_angle" not in target or "max_angle" not in target:
                # v1 drops such a range with a warning (its vectors show it).
                warnings.warn(f"target range {target!r} needs min_angle and max_angle: ignored", stacklevel=3)
                continue
            ranges.append((float(target["min_angle"]), float(target["max_angle"])))

    chi = _section(config, "advanced_settings", "chi_squared_calculation")
    checks = _section(chi, "validity_check")
    bounds_list = (
        config.get("parameter_space", {}).get("bounds", [])
        if isinstance(config.get("parameter_space"), Mapping)
        else []
    )
    bounds_list = list(bounds_list)[:n_params]

    def bound(entry: Mapping[str, Any], key: str) -> Optional[float]:
        value = entry.get(key)
        return None if value is None else float(value)

    validity = {
        "check_positive_D0": bool(checks.get("check_positive_D0", True)),
        # v1 reads this key; the templates' `check_positive_gamma0` is never read.
        "check_positive_gamma_dot_t0": bool(checks.get("check_positive_gamma_dot_t0", True)),
        "bounds": [(bound(b, "min"), bound(b, "max")) for b in bounds_list]
        if checks.get("check_parameter_bounds", True)
        else [],
        "names": [str(b.get("name", f"parameter {i}")) for i, b in enumerate(bounds_list)],
    }
    return {
        "n_frames": n_frames,
        "dt": dt,
        "q": q,
        "gap": gap,
        "mode": "static" if static else "laminar_flow",
        "angle_ranges": ranges,
        "filter_angles": bool(filtering.get("enabled", True)),
        "fallback": bool(filtering.get("fallback_to_all_angles", True)),
        "sinc": "normalized",
        "sigma_factor": float(chi.get("uncertainty_estimation_factor", 0.1)),
        "minimum_sigma": float(chi.get("minimum_sigma", 1e-10)),
        "validity": validity,
    }


def parameter_bounds(config: Mapping[str, Any], n_params: int) -> List[Tuple[float, float]]:
    """``parameter_space.bounds`` as one ``(min, max)`` pair per parameter
    (a missing bound or entry is infinite), in the model's order."""
    entries = (
        config.get("parameter_space", {}).get("bounds", [])
        if isinstance(config.get("parameter_space"), Mapping)
        else []
    )
    out = []
    for index in range(n_params):
        entry = entries[index] if index < len(entries) and isinstance(entries[index], Mapping) else {}
        lower, upper = entry.get("min"), entry.get("max")
        out.append((float("-inf") if lower is None else float(lower), float("inf") if upper is None else float(upper)))
    return out
