"""Fusion: orientation networks refined with the gyroscope, the per-axis blend, and a classical baseline.

* :mod:`imukin.fusion.optimize`: whole-sequence SO(3) refinement of network orientations;
* :mod:`imukin.fusion.blend`: per-axis scale and weight between angle network and refined angles;
* :mod:`imukin.fusion.refine`: the framework (angle net + orientation net + optimiser + blend);
* :mod:`imukin.fusion.classical`: a VQF filter per sensor, relative orientation to joint angles.

The reference's per-frame BFGS, for speed comparisons only, is ``benchmarks/reference_bfgs.py``.
"""
from imukin.fusion.optimize import OptimizeConfig, OptimizeResult, optimize_orientations

__all__ = ["OptimizeConfig", "OptimizeResult", "optimize_orientations"]
