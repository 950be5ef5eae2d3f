"""Synthetic N*(n) data for the fit tests (test_fits_plots, test_fit_interval).

N* = c·b^n with multiplicative log-normal scatter, each point stated with a 95% interval
exp(±1.96·width) around it; the scatter and the stated width may differ, to test intervals
when the points' error bars are right, too wide or too narrow.
"""

from __future__ import annotations

import numpy as np


def synthetic(ns, prefactor, base, sd=0.05, seed=7, *, width=None):
    """``(ns, N*, lo, hi)`` lists: log-normal scatter ``sd``; interval width ``width``
    (default ``sd``, intervals that match the scatter)."""
    rng = np.random.default_rng(seed)
    ns = np.asarray(ns)
    width = sd if width is None else width
    n_star = prefactor * base**ns * np.exp(sd * rng.standard_normal(ns.size))
    return (
        ns.tolist(),
        n_star.tolist(),
        (n_star * np.exp(-1.96 * width)).tolist(),
        (n_star * np.exp(1.96 * width)).tolist(),
    )
