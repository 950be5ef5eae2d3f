# %% [markdown]
# # Bring your own data: PennyLane shadows and ReCirq files in copylearn
#
# copylearn's estimators also run on measurement data that other tools collected. This
# example imports
#
# 1. a PennyLane classical shadow (`qml.classical_shadow`'s `bits` and `recipes`) and checks
#    that copylearn's estimates are PennyLane's own `ClassicalShadow.expval`;
# 2. a pair of ReCirq `qml_lfe` "states" files (`learn_states_c`: bits and basis codes with
#    ReCirq's −X and −Y bases; `learn_states_q`: two-copy Bell outcomes) and estimates
#    tr(Pρ) = α·s and tr(Pρ)² = α² from them.
#
# The layouts and sign conventions are docs/theory.md §21. The command-line form is
# `copylearn import --format pennylane|recirq-states FILES --out DATA.npz`.
#
# Environment: `COPYLEARN_EXAMPLE_QUICK=1` uses small sizes (and the committed PennyLane
# arrays instead of running PennyLane); files are written only under `COPYLEARN_EXAMPLE_OUT`
# (default: a fresh temporary directory).

# %%
import os
import tempfile
from pathlib import Path

import numpy as np

import copylearn as cl
from copylearn.interop import read_recirq_states, write_recirq_states

QUICK = os.environ.get("COPYLEARN_EXAMPLE_QUICK") == "1"
OUT = Path(os.environ.get("COPYLEARN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="byo_data_"))
OUT.mkdir(parents=True, exist_ok=True)
try:
    ROOT = Path(__file__).resolve().parent.parent
except NameError:  # run cell by cell in a notebook from examples/
    ROOT = Path.cwd().parent
print("copylearn", cl.__version__, "writing under", OUT)

# %% [markdown]
# ## 1. A PennyLane classical shadow
#
# With PennyLane installed (and not in quick mode) we collect a shadow of a 4-qubit product
# eigenstate |+⟩|−⟩|+i⟩|1⟩ on `default.qubit`; otherwise we read the same kind of arrays,
# saved by `np.savez(path, bits=bits, recipes=recipes)`, from the repository's test data.

# %%
try:
    if QUICK:
        raise ImportError("quick mode: use the saved arrays")
    import pennylane as qml
except ImportError:
    qml = None

if qml is not None:
    device = qml.device("default.qubit", wires=4, seed=7)

    @qml.set_shots(3000)  # PennyLane >= 0.42; before: qml.device(..., shots=3000)
    @qml.qnode(device)
    def circuit():
        qml.Hadamard(0)
        qml.PauliX(1)
        qml.Hadamard(1)
        qml.Hadamard(2)
        qml.S(2)
        qml.PauliX(3)
        return qml.classical_shadow(wires=range(4))

    bits, recipes = circuit()
    shadow = cl.from_pennylane(qml.ClassicalShadow(bits, recipes))
else:
    with np.load(ROOT / "tests" / "data" / "pennylane_shadow_4q.npz") as saved:
        bits, recipes = saved["bits"], saved["recipes"]
    shadow = cl.from_pennylane(bits, recipes)
print(shadow, shadow.metadata["source"])

# %% [markdown]
# Known values of this eigenstate: X₀ = +1, X₁ = −1, Y₂ = +1, Z₃ = −1 (and their products).
# `estimate` is the mean of the snapshots' values, which is what PennyLane's
# `ClassicalShadow.expval(H, k=1)` computes.

# %%
labels = ["XIII", "IXII", "IIYI", "IIIZ", "XXYZ", "ZIII"]
estimates = shadow.estimate(labels)
print(estimates)
if qml is not None:
    words = [qml.PauliX(0), qml.PauliX(1), qml.PauliY(2), qml.PauliZ(3)]
    theirs = qml.ClassicalShadow(bits, recipes).expval(words, k=1)
    print("PennyLane expval:", np.round(theirs, 12))
    assert np.allclose(estimates.values[:4], theirs, atol=1e-12, rtol=0)

# %% [markdown]
# ## 2. ReCirq states files
#
# ReCirq's generators write `Q-size-{n}-pauli-{P}.npy` (and, for the single-copy data,
# `…-basis.npy`). Here copylearn plays the part of the device: it collects both protocols on
# (I + 0.9·s·P)/2ⁿ and writes the data in ReCirq's layout; files written by ReCirq itself are
# read the same way.

# %%
state = cl.PauliMixedState("XYZI", alpha=0.9, sign=-1)
copies = 4_000 if QUICK else 40_000
for protocol in ("pauli-shadow", "bell"):
    data = cl.collect(state, protocol=protocol, copies=copies, seed=11)
    folder = OUT / f"recirq_{protocol}"
    paths = write_recirq_states(data, folder, overwrite=True)
    print(protocol, "->", [p.name for p in paths])

# %% [markdown]
# Import: `learn_states_c` bits plus basis codes (0 → +Z, 1 → −X, 2 → −Y) become random-Pauli
# shadows with −X, −Y read as X, Y and the bit complemented; `learn_states_q`'s interleaved
# columns a₀, b₀, a₁, b₁, … become Bell-sampling data.

# %%
single = read_recirq_states(sorted((OUT / "recirq_pauli-shadow").glob("*.npy")))
two_copy = read_recirq_states([OUT / "recirq_bell" / "Q-size-4-pauli-XYZI.npy"])
signed = single.estimate(["XYZI", "XIII"])
squared = two_copy.estimate_square(["XYZI", "XIII"])
print(signed)
print(squared)
value, stderr = signed["XYZI"]
print(f"tr(Pρ) = {value:.3f} ± {stderr:.3f} (α·s = -0.9)")
value, stderr = squared["XYZI"]
print(f"tr(Pρ)² = {value:.3f} ± {stderr:.3f} (α² = 0.81)")
