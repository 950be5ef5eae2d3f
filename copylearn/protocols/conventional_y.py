"""One query of an unknown unitary on |0...0>, read in the -Y basis: ``conventional-y``.

The conventional learner (no quantum memory) of docs/theory.md §18.3: U on
``LineQubit(0..n-1)`` from |0...0>, then S and H on every qubit, then Z on every qubit. H S
maps the -Y eigenstates to the computational basis (S^dagger H Z H S = S^dagger X S = -Y), so
bit y_i = 0 means Y_i = -1 and y_i = 1 means Y_i = +1: the convention of ReCirq's
``learn_dynamics_c`` (its files and ours hold the same bits). The collision statistics of the
time-reversal task only compare strings with their flips, so the sign convention does not
enter them. One shot queries U once. Every outcome comes from executing the circuit on the
backend (qsim's state vector on the state path).
"""

from __future__ import annotations

from typing import Any, ClassVar

import cirq
import numpy as np

from copylearn.pauli import pack_bits, unpack_bits
from copylearn.processes import query_protocol_notes
from copylearn.protocols import ESTIMATORS, Protocol, register_protocol


@register_protocol
class ConventionalY(Protocol):
    """U|0...0>, then S and H on every qubit, measure: the -Y basis (docs/theory.md §18.3).

    ``state`` is read as the unitary U (normally a :class:`copylearn.processes.Process`);
    its circuit applied to |0...0> is the state's own preparation.
    """

    name = "conventional-y"
    description = "U|0...0>, S and H on every qubit, measure (the -Y basis; no quantum memory)"
    copies_per_shot = 1
    arrays = ("bits",)
    estimators = ()
    unknown = "process"
    unit = "queries of U"
    plot_style: ClassVar[dict[str, Any]] = {
        "label": "one query per shot, -Y basis (conventional)",
        "short": "conventional",
        "marker": "s",
        "marker_name": "■",
        "colours": ["vermillion", "orange", "reddish_purple"],
    }
    unsupported_notes: ClassVar[dict[str, str]] = query_protocol_notes(
        ("estimators", "calibration", *ESTIMATORS)
    )

    def build(self, state) -> tuple[cirq.Circuit, tuple[str, ...]]:
        """U on |0...0>, S and H on every qubit, measure under key ``"m"``; U's symbols."""
        qubits = cirq.LineQubit.range(state.n)
        circuit = state.prep_circuit(qubits) + cirq.Circuit(
            cirq.Moment(cirq.S(q) for q in qubits),
            cirq.Moment(cirq.H(q) for q in qubits),
            cirq.Moment(cirq.measure(*qubits, key="m")),
        )
        return circuit, tuple(state.parameter_names)

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """U's per-shot parameters (``rngs["state_a"]``; none for a fixed U); nothing recorded."""
        return state.sample_parameters(rngs["state_a"], shots), {}

    def outcome_arrays(
        self, record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Packed bits ``y`` (bit 1 = Y eigenvalue +1)."""
        return {"bits": pack_bits(measurements["m"])}

    def unpack(self, arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """``"bits"``: ``(shots, n)``, qubit i in column i."""
        return {"bits": unpack_bits(arrays["bits"], n)}

    def place(self, device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
        """Qubit i on the i-th qubit of a chain of the device."""
        from copylearn import devices

        chain = devices.place_chain(device, n)
        return {cirq.LineQubit(i): chain[i] for i in range(n)}

    def device_capacity(self, device) -> tuple[int, str]:
        """The longest chain the device holds."""
        from copylearn import devices

        return devices.max_chain(device), "qubits on a chain"
