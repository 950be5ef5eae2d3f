"""Single-copy random global Clifford shadows, registered as ``clifford-shadow``.

Each snapshot (or group of ``shots_per_unitary`` shots) draws a Clifford C uniformly from
the n-qubit Clifford group (:func:`copylearn.clifford.random_tableaux`, the protocol's own
seed stream), appends its circuit to the state's preparation and measures Z on every qubit.
The circuit is one parameterised template per n (:func:`copylearn.clifford.template`):
gates H, S^-1, CNOT, X, Z with exponents 0/1, so the backend executes one circuit with one
parameter setting per distinct Clifford, and a resolved circuit is a Clifford circuit.

The dataset keeps the measured bits and each shot's tableau, bit-packed: ``tableau_x`` and
``tableau_z`` hold the 2n rows C X_j C†, C Z_j C† (row r in words
``[r * n_words(n), (r + 1) * n_words(n))``), ``signs_x`` and ``signs_z`` their sign bits.
The estimators work from the tableau alone (docs/theory.md §13):
x̂_Q = (2^n + 1) [C Q C† diagonal] (-1)^{k/2} (-1)^{b'.b}.
"""

from __future__ import annotations

from typing import Any, ClassVar

import cirq
import numpy as np

from copylearn.clifford import (
    clifford_shadow_values,
    line_template_circuit,
    random_tableaux,
    template,
    template_exponents,
)
from copylearn.errors import CopylearnError
from copylearn.parameters import Parameter
from copylearn.pauli import n_words, pack_bits, unpack_bits
from copylearn.protocols import Protocol, prefix_sums, register_protocol

_TABLEAU_ARRAYS = ("tableau_x", "tableau_z")
# Shots per chunk of the vectorised estimator: bounds its (shots, M, 2n) temporaries.
_CHUNK_ELEMENTS = 1 << 21
#: Median-of-means batches hold this many times the single-shot second moment 2^n + 1.
MIN_SECOND_MOMENTS_PER_BATCH = 10
#: Largest n: the template has 3.5 n^2 + 3.5 n gates and each Clifford costs O(n^3) bit
#: operations to draw and synthesise, so 10 snapshots take about 40 s at n = 64 on one core.
MAX_QUBITS = 64


