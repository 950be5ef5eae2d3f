# %% [markdown]
# # `figures/memory_tradeoff_n12`: copies needed versus k at n = 12
#
# The `partial-bell` learner with k qubits of quantum memory (docs/theory.md §20) at n = 12,
# α = 0.9, for k = 4..12: N* halves per stored qubit, about 13 (2^(n−k) + 1)/α⁴ copies, as
# at n = 8 (`figures/memory_tradeoff`). The single-copy random-Clifford level is not measured
# at n = 12 (about 45,000 copies per trial); the figure says so.
#
# The committed figure: `copylearn sweep experiments/memory_tradeoff_n12.toml --out
# figures/memory_tradeoff_n12` (100 trials a point). Here: a small sweep over k, its figure
# and fit in n − k, and the committed store. `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes;
# `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
import os
import tempfile
from pathlib import Path

import copylearn as cl
from copylearn.memory_tradeoff import summary_lines
from copylearn.plotting import plot_store
from copylearn.sweep import parse_config, run_sweep

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()

# %% [markdown]
# ## A small sweep over k (quick: n = 4, k = 1..4)

# %%
config = parse_config(
    f"""
[sweep]
task = "pauli-prediction"
seed = 2406
strategies = ["partial-bell"]
[grid]
n = {4 if QUICK else 12}
alpha = 0.9
queries = 1
target = {0.6 if QUICK else 0.9}
trials = {20 if QUICK else 100}
max_copies = 200000
backend = "auto"
[strategy.partial-bell]
memory_qubits = {[1, 2, 3, 4] if QUICK else list(range(6, 13))}
""",
    "memory_tradeoff_n12 (example)",
)
store = OUT / "memory_tradeoff_n12"
rows = run_sweep(config, store, workers=0, progress=False)
print("\n".join(summary_lines(rows)))
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: N* halves per stored qubit at n = 12

# %%
committed = cl.load_results(REPO / "figures" / "memory_tradeoff_n12").to_pandas()
print(committed[["strategy", "memory_qubits", "n_star", "n_star_ci_low", "n_star_ci_high"]])
