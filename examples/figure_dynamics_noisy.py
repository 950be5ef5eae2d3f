# %% [markdown]
# # `figures/dynamics_noisy`: learning about dynamics under a noise model
#
# The `time-reversal` task (docs/theory.md §18) with every gate followed by depolarizing noise
# (p = 0.005 on each of its qubits) and every measured bit flipped with probability 0.01
# (`copylearn/noise.py`). A symmetric U no longer returns all zeros, so both learners use
# their noise-robust rules (§18.2–18.3): `two-query-bell` compares the fraction of Bell pairs
# not (0, 0) with a threshold, `conventional-y` its collision statistic with the midpoint of
# its class means; each threshold is fixed on held-out calibration circuits of both classes
# and recorded in the row's `decision_rule`.
#
# The committed figure: `copylearn sweep experiments/dynamics_noisy.toml --out
# figures/dynamics_noisy` (about 22 min). Here: both kinds of U under the noise, a small
# sweep, its table, fits and plot, and the committed store as a data frame.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
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
NOISE = "depolarizing:0.005+readout:0.01"

# %% [markdown]
# ## Two queries per experiment under noise: a symmetric and a scrambling U
#
# The fraction of Bell pairs not (0, 0): small but no longer 0 for a symmetric U, large for a
# scrambling one, so a threshold between the two still tells them apart.

# %%
n = 2
for family in ("tsym", "scrambling"):
    process = sample_process(family, n, np.random.default_rng(7))
    data = cl.collect(process, "two-query-bell", copies=40 if QUICK else 400, seed=8, noise=NOISE)
    shots = data.outcomes()
    not_zero = shots["m_a"] | shots["m_b"]  # [experiments, n]: pair i is not (0, 0)
    print(f"{family}: pairs not (0, 0) {not_zero.mean():.3f} over {not_zero.size} pairs")

# %% [markdown]
# ## A small sweep over n
#
# With few trials the 95% Wilson lower bound reaches the target only when (almost) every trial
# succeeds, so in quick mode a point may be "not reached" (drawn as a lower bound).

# %%
config = parse_config(
    f"""
[sweep]
task = "time-reversal"
seed = 2022
strategies = ["two-query-bell", "conventional-y"]
[grid]
n = {[2] if QUICK else [2, 3, 4]}
circuits = "brickwork"
depth = "2n"
noise = "{NOISE}"
target = 0.8
trials = {16 if QUICK else 40}
max_copies = {16 if QUICK else 256}
[strategy.conventional-y]
n = {[4] if QUICK else [4, 5]}
trials = {16 if QUICK else 100}
max_copies = {256 if QUICK else 8192}
""",
    "dynamics_noisy (example)",
)
store = OUT / "dynamics_noisy"
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
# ## The committed figure's store: two or three queries with memory, hundreds without

# %%
committed = cl.load_results(REPO / "figures" / "dynamics_noisy").to_pandas()
print(committed.pivot(index="n", columns="strategy", values="n_star"))
