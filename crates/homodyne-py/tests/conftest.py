"""Shared helpers: the real v1 package's vectors, as the Rust crates' tests use them."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CRATES = Path(__file__).resolve().parents[2]
VECTORS = {
    "angles": CRATES / "homodyne-angles" / "tests" / "data" / "angles.json",
    "kernels": CRATES / "homodyne-kernels" / "tests" / "data" / "kernels.json",
    "objective": CRATES / "homodyne-kernels" / "tests" / "data" / "objective.json",
}


def decode(value: Any) -> Any:
    """JSON conventions of the vectors: {shape, data} arrays, non-finite floats as strings."""
    if isinstance(value, dict) and set(value) == {"shape", "data"}:
        return np.array([decode(v) for v in value["data"]], dtype=np.float64).reshape(value["shape"])
    if isinstance(value, list):
        return [decode(v) for v in value]
    if value in ("NaN", "Infinity", "-Infinity"):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    return value


def load(name: str) -> Any:
    with open(VECTORS[name], encoding="utf-8") as file:
        return json.load(file)


@pytest.fixture(scope="session")
def angles_vectors() -> Any:
    return load("angles")


@pytest.fixture(scope="session")
def kernels_vectors() -> Any:
    return load("kernels")


@pytest.fixture(scope="session")
def objective_vectors() -> Any:
    return load("objective")


def v1_config(case: dict, *, bounds: Any = None) -> dict:
    """The laminar-flow template's keys that the objective reads, with the case's overrides."""
    override = copy.deepcopy(case["config_override"]["analyzer_parameters"])
    config = {
        "analyzer_parameters": override,
        "analysis_settings": {"static_mode": False},
        "optimization_config": {
            "angle_filtering": {
                "enabled": True,
                "target_ranges": [{"min_angle": -10.0, "max_angle": 10.0}, {"min_angle": 170.0, "max_angle": 190.0}],
                "fallback_to_all_angles": True,
            },
            "classical_optimization": {
                "method_options": {"Nelder-Mead": {"maxiter": 200, "xatol": 1e-10, "fatol": 1e-10, "adaptive": True}}
            },
        },
        "advanced_settings": {
            "chi_squared_calculation": {
                "uncertainty_estimation_factor": 0.1,
                "minimum_sigma": 1e-10,
                "validity_check": {
                    "check_positive_D0": True,
                    "check_positive_gamma_dot_t0": True,
                    "check_parameter_bounds": True,
                },
            }
        },
        "initial_parameters": {"values": list(case["true_params"])},
    }
    if bounds is not None:
        config["parameter_space"] = {"bounds": bounds}
    return config
