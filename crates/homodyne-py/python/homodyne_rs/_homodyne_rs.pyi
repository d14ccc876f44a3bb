"""Type stubs of the extension module homodyne_rs._homodyne_rs (PyO3); the
pure-Python modules of the package carry their own annotations."""

import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

ArrayLike = npt.ArrayLike
Ranges = Sequence[Tuple[float, float]]
Key = Union[str, bytes]

class CacheError(Exception): ...
class PerfError(Exception): ...

class NotIdentifiableError(ValueError):
    parameters: List[str]

class FitResult:
    params: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    uncertainties: npt.NDArray[np.float64]
    covariance: npt.NDArray[np.float64]
    parameter_names: List[str]
    angle_indices: npt.NDArray[np.int64]
    contrast: npt.NDArray[np.float64]
    contrast_uncertainties: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    offset_uncertainties: npt.NDArray[np.float64]
    chi2: float
    chi2_reduced: float
    degrees_of_freedom: int
    symmetric_data: bool
    objective: float
    fun: float
    at_bounds: List[bool]
    n_evaluations: int
    nfev: int
    n_jacobians: int
    n_iterations: int
    success: bool
    message: str
    termination: str
    starts: List[Dict[str, Any]]

def filter_angles(
    phi: ArrayLike, ranges: Ranges, *, fallback: bool = True, wrap: bool = False
) -> npt.NDArray[np.int64]: ...
def fast_correlation(x: ArrayLike, y: ArrayLike) -> float: ...
def correlation_matrix(rows: ArrayLike, other: Optional[ArrayLike] = None) -> npt.NDArray[np.float64]: ...
def chi_squared(observed: ArrayLike, expected: ArrayLike) -> Union[float, npt.NDArray[np.float64]]: ...
def chi_squared_weighted(
    observed: ArrayLike, expected: ArrayLike, sigma: ArrayLike, *, dof: Optional[int] = None
) -> ChiSquared: ...
def chi_squared_batch(
    theory: ArrayLike, exp: ArrayLike, contrast: ArrayLike, offset: ArrayLike
) -> npt.NDArray[np.float64]: ...
def solve_scaling_batch(
    theory: ArrayLike, exp: ArrayLike
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def c2_theory(
    params: ArrayLike,
    phi: ArrayLike,
    *,
    n_frames: int,
    dt: float,
    q: float,
    gap: float,
    mode: str = "laminar_flow",
    sinc: str = "normalized",
) -> npt.NDArray[np.float64]: ...

class ChiSquared:
    chi2: float
    dof: int
    reduced: float
    p_value: float

class Objective:
    def __init__(
        self,
        c2_exp: ArrayLike,
        phi: ArrayLike,
        *,
        dt: float,
        q: float,
        gap: float,
        mode: str = "laminar_flow",
        angle_ranges: Optional[Ranges] = None,
        filter_angles: bool = True,
        fallback: bool = True,
        sinc: str = "normalized",
        sigma_factor: float = 0.1,
        minimum_sigma: float = 1e-10,
        validity: Optional[Mapping[str, Any]] = None,
    ) -> None: ...
    def __call__(self, params: ArrayLike) -> float: ...
    def components(self, params: ArrayLike) -> Dict[str, Any]: ...
    def gradient(self, params: ArrayLike) -> npt.NDArray[np.float64]: ...
    def value_and_gradient(self, params: ArrayLike) -> Tuple[float, npt.NDArray[np.float64]]: ...
    def fit(
        self,
        x0: ArrayLike,
        *,
        bounds: Optional[List[Tuple[float, float]]] = None,
        fixed: Optional[List[bool]] = None,
        multistart: int = 0,
        seed: int = 0,
        max_iterations: int = 200,
        ftol: float = 1e-10,
        xtol: float = 1e-10,
        gtol: float = 1e-10,
    ) -> FitResult: ...
    @property
    def selected_angles(self) -> npt.NDArray[np.int64]: ...
    @property
    def n_params(self) -> int: ...
    @property
    def c2_exp(self) -> npt.NDArray[np.float64]: ...
    @property
    def settings(self) -> Dict[str, Any]: ...

class MemoryEfficientCache:
    def __init__(
        self,
        max_memory_mb: float = 500.0,
        compression_level: int = 1,
        ttl_seconds: Optional[float] = 3600.0,
        max_entries: int = 10000,
        *,
        hot_fraction: float = 0.25,
        compress_min_bytes: int = 65536,
    ) -> None: ...
    def set(self, key: Key, array: np.ndarray) -> None: ...
    def get(self, key: Key) -> Optional[np.ndarray]: ...
    def get_or_compute(self, key: Key, compute: Callable[[], np.ndarray]) -> np.ndarray: ...
    def remove(self, key: Key) -> bool: ...
    def clear(self) -> None: ...
    def stats(self) -> Dict[str, Union[int, float, bool]]: ...
    def save(self, directory: Union[str, "os.PathLike[str]"]) -> Path: ...
    def load(self, directory: Union[str, "os.PathLike[str]"]) -> Dict[str, Union[int, List[str]]]: ...
    def __contains__(self, key: Key) -> bool: ...
    def __len__(self) -> int: ...

class PerfVerdict:
    name: str
    outcome: str
    severity: Optional[str]
    ratio: Optional[float]
    ratio_ci: Optional[Tuple[float, float]]
    p_regression: Optional[float]
    p_improvement: Optional[float]
    min_detectable_change: Optional[float]
    fastest_ratio_ci: Optional[Tuple[float, float]]
    base_samples: int
    head_samples: int
    def __bool__(self) -> bool: ...

class PerformanceRecorder:
    regression_threshold: float
    def __init__(
        self,
        baseline: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        regression_threshold: float = 1.3,
        noise: float = 0.05,
        alpha: float = 0.01,
    ) -> None: ...
    def record_metric(self, name: str, metric_name: str, value: float) -> None: ...
    def check_regression(self, name: str, metric_name: str, value: float) -> PerfVerdict: ...
    def samples(self) -> Dict[str, List[float]]: ...
    def save_baselines(
        self, directory: Union[str, "os.PathLike[str]"] = "baselines", *, commit: Optional[str] = None
    ) -> Path: ...
    def compare(self, head: Union["PerformanceRecorder", str, "os.PathLike[str]"]) -> Dict[str, Any]: ...
