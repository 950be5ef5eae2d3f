# %% [markdown]
# # `figures/dynamics_weber`: learning about dynamics on a simulated Sycamore processor
#
# The `time-reversal` task (docs/theory.md §18) with every circuit compiled to Google's `weber`
# device, as in the Science 2022 experiment: U acts on the chain of copy A, a SWAP layer moves
# the state to copy B between the two queries, every Bell pair sits on a coupler, and the
# circuit runs as Sycamore gates under cirq-google's calibrated noise (README, "Simulated
# Google devices"; needs `pip install 'copylearn[devices]'`). Both learners use their
# noise-robust rules with thresholds fixed on held-out calibration circuits (§18.2–18.3).
#
# The committed figure: `copylearn sweep experiments/dynamics_weber.toml --out
# figures/dynamics_weber` (experiments/README.md gives its wall time). Here: both kinds of U
# on weber, a small sweep (skipped in quick mode: every trial's circuit is compiled and
# simulated as a noisy density matrix, about a minute per point even at n = 2), its table,
# fits and plot, and the committed store as a data frame.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
# requires: cirq_google
import os
import tempfile
from pathlib import Path

import numpy as np

import copylearn as cl
from copylearn.fits import fit_groups
from copylearn.plotting import plot_store
from copylearn.processes import sample_process
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## Two queries per experiment on weber: a symmetric and a scrambling U
#
# The fraction of Bell pairs not (0, 0): the device's noise lifts it above 0 for a symmetric
# U, a scrambling U lifts it much further.

# %%
n = 2
for family in ("tsym", "scrambling"):
    process = sample_process(family, n, np.random.default_rng(7))
    data = cl.collect(
        process, "two-query-bell", copies=40 if QUICK else 400, seed=8, device="weber"
    )
    shots = data.outcomes()
    not_zero = shots["m_a"] | shots["m_b"]  # [experiments, n]: pair i is not (0, 0)
    print(f"{family}: pairs not (0, 0) {not_zero.mean():.3f} over {not_zero.size} pairs")

# %% [markdown]
# ## A small sweep over n on the device

# %%
store = REPO / "figures" / "dynamics_weber"  # quick mode: the committed store instead
if not QUICK:
    config = parse_config(
        """
[sweep]
task = "time-reversal"
seed = 2022
strategies = ["two-query-bell", "conventional-y"]
[grid]
n = [2]
circuits = "brickwork"
depth = "2n"
device = "weber"
target = 0.8
trials = 40
max_copies = 256
[strategy.conventional-y]
n = [4]
trials = 100
max_copies = 8192
""",
        "dynamics_weber (example)",
    )
    store = OUT / "dynamics_weber"
    run_sweep(config, store, workers=0, progress=False)

# %% [markdown]
# ## The summary and the figure (N* counts queries of U)

# %%
results = cl.load_results(store)
table = results.to_pandas()
print(table[["strategy", "n", "n_star", "n_star_ci_low", "n_star_ci_high", "reached"]].to_string())
for fit in fit_groups(results.summary_rows()):
    if fit["base"] is None:  # too few points for a fit
        continue
    print(f"{fit['strategy']}: fitted base b = {fit['base']:.3g}")
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store

# %%
committed = cl.load_results(REPO / "figures" / "dynamics_weber").to_pandas()
print(committed.pivot(index="n", columns="strategy", values="n_star"))
