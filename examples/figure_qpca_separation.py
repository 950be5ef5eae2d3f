# %% [markdown]
# # `figures/qpca_separation`: quantum PCA on a noisy state, with and without quantum memory
#
# The `principal-component` task (docs/theory.md §19, our own concrete version of the Science
# experiment's quantum-PCA idea): ρ = (1−λ)|ψ⟩⟨ψ| + λ I/2^n with a hidden full-weight Pauli P
# that fixes ψ (Pψ = sψ). After the data a query Q is revealed (P, or another full-weight
# Pauli). Bell sampling on two copies estimates R_Q = tr(QρQρ)/tr(ρ²) by the self-normalised
# ratio Σ f_Q σ / Σ σ and calls Q hot iff R̂_Q > 1/2, without knowing λ: copies needed flat in
# n. Single-copy Clifford shadows estimate tr(Qρ) = (1−λ)⟨Q⟩_ψ and need the rule
# |x̄_Q| > (1−λ)/2, which is told λ: copies needed ∝ 2^n.
#
# The committed figures: `copylearn sweep experiments/qpca_separation.toml --out
# figures/qpca_separation` and `experiments/qpca_noise_fraction.toml` (N* versus λ). Here: one
# noisy instance, its ratio against the exact value, a small sweep, its fits and plot.
# `COPYLEARN_EXAMPLE_QUICK=1`: tiny sizes; `COPYLEARN_EXAMPLE_OUT=DIR`: where it writes.

# %%
import os
import tempfile
from pathlib import Path

import numpy as np

import copylearn as cl
from copylearn.fits import fit_groups
from copylearn.plotting import plot_store
from copylearn.states import pauli_matrix
from copylearn.sweep import parse_config, run_sweep, summary_rows
from copylearn.tasks import get_task

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="copylearn-"))

# %% [markdown]
# ## One instance: the ratio from Bell data against tr(QρQρ)/tr(ρ²)

# %%
task = get_task("principal-component")
instance = task.sample_instance({"n": 3, "noise_fraction": 0.3}, np.random.default_rng(7))
state = instance.state  # a PrincipalComponentState: the preparation U plus per-shot X flips
rho = state.density_matrix()  # exact, by NumPy Kraus evolution (no simulator)
data = cl.collect(state, "bell", copies=2_000 if QUICK else 40_000, seed=3)
labels = [state.pauli, "XXX", "ZYX"]
ratio = data.estimate_principal_ratio(labels)
for label, value, stderr in zip(labels, ratio.values, ratio.stderr, strict=True):
    q = pauli_matrix(label)
    exact = np.trace(q @ rho @ q @ rho).real / np.trace(rho @ rho).real
    print(f"{label}: R = {value:.3f} ± {stderr:.3f}   exact {exact:.3f}")

# %% [markdown]
# ## A small sweep over n (Bell only in the quick version)

# %%
clifford = "" if QUICK else "\n[strategy.clifford-shadow]\nn = [3]\ntrials = 60\n"
config = parse_config(
    f"""
[sweep]
task = "principal-component"
seed = 1914
strategies = {["bell"] if QUICK else ["bell", "clifford-shadow"]}
[grid]
n = {[3, 4] if QUICK else [3, 4, 5, 6]}
noise_fraction = 0.3
noise = "none"
target = {0.6 if QUICK else 0.9}
trials = {20 if QUICK else 100}
max_copies = {256 if QUICK else 4096}
{clifford}""",
    "qpca_separation (example)",
)
store = OUT / "qpca_separation"
run_sweep(config, store, workers=0, progress=False)

# %% [markdown]
# ## The summary and the figure

# %%
for row in summary_rows(store):
    print(row["spec"]["strategy"], row["spec"]["n"], row["n_star"], row["n_star_ci"])
for fit in fit_groups(summary_rows(store)):
    print(f"{fit['strategy']}: fitted base b = {fit['base']}")
for path in plot_store(store, OUT / "figures"):
    print(path)

# %% [markdown]
# ## The committed figure's store: the two-copy ratio rule flat in n

# %%
REPO = Path(__file__).resolve().parent.parent if "__file__" in globals() else Path.cwd()
committed = cl.load_results(REPO / "figures" / "qpca_separation").to_pandas()
print(committed[["strategy", "n", "n_star", "n_star_ci_low", "n_star_ci_high"]].to_string())
