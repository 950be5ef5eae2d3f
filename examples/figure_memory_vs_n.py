# %% [markdown]
# # `figures/memory_vs_n`: copies needed versus n at fixed k qubits of quantum memory
#
# The `partial-bell` protocol (docs/theory.md §20) with k = 2 stored qubits: the first two
# qubit pairs of two copies are Bell-measured, the other n - 2 qubits of both copies are
# measured after one shared random Clifford. Its N* grows as 2^(n-2) (§20.4), so versus n the
# fitted base is 2, as for the single-copy random-Clifford shadow learner (2^n): at fixed k the
# memory buys a constant factor, 2^k/alpha^2 up to the constants, not a different base.
#
# The committed figure: `copylearn sweep experiments/memory_vs_n.toml --out
# figures/memory_vs_n` (n = 3..8, alpha = 0.9, 100 trials a point). Here: a small sweep
# over n, its plot and fit, and the committed store as a data frame.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
import os
import tempfile
from pathlib import Path

import copylearn as cl
from copylearn.fits import fit_groups
from copylearn.plotting import plot_store
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## A small sweep over n at k = 1 (quick) or k = 2

# %%
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 3105
strategies = ["partial-bell", "clifford-shadow"]
[grid]
n = {[2, 3] if QUICK else [3, 4, 5, 6]}
alpha = 0.9
queries = 1
target = {0.6 if QUICK else 0.9}
trials = {20 if QUICK else 100}
max_copies = 200000
backend = "auto"
[strategy.partial-bell]
memory_qubits = {1 if QUICK else 2}
""",
    "memory_vs_n (example)",
)
store = OUT / "memory_vs_n"
rows = run_sweep(config, store, workers=0, progress=False)
table = cl.load_results(store).to_pandas()
print(table[["strategy", "n", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
for fit in fit_groups(rows):
    print(fit["strategy"], "fitted base in n:", fit["base"])
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: both learners grow as 2^n, memory cheaper by a factor

# %%
committed = cl.load_results(REPO / "figures" / "memory_vs_n").to_pandas()
print(committed[["strategy", "n", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
