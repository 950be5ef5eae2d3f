"""Two-copy Bell sampling, registered as ``bell``: two copies in quantum memory, measured jointly.

Copy A sits on ``LineQubit(2i)`` and copy B on ``LineQubit(2i + 1)``, so each Bell pair
(A_i, B_i) is adjacent. The measurement stage is CNOT(A_i -> B_i), H(A_i), then Z on all
qubits, mapping Phi+ -> (0,0), Psi+ -> (0,1), Phi- -> (1,0), Psi- -> (1,1) (docs/theory.md §4.1).
The two copies carry independent draws of the state's per-shot randomness, so the data
state is exactly rho (x) rho.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import cirq
import numpy as np

from copylearn.pauli import bell_sums, bell_values, pack_bits, popcount, unpack_bits
from copylearn.protocols import Protocol, register_protocol, state_columns
from copylearn.streams import PackedColumns, as_array, stream_of, takes_packed


def place_pairs(device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
    """Copy A's qubit i (``LineQubit(2i)``) and copy B's (``LineQubit(2i + 1)``) on a coupler
    of ``device`` for every i (copy A a chain; copy B too with ``ladder``), as
    :func:`copylearn.devices.place_pairs` finds them."""
    from copylearn import devices

    a, b = devices.place_pairs(device, n, ladder=ladder)
    physical = {cirq.LineQubit(2 * i): a[i] for i in range(n)}
    physical |= {cirq.LineQubit(2 * i + 1): b[i] for i in range(n)}
    return physical


def pair_capacity(device) -> tuple[int, str]:
    """The most Bell pairs on couplers ``device`` holds, and what that counts."""
    from copylearn import devices

    return devices.max_pairs(device), "Bell pairs on couplers"


def registers(n: int) -> tuple[list[cirq.LineQubit], list[cirq.LineQubit]]:
    """Copy A's and copy B's qubits: A_i = LineQubit(2i), B_i = LineQubit(2i + 1)."""
    return [cirq.LineQubit(2 * i) for i in range(n)], [cirq.LineQubit(2 * i + 1) for i in range(n)]


def bell_measurement(a: Sequence[cirq.Qid], b: Sequence[cirq.Qid]) -> cirq.Circuit:
    """CNOT(a_i -> b_i), H(a_i), then measure A under key ``"a"`` and B under key ``"b"``."""
    return cirq.Circuit(
        cirq.Moment(cirq.CNOT(x, y) for x, y in zip(a, b, strict=True)),
        cirq.Moment(cirq.H(x) for x in a),
        cirq.Moment(cirq.measure(*a, key="a"), cirq.measure(*b, key="b")),
    )


@register_protocol
class BellSampling(Protocol):
    """Bell sampling on rho (x) rho: f_Q(m) = (-1)^{#Y(Q)} (-1)^{q.m}, E f_Q = tr(Q rho)^2.

    docs/theory.md §4.2 (the estimator), §4.4 (purity), §4.5 (all squares at once).
    """

    name = "bell"
    description = "two-copy Bell sampling (quantum memory holds two copies)"
    copies_per_shot = 2
    arrays = ("m_a", "m_b")
    estimators = (
        "tr(Q rho)^2",
        "|tr(Q rho)|",
        "tr(rho^2)",
        "all tr(Q rho)^2",
        "tr(Q rho Q rho)/tr(rho^2)",
    )
    statistic = "tr(Q rho)^2"
    calibrates = True
    plot_style: ClassVar[dict[str, Any]] = {
        "label": "two-copy Bell sampling",
        "short": "Bell",
        "marker": "o",
        "marker_name": "●",
        "colours": ["blue", "sky_blue", "bluish_green"],
    }
    unsupported_notes: ClassVar[dict[str, str]] = {
        "tr(Q rho)": " (Bell-sampling data determine tr(Q rho)^2 only, not the sign)"
    }

    def build(self, state) -> tuple[cirq.Circuit, tuple[str, ...]]:
        """The parameterised two-copy circuit for ``state`` and its parameter names."""
        a, b = registers(state.n)
        circuit = state.prep_circuit(a, prefix="a_").zip(
            state.prep_circuit(b, prefix="b_")
        ) + bell_measurement(a, b)
        names = tuple("a_" + p for p in state.parameter_names) + tuple(
            "b_" + p for p in state.parameter_names
        )
        return circuit, names

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Per-shot parameter values: independent draws for copy A and copy B.

        ``rngs["state_a"]`` and ``rngs["state_b"]`` drive the two copies; nothing is recorded.
        With stream 2 (``rngs.stream``) each copy's columns are drawn packed where the state
        can (:func:`copylearn.protocols.state_columns`).
        """
        stream = stream_of(rngs)
        a = state_columns(state, rngs["state_a"], shots, stream)
        b = state_columns(state, rngs["state_b"], shots, stream)
        if isinstance(a, PackedColumns) and isinstance(b, PackedColumns):
            return PackedColumns.join([a, b]), {}
        return np.concatenate([as_array(a), as_array(b)], axis=1), {}

    @takes_packed
    def outcome_arrays(
        self, record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Dataset arrays: packed outcome bits of copy A (``m_a``) and copy B (``m_b``)."""
        return {"m_a": pack_bits(measurements["a"]), "m_b": pack_bits(measurements["b"])}

    def unpack(self, arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """``"m_a"`` and ``"m_b"``, ``(shots, n)``: (0,0), (0,1), (1,0), (1,1) = Phi+, Psi+,
        Phi-, Psi-."""
        return {"m_a": unpack_bits(arrays["m_a"], n), "m_b": unpack_bits(arrays["m_b"], n)}

    def place(self, device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
        """Bell pairs on couplers (copy A a chain; copy B too with ``ladder``)."""
        return place_pairs(device, n, ladder)

    def device_capacity(self, device) -> tuple[int, str]:
        """The most Bell pairs on couplers the device holds."""
        return pair_capacity(device)

    def sums(self, paulis, arrays, ends=None):
        """Sums of f_Q and f_Q^2 (see :meth:`Protocol.sums`)."""
        return bell_sums(paulis, arrays["m_a"], arrays["m_b"], ends)

    def sums_values(self, paulis, data):
        """``(shots, M)`` single-shot values f_Q in {+1, -1}."""
        return bell_values(paulis, data["m_a"], data["m_b"]).astype(np.float64)

    def purity_values(self, arrays):
        """(-1)^{number of singlet outcomes}, mean tr(rho^2) (docs/theory.md §4.4)."""
        singlets = popcount(arrays["m_a"] & arrays["m_b"])
        return 1.0 - 2.0 * (singlets & 1)

    def outcome_codes(self, arrays, n):
        """2n-bit outcome codes for the Walsh transform (docs/theory.md §4.5)."""
        from copylearn.data import bell_outcome_codes

        return bell_outcome_codes(arrays["m_a"], arrays["m_b"], n)

    def calibration_prefixes(self) -> tuple[str, ...]:
        """Copy A's and copy B's eigenstate signs multiply (s_A s_B f_L)."""
        return ("a_", "b_")

    def calibration_stderr(self, mean, w, shots):
        """Binomial-aware error of a +-1 mean."""
        from copylearn.data import _pm1_stderr

        return _pm1_stderr(mean, w.var(axis=0, ddof=1), shots)
