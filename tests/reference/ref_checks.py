"""Comparisons for the reference tests: relative error max|got - want| / max|want| against a
tolerance, failures collected in a list (the test prints them all and exits 1)."""
import numpy as np


def relative_check(failures, what, got, want, tol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        failures.append(f"{what}: shape {got.shape} != {want.shape}")
        return 0.0
    denom = max(float(np.max(np.abs(want))), 1e-30)
    err = float(np.max(np.abs(got - want))) / denom
    if not err <= tol:
        failures.append(f"{what}: relative error {err:.3g} > {tol}")
    return err
