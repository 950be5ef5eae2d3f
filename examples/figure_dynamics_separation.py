# %% [markdown]
# # `figures/dynamics_separation`: learning about dynamics with two queries
#
# The `time-reversal` task (docs/theory.md §18): the unknown is an n-qubit unitary U, either
# time-reversal symmetric (U* = U up to a phase: a `tsym` brickwork) or scrambling (a
# Sycamore-like brickwork), depth 2n. `two-query-bell` applies U to copy A of Bell pairs,
# swaps the copies, applies U again and measures in the Bell basis: a symmetric U returns all
# zeros in every experiment, so two queries suffice at every n. `conventional-y` applies U to
# |0…0⟩ once per shot and measures in the −Y basis; its collision statistic needs about
# √(46·2^n) queries.
#
# The committed figure: `copylearn sweep experiments/dynamics_separation.toml --out
# figures/dynamics_separation` (53 min). Here: both kinds of U measured with two queries, a
# small sweep, its table, fits and plot, and the committed store as a data frame.
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

# %% [markdown]
# ## Two queries per experiment: a symmetric and a scrambling U
#
# The fraction of experiments whose Bell outcomes are all zeros: 1 for a symmetric U, well
# below 1 for a scrambling one.

# %%
n = 4
for family in ("tsym", "scrambling"):
    process = sample_process(family, n, np.random.default_rng(7))
    data = cl.collect(process, "two-query-bell", copies=40 if QUICK else 400, seed=8)
    shots = data.outcomes()
    zeros = ~(shots["m_a"].any(axis=1) | shots["m_b"].any(axis=1))
    print(f"{family}: all-zeros fraction {zeros.mean():.3f} of {len(zeros)} experiments")

# %% [markdown]
# ## A small sweep over n
#
# With 35 trials the 95% Wilson lower bound reaches 0.9 only when every trial succeeds, so in
# quick mode the conventional point is usually "not reached" (drawn as a lower bound).

# %%
config = parse_config(
    f"""
[sweep]
task = "time-reversal"
seed = 2022
strategies = ["two-query-bell", "conventional-y"]
[grid]
n = {[2, 3] if QUICK else [2, 3, 4, 5, 6, 8]}
circuits = "brickwork"
depth = "2n"
noise = "none"
target = 0.9
trials = {35 if QUICK else 40}
max_copies = 64
[strategy.conventional-y]
n = {[4] if QUICK else [4, 5, 6, 7, 8]}
trials = {35 if QUICK else 200}
max_copies = {1024 if QUICK else 4096}
""",
    "dynamics_separation (example)",
)
store = OUT / "dynamics_separation"
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
# ## The committed figure's store: two queries flat to n = 12, one query per shot growing

# %%
committed = cl.load_results(REPO / "figures" / "dynamics_separation").to_pandas()
print(committed.pivot(index="n", columns="strategy", values="n_star"))
