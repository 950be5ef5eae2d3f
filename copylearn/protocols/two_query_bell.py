"""Two queries of an unknown unitary on halves of Bell pairs, registered as ``two-query-bell``.

The learner with quantum memory of docs/theory.md §18.2. Register A sits on ``LineQubit(2i)``
and the memory B on ``LineQubit(2i + 1)`` (as in ``bell``), so the measured columns
interleave a_0, b_0, a_1, b_1, ... exactly like ReCirq's ``learn_dynamics_q`` files. The
circuit: H(a_i), CNOT(a_i -> b_i) (n Bell pairs |Phi+>); the two queries of U; then the Bell
measurement CNOT(a_i -> b_i), H(a_i) and Z on all 2n qubits, with outcome labels (0,0), (0,1),
(1,0), (1,1) = Phi+, Psi+, Phi-, Psi- per pair.

Two equivalent forms of the queries (option ``form``):

* ``"parallel"`` (default, what the simulator runs): U on A and U on B in the same layers.
  Since SWAP|Phi+> = |Phi+>, (U (x) I) SWAP (U (x) I)|Phi+> = (U (x) U)|Phi+> = (U U^T (x) I)
  |Phi+>, so it is the same state with no SWAP layer (docs/theory.md §18.2);
* ``"swap"``: U on A, SWAP(a_i, b_i), U on A again: the layout of the experiment, in which U
  only ever acts on the chain of A (ReCirq's ``_build_circuit``).

Every outcome comes from executing the chosen circuit on the backend (qsim's state vector on
the state path when the circuit has that shape). One experiment queries U twice
(``copies_per_shot = 2``: the dataset's copies are queries of U).
"""

from __future__ import annotations

from typing import Any, ClassVar

import cirq
import numpy as np

from copylearn.parameters import Parameter
from copylearn.pauli import pack_bits, unpack_bits
from copylearn.processes import query_protocol_notes
from copylearn.protocols import ESTIMATORS, Protocol, register_protocol

FORMS = ("parallel", "swap")


def _form(value):
    if not isinstance(value, str) or value not in FORMS:
        raise ValueError(f"{value!r} is not a form: use 'parallel' or 'swap'.")
    return value


@register_protocol
class TwoQueryBell(Protocol):
    """U queried twice on halves of Bell pairs; outcome law |tr(sigma_m^dagger U U^T)|^2/4^n.

    docs/theory.md §18.2. ``state`` is read as the unitary U (any circuit state, normally a
    :class:`copylearn.processes.Process`); a state with per-shot parameters is queried with
    the same parameter values in both queries (one U per shot).

    Parameters
    ----------
    form : {"parallel", "swap"}
        How the two queries are laid out (module docstring); same outcome law.
    """

    name = "two-query-bell"
    description = "Bell pairs, U on A, SWAP A<->B, U on A, Bell measurement (quantum memory)"
    copies_per_shot = 2
    arrays = ("m_a", "m_b")
    estimators = ()
    unknown = "process"
    unit = "queries of U"
    parameters = (
        Parameter("form", "parallel", _form, "queries: 'parallel' (U on A and B) or 'swap'"),
    )
    plot_style: ClassVar[dict[str, Any]] = {
        "label": "two queries on Bell pairs (quantum memory)",
        "short": "two-query",
        "marker": "o",
        "marker_name": "●",
        "colours": ["blue", "sky_blue", "bluish_green"],
    }
    unsupported_notes: ClassVar[dict[str, str]] = query_protocol_notes(
        ("estimators", "calibration", *ESTIMATORS)
    )

    def __init__(self, *, form: str = "parallel") -> None:
        self.form = _form(form)

    def build(self, state) -> tuple[cirq.Circuit, tuple[str, ...]]:
        """Bell pairs, the two queries of U (``form``), the Bell measurement; U's symbols."""
        from copylearn.protocols.two_copy import bell_measurement, registers

        a, b = registers(state.n)
        bell = cirq.Circuit(
            cirq.Moment(cirq.H(x) for x in a),
            cirq.Moment(cirq.CNOT(x, y) for x, y in zip(a, b, strict=True)),
        )
        if self.form == "parallel":
            queries = state.prep_circuit(a).zip(state.prep_circuit(b))
        else:
            swap = cirq.Circuit(cirq.Moment(cirq.SWAP(x, y) for x, y in zip(a, b, strict=True)))
            queries = state.prep_circuit(a) + swap + state.prep_circuit(a)
        return bell + queries + bell_measurement(a, b), tuple(state.parameter_names)

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """U's per-shot parameters (``rngs["state_a"]``; none for a fixed U); nothing recorded."""
        return state.sample_parameters(rngs["state_a"], shots), {}

    def outcome_arrays(
        self, record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Packed outcome bits of register A (``m_a``) and memory B (``m_b``)."""
        return {"m_a": pack_bits(measurements["a"]), "m_b": pack_bits(measurements["b"])}

    def unpack(self, arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """``"m_a"``, ``"m_b"``: ``(shots, n)`` bits of pair i in column i."""
        return {"m_a": unpack_bits(arrays["m_a"], n), "m_b": unpack_bits(arrays["m_b"], n)}

    def place(self, device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
        """Bell pairs on couplers, A a chain (B a chain too with ``ladder``), as ``bell``."""
        from copylearn.protocols.two_copy import BellSampling

        return BellSampling.place(self, device, n, ladder)

    def device_capacity(self, device) -> tuple[int, str]:
        """The most Bell pairs on couplers the device holds."""
        from copylearn.protocols.two_copy import BellSampling

        return BellSampling.device_capacity(self, device)
