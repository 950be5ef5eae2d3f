"""Derandomized Pauli shadows for observables known in advance, registered as
``derandomized-shadow`` (Huang, Kueng & Preskill, PRL 127, 030503 (2021); docs/theory.md §17).

The observables are given before any copy is measured (``collect(...,
observables="XXI,ZZI")``, CLI ``--observables``, or ``options={"observables": ...}``); the
greedy derandomization (:func:`copylearn.derandomize.derandomized_bases`) fixes every round's
single-qubit bases from them, and each round is measured by executing the same Cirq circuit
as ``pauli-shadow`` (the state's preparation, ``Z**(-s/2)`` and ``H**h`` basis rotations, a
measurement) on the simulator backend. tr(Q rho) is the mean of Q's eigenvalue
``(-1)^(parity of the bits on supp Q)`` over the rounds whose bases agree with Q on its support
(no 3^|Q| factor), with the standard error of that mean.

It does not apply when the queries are revealed after the data, as in the
``pauli-prediction`` task (the learner would have to derandomize for every candidate query);
runs of it are labelled "queries known in advance".
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from copylearn.derandomize import derandomized_bases, letter_codes
from copylearn.errors import CopylearnError
from copylearn.parameters import Parameter
from copylearn.pauli import pack_bits, popcount
from copylearn.protocols import Protocol, get_protocol, register_protocol

#: The accuracy in the derandomization's cost function (docs/theory.md §17.1).
EPSILON = 0.9


def _observables(value: Any) -> str:
    """Canonical comma-separated unsigned labels ('' = none given yet)."""
    if not isinstance(value, str):
        raise ValueError(
            f"{value!r} is not a comma-separated list of Pauli labels: give e.g. 'XXI,ZZI'."
        )
    labels = [t.strip().lstrip("+-").upper() for t in value.split(",") if t.strip()]
    for label in labels:
        if set(label) - set("IXYZ"):
            raise ValueError(f"{label!r} is not a Pauli label: use the letters I, X, Y, Z.")
        if set(label) == {"I"}:
            raise ValueError(f"{label!r} is the identity, which needs no measurement: drop it.")
    if len({len(label) for label in labels}) > 1:
        raise ValueError("the observables have different lengths: give one letter per qubit.")
    return ",".join(labels)


def _epsilon(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 2:
        raise ValueError(f"{value!r} is not a number in (0, 2]: use e.g. epsilon = 0.9.")
    return float(value)


@register_protocol
class DerandomizedShadow(Protocol):
    """Single-copy Pauli measurements with bases derandomized for known observables.

    Same circuit and dataset arrays as ``pauli-shadow`` (its ``build``, ``outcome_arrays``,
    ``unpack`` and device placement are used as they are); the bases come from the greedy
    derandomization of the declared observables instead of a random draw.
    """

    name = "derandomized-shadow"
    description = (
        "single-copy Pauli bases derandomized for observables known in advance (HKP21); "
        "queries known in advance"
    )
    copies_per_shot = 1
    arrays = ("bits", "bases_x", "bases_z")
    estimators = ("tr(Q rho)", "|tr(Q rho)|")
    statistic = "tr(Q rho)"
    calibrates = False
    variance_growth: ClassVar[tuple[float, str] | None] = None
    unsupported_notes: ClassVar[dict[str, str]] = {
        "tr(Q rho)^2": " (its rounds are chosen for the observables, not random)",
        "tr(rho^2)": " (the randomized-measurement purity needs random bases)",
        "calibration": "; its bases are fixed by the observables",
    }
    parameters = (
        Parameter(
            "observables",
            "",
            _observables,
            "the observables known in advance, comma-separated labels (required)",
        ),
        Parameter("epsilon", EPSILON, _epsilon, "accuracy in the greedy cost function"),
    )
    plot_style: ClassVar[dict[str, Any]] = {
        "label": "derandomized shadows (queries known in advance)",
        "short": "derandomized",
        "marker": "v",
        "marker_name": "▼",
        "colours": ["bluish_green", "sky_blue", "black"],
    }

    def __init__(self, observables: str = "", epsilon: float = EPSILON) -> None:
        self.observables = observables
        self.epsilon = epsilon

    @staticmethod
    def _shadow() -> Protocol:
        """pauli-shadow, whose circuit and arrays this protocol shares."""
        return get_protocol("pauli-shadow")

    def build(self, state):
        """pauli-shadow's circuit: preparation, basis rotations (0/1 exponents), measurement."""
        return self._shadow().build(state)

    def outcome_arrays(self, record, measurements):
        """Packed bases and eigenvalue bits, as pauli-shadow's."""
        return self._shadow().outcome_arrays(record, measurements)

    def unpack(self, arrays, n):
        """``"bases"`` (X = 1, Y = 2, Z = 3) and ``"bits"``, as pauli-shadow's."""
        return self._shadow().unpack(arrays, n)

    def place(self, device, n, ladder):
        """Qubit i on the i-th qubit of a chain of the device, as pauli-shadow."""
        return self._shadow().place(device, n, ladder)

    def device_capacity(self, device):
        """The longest chain the device holds."""
        return self._shadow().device_capacity(device)

    def codes(self, n: int) -> np.ndarray:
        """``(L, n)`` letter codes of the declared observables.

        Raises
        ------
        CopylearnError
            None declared, or they are not on ``n`` qubits.
        """
        if not self.observables:
            raise CopylearnError(
                "protocol 'derandomized-shadow' needs the observables in advance: pass "
                "observables='XXI,ZZI' to collect (CLI --observables XXI,ZZI)."
            )
        labels = self.observables.split(",")
        if len(labels[0]) != n:
            raise CopylearnError(
                f"observables: {labels[0]!r} has {len(labels[0])} letters but the state has "
                f"{n} qubits: give one letter per qubit."
            )
        return letter_codes(labels, n)

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Per-shot parameters: the state's randomness, then the derandomized bases.

        The bases depend only on the observables, ``shots`` and epsilon (§17.1);
        ``rngs["state_a"]`` drives the state's own randomness.
        """
        bases = derandomized_bases(self.codes(state.n), shots, epsilon=self.epsilon)
        codes = bases - 1  # X = 0, Y = 1, Z = 2, as pauli-shadow's draw
        own = state.sample_parameters(rngs["state_a"], shots)
        k, n = own.shape[1], state.n
        values = np.empty((shots, k + 2 * n), dtype=np.uint8)
        values[:, :k] = own
        values[:, k : k + n] = codes == 1  # s: S-dagger for Y
        values[:, k + n :] = codes != 2  # h: H for X and Y, and the x bit
        record = {"bases_x": pack_bits(codes != 2), "bases_z": pack_bits(codes != 0)}
        return values, record

    def direct_estimate(self, paulis, arrays):
        """Mean eigenvalue over the rounds that hit each Q, its standard error (§17.2).

        Raises
        ------
        CopylearnError
            An observable measured in fewer than 2 rounds (name it among the declared
            observables, or collect more copies).
        """
        from copylearn.data import _pm1_stderr

        bx, bz, bits = arrays["bases_x"], arrays["bases_z"], arrays["bits"]
        values = np.empty(len(paulis))
        stderr = np.empty(len(paulis))
        hits = np.empty(len(paulis), dtype=np.int64)
        for i in range(len(paulis)):
            x, z = paulis.x[i], paulis.z[i]
            support = x | z
            hit = popcount(((bx ^ x) | (bz ^ z)) & support) == 0
            h = int(hit.sum())
            if h < 2:
                raise CopylearnError(
                    f"observable {paulis.labels[i]!r} was measured in {h} round(s) of "
                    f"{len(bx)}: declare it in observables= before collecting, or collect "
                    "more copies."
                )
            eig = 1 - 2 * (popcount(bits[hit] & support) & 1).astype(np.float64)
            eig *= paulis.sign[i]
            hits[i] = h
            values[i] = eig.mean()
            var = eig.var(ddof=1)
            stderr[i] = _pm1_stderr(np.array([values[i]]), np.array([var]), h)[0]
        method = (
            f"queries known in advance: mean over the {hits.min()} to {hits.max()} rounds "
            "that measured Q"
        )
        return values, stderr, int(hits.min()), method

    def sums(self, paulis, arrays, ends=None):
        """Refused: the estimate is a mean over the rounds that hit Q, not over all shots."""
        raise CopylearnError(
            "derandomized-shadow data are averaged over the rounds that measured each "
            "observable (Dataset.estimate), not summed over all shots: it runs in no sweep task."
        )

    def sums_values(self, paulis, data):
        """Refused, as :meth:`sums`."""
        return self.sums(paulis, data)

    def min_batch_shots(self, weight: int, n: int | None = None) -> int:
        """Refused: median of means is not defined for derandomized rounds."""
        raise CopylearnError("derandomized-shadow has no median of means: use the plain mean.")