def _shots_per_unitary(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(
            f"{value!r} is not a positive integer: give the number of shots measured under "
            "each random Clifford, e.g. 1."
        )
    return int(value)


def tableaux(arrays: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recorded tableaux, unpacked: ``(shots, 2n, n)``, ``(shots, 2n, n)``, ``(shots, 2n)``."""
    shots = arrays["tableau_x"].shape[0]
    words = n_words(n)
    xs, zs = (unpack_bits(arrays[name].reshape(shots, 2 * n, words), n) for name in _TABLEAU_ARRAYS)
    rs = np.concatenate(
        [unpack_bits(arrays["signs_x"], n), unpack_bits(arrays["signs_z"], n)], axis=1
    )
    return xs, zs, rs


@register_protocol
class CliffordShadow(Protocol):
    """Random global Clifford shadows: one copy per shot, a uniformly random n-qubit Clifford.

    Single-shot value of Q != I: (2^n + 1) [C Q C† diagonal] <b|C Q C†|b>, mean tr(Q rho),
    second moment 2^n + 1 (docs/theory.md §13.1); tr(Q rho)^2 by the U-statistic over pairs
    of distinct snapshots (§3.3).

    ``shots_per_unitary`` (R) shots share each drawn Clifford. The registered instance uses
    R = 1, for which every shot is an independent snapshot; the estimators' standard errors
    and the U-statistic assume R = 1 (grouped estimators, and collisions for purity, need
    the group structure: :meth:`groups` is the hook).
    """

    name = "clifford-shadow"
    description = "single-copy random global Clifford shadows (HKP20, E x_Q^2 = 2^n + 1)"
    copies_per_shot = 1
    arrays = ("bits", "tableau_x", "tableau_z", "signs_x", "signs_z")
    estimators = ("tr(Q rho)", "tr(Q rho)^2", "|tr(Q rho)|")
    statistic = "tr(Q rho)"
    unsupported_notes: ClassVar[dict[str, str]] = {
        "calibration": "; the noise of a global random Clifford does not factor over qubits"
    }
    variance_growth: ClassVar[tuple[float, str] | None] = (2.0, "Clifford shadows")
    plot_style: ClassVar[dict[str, Any]] = {
        "label": "random-Clifford shadows",
        "short": "Clifford",
        "marker": "^",
        "marker_name": "▲",
        "colours": ["bluish_green", "yellow", "black"],
    }
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter(
            "shots_per_unitary",
            1,
            _shots_per_unitary,
            "shots measured under each random Clifford (R), a positive integer",
        ),
    )

    def __init__(self, *, shots_per_unitary: int = 1) -> None:
        self.shots_per_unitary = self.parameters[0].validate(shots_per_unitary)

    # ----- circuits and data ---------------------------------------------------------------
    def build(self, state) -> tuple[cirq.Circuit, tuple[str, ...]]:
        """The state's preparation, the parameterised Clifford template, Z measurement."""
        n = state.n
        if n > MAX_QUBITS:
            raise CopylearnError(
                f"protocol {self.name!r} holds at most {MAX_QUBITS} qubits (a random global "
                f"Clifford on n qubits is a {3.5 * n * n + 3.5 * n:,.0f}-gate circuit drawn in "
                f"O(n^3)), got n = {n}: use n <= {MAX_QUBITS} or protocol 'pauli-shadow'."
            )
        qubits = cirq.LineQubit.range(n)
        tpl = template(n)
        circuit = (
            state.prep_circuit(qubits)
            + line_template_circuit(n).unfreeze(copy=False)
            + cirq.Circuit(cirq.Moment(cirq.measure(*qubits, key="m")))
        )
        return circuit, state.parameter_names + tpl.parameter_names

    def groups(self, shots: int) -> np.ndarray:
        """``(shots,)`` index of the Clifford each shot is measured under (R per Clifford)."""
        return np.arange(shots) // self.shots_per_unitary

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Per-shot values (state randomness, then template exponents) and the tableaux.

        ``rngs["state_a"]`` drives the state's randomness, ``rngs["protocol"]`` the
        Cliffords: ceil(shots / R) of them, shot s under Clifford s // R.
        """
        n = state.n
        group = self.groups(shots)
        count = int(group[-1]) + 1 if shots else 0
        xs, zs, rs = random_tableaux(n, count, rngs["protocol"])
        exps = template_exponents(xs, zs, rs)[group]
        xs, zs, rs = xs[group], zs[group], rs[group]
        values = np.concatenate(
            [state.sample_parameters(rngs["state_a"], shots), exps.astype(np.float64)], axis=1
        )
        record = {
            "tableau_x": pack_bits(xs).reshape(shots, -1),
            "tableau_z": pack_bits(zs).reshape(shots, -1),
            "signs_x": pack_bits(rs[:, :n]),
            "signs_z": pack_bits(rs[:, n:]),
        }
        return values, record

    def array_words(self, name: str, n: int) -> int:
        """Tableau arrays hold 2n rows of ``n_words(n)`` words; the others one row."""
        return 2 * n * n_words(n) if name in _TABLEAU_ARRAYS else n_words(n)

    def outcome_arrays(
        self, record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Dataset arrays: the packed tableaux and the packed measured bits."""
        return {"bits": pack_bits(measurements["m"]), **record}

    def unpack(self, arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """``"bits"`` ``(shots, n)``; ``"xs"``, ``"zs"`` ``(shots, 2n, n)`` and ``"rs"``
        ``(shots, 2n)``: each shot's tableau (row j < n is C X_j C†, row n + j is C Z_j C†)."""
        xs, zs, rs = tableaux(arrays, n)
        return {"bits": unpack_bits(arrays["bits"], n), "xs": xs, "zs": zs, "rs": rs}

    def place(self, device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
        """Refused: a global Clifford has no placement on a device's couplers yet."""
        raise CopylearnError(self._no_device())

    def device_capacity(self, device) -> tuple[int, str]:
        """Refused, as :meth:`place`."""
        raise CopylearnError(self._no_device())

    def _no_device(self) -> str:
        return (
            f"protocol {self.name!r} applies a global random Clifford (all-to-all CNOTs) and "
            "cannot be placed on a device: run it without device=."
        )

    def min_batch_shots(self, weight: int, n: int | None = None) -> int:
        """``10 * (2^n + 1)``: a batch holds about 10 times the second moment 2^n + 1 of the
        single-shot value, for any Q != I of any weight (docs/theory.md §13.1), so the batch
        means are not a handful of discrete values.

        Raises
        ------
        CopylearnError
            ``n`` not given (the rule depends on the register, not on the weight).
        """
        if n is None:
            raise CopylearnError(
                f"protocol {self.name!r}: the median-of-means batch size depends on n: pass n."
            )
        return MIN_SECOND_MOMENTS_PER_BATCH * (2**n + 1)

    def batch_rule(self, weight: int, n: int | None = None) -> str:
        """The rule in words, for the refusal of too many batches."""
        return (
            f"{MIN_SECOND_MOMENTS_PER_BATCH}*(2^{n} + 1) = {self.min_batch_shots(weight, n)} "
            "(the single-shot second moment is 2^n + 1 for every Q)"
        )

    # ----- estimators ----------------------------------------------------------------------
    def supports(self, estimator: str) -> bool:
        """Declared estimators, and tr(rho^2) when R = ``shots_per_unitary`` >= 2."""
        return super().supports(estimator) or (
            estimator == "tr(rho^2)" and self.shots_per_unitary >= 2
        )

    def purity_estimate(self, arrays, n):
        """(d + 1) c-hat - 1 from same-Clifford collisions (docs/theory.md §14.3)."""
        from copylearn.purity import collision_purity

        basis = [arrays[k] for k in ("tableau_x", "tableau_z", "signs_x", "signs_z")]
        words = sum(b.shape[1] for b in basis)
        keys = np.concatenate([*basis, arrays["bits"]], axis=1)
        value, stderr = collision_purity(keys, words, n)
        return value, stderr, "same-Clifford collisions"

    def sums_values(self, paulis, data):
        """``(shots, M)`` single-shot estimates x̂_Q (docs/theory.md §13.1)."""
        n = paulis.n
        qx, qz = unpack_bits(paulis.x, n), unpack_bits(paulis.z, n)
        xs, zs, rs = tableaux(data, n)
        bits = unpack_bits(data["bits"], n)
        shots = bits.shape[0]
        out = np.empty((shots, len(paulis)))
        size = max(1, _CHUNK_ELEMENTS // max(1, len(paulis) * 4 * n * n))
        for start in range(0, shots, size):
            sl = slice(start, start + size)
            out[sl] = clifford_shadow_values(xs[sl], zs[sl], rs[sl], bits[sl], qx, qz, paulis.sign)
        return out

    def sums(self, paulis, arrays, ends=None):
        """Sums of x̂_Q and x̂_Q^2, over all shots or per prefix (see :meth:`Protocol.sums`)."""
        return prefix_sums(self.sums_values(paulis, arrays), ends)
