# %% [markdown]
# # `figures/purity_separation`: purity testing with and without quantum memory
#
# The `purity-testing` task (docs/theory.md §14): is ρ a random pure state (a brickwork of
# Haar two-qubit gates, depth 2n) or the maximally mixed state I/2^n? Bell sampling on two
# copies estimates tr(ρ²) from the parity of singlets and needs a number of copies flat in n;
# single-copy learners need ∝ √2^n (collisions in one random Clifford basis) or more
# (random-Pauli purity estimation).
#
# The committed figure: `copylearn sweep experiments/purity_separation.toml --out
# figures/purity_separation`. Here: the purity of a pure and a mixed state from Bell data, a
# small sweep, its table, fits and plot, and the committed store as a data frame.
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
# ## tr(ρ²) from Bell data: a pure brickwork state against the maximally mixed state

# %%
copies = 400 if QUICK else 20_000
pure = cl.random_brickwork_state(3, depth=6, seed=1)
mixed = cl.PauliEigenstate("ZZZ", sign=0)  # a random Z eigenstate per shot: rho = I/8
for name, state in (("pure", pure), ("mixed", mixed)):
    purity = cl.collect(state, "bell", copies, seed=2).purity()
    print(name, purity.to_pandas()[["value", "stderr"]].to_dict("records"))

# %% [markdown]
# ## A small sweep over n
#
# (Quick mode leaves out the Clifford-shadow collision test, the costliest point.)

# %%
CLIFFORD = """
[strategy.clifford-shadow]
n = [4, 5, 6, 7, 8]
max_copies = 1024
"""
config = parse_config(
    f"""
[sweep]
task = "purity-testing"
seed = 2111
strategies = {["bell", "pauli-shadow"] if QUICK else ["bell", "clifford-shadow", "pauli-shadow"]}
[grid]
n = {[1, 2, 3] if QUICK else [1, 2, 3, 4, 6, 8]}
preparation = "brickwork"
noise = "none"
target = 0.9
trials = {35 if QUICK else 100}
max_copies = 64
backend = "auto"
{"" if QUICK else CLIFFORD}[strategy.pauli-shadow]
n = {[1, 2] if QUICK else [1, 2, 3, 4]}
max_copies = {256 if QUICK else 2048}
""",
    "purity_separation (example)",
)
store = OUT / "purity_separation"
run_sweep(config, store, workers=0, progress=False)

# %% [markdown]
# ## The summary and the figure

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
# ## The committed figure's store: Bell flat to n = 12, collisions to n = 14

# %%
committed = cl.load_results(REPO / "figures" / "purity_separation").to_pandas()
print(committed.pivot(index="n", columns="strategy", values="n_star"))
