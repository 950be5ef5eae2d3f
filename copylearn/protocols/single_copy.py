"""Single-copy random-Pauli classical shadows (HKP20), registered as ``pauli-shadow``.

Each copy is measured on its own: every qubit in a basis X, Y or Z drawn uniformly at
random per shot (docs/theory.md §3.1). The rotation before the Z measurement is
``Z**(-s/2)`` then ``H**h`` with 0/1 parameters (s, h) = (0, 1) for X, (1, 1) for Y
(S-dagger then H) and (0, 0) for Z, so the measured observable is +X, +Y, +Z and the
eigenvalue is ``(-1)^bit`` in every basis.
"""

from __future__ import annotations

from typing import Any, ClassVar

import cirq
import numpy as np
import sympy

from copylearn.pauli import pack_bits, shadow_sums, shadow_values, unpack_bits
from copylearn.protocols import Protocol, register_protocol, state_columns
from copylearn.streams import PackedColumns, basis_planes, stream_of, takes_packed

BASES = "XYZ"
# Median of means: each batch must hold, on average, at least this many snapshots that match
# the heaviest observable (a batch of B shots holds B / 3^|Q| of them), i.e. B >= 10 * 3^|Q|.
# A batch mean is then a sum of about Poisson(10) signs: P(no match at all) = e^-10 and its
# skewness is at most 1/sqrt(10), so batch means are close enough to normal for the median's
# large-sample error sqrt(pi/2) sigma / sqrt(N). Below that the batch means are a few discrete
# values (one-shot batches of a weight-1 Q are -3, 0 or 3) and the median is mostly 0.
MIN_MATCHES_PER_BATCH = 10


# Basis codes X = 0, Y = 1, Z = 2 map to the parameters (s, h) = (0, 1), (1, 1), (0, 0) and the
# symplectic bits (x, z) = (1, 0), (1, 1), (0, 1): s = [code == 1], h = x = [code != 2],
# z = [code != 0]. Comparisons, not a (shots, n, 4) table gather (issue 11).
@register_protocol
class PauliShadow(Protocol):
    """Random-Pauli classical shadows: one copy per shot, a random basis per qubit.

    Single-shot value of Q: ``3^|Q| * 1[bases match Q] * (-1)^parity`` with mean tr(Q rho)
    (docs/theory.md §3.2); tr(Q rho)^2 by the U-statistic (§3.3).
    """

    name = "pauli-shadow"
    description = "single-copy random-Pauli classical shadows (HKP20)"
    copies_per_shot = 1
    arrays = ("bits", "bases_x", "bases_z")
    estimators = ("tr(Q rho)", "tr(Q rho)^2", "|tr(Q rho)|", "tr(rho^2)")
    statistic = "tr(Q rho)"
    calibrates = True
    variance_growth: ClassVar[tuple[float, str] | None] = (3.0, "shadows")
    plot_style: ClassVar[dict[str, Any]] = {
        "label": "random-Pauli shadows",
        "short": "shadows",
        "marker": "s",
        "marker_name": "■",
        "colours": ["vermillion", "orange", "reddish_purple"],
    }

    def build(self, state) -> tuple[cirq.Circuit, tuple[str, ...]]:
        """The parameterised shadow circuit for ``state`` and its parameter names."""
        n = state.n
        qubits = cirq.LineQubit.range(n)
        s_names = tuple(f"basis_s{i}" for i in range(n))
        h_names = tuple(f"basis_h{i}" for i in range(n))
        circuit = state.prep_circuit(qubits) + cirq.Circuit(
            cirq.Moment(
                cirq.Z(q) ** (-0.5 * sympy.Symbol(s)) for q, s in zip(qubits, s_names, strict=True)
            ),
            cirq.Moment(cirq.H(q) ** sympy.Symbol(h) for q, h in zip(qubits, h_names, strict=True)),
            cirq.Moment(cirq.measure(*qubits, key="m")),
        )
        return circuit, state.parameter_names + s_names + h_names

    def draw(
        self, state, shots: int, rngs: dict[str, np.random.Generator]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Per-shot parameter values (state randomness, then bases) and the bases to record.

        ``rngs["state_a"]`` drives the state's randomness, ``rngs["protocol"]`` the bases.
        With stream 2 (``rngs.stream``) the bases are :func:`copylearn.streams.basis_planes`
        and, for a state that draws packed columns, the values are bit-packed
        (:class:`copylearn.streams.PackedColumns`).
        """
        if stream_of(rngs) >= 2:
            return self._draw_packed(state, shots, rngs)
        codes = rngs["protocol"].integers(0, 3, size=(shots, state.n), dtype=np.uint8)
        own = state.sample_parameters(rngs["state_a"], shots)
        k, n = own.shape[1], state.n
        values = np.empty((shots, k + 2 * n), dtype=np.uint8)
        values[:, :k] = own
        np.equal(codes, 1, out=values[:, k : k + n].view(np.bool_))  # s
        h = values[:, k + n :]
        np.not_equal(codes, 2, out=h.view(np.bool_))  # h, and the x bit
        record = {"bases_x": pack_bits(h), "bases_z": pack_bits(codes != 0)}
        return values, record

    def _draw_packed(self, state, shots, rngs):
        """Stream 2's :meth:`draw`: the state's columns, then s and h, as packed planes."""
        n = state.n
        own = state_columns(state, rngs["state_a"], shots, 2)
        s, x, z = basis_planes(rngs["protocol"], shots, n)
        record = {"bases_x": x, "bases_z": z}
        if not isinstance(own, PackedColumns):  # a state with non-binary parameters
            h = unpack_bits(x, n)
            bits = np.concatenate([own, unpack_bits(s, n), h], axis=1)
            return bits, record
        return PackedColumns.join([own, PackedColumns(s, n), PackedColumns(x, n)]), record

    @takes_packed
    def outcome_arrays(
        self, record: dict[str, np.ndarray], measurements: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Dataset arrays: packed bases and packed eigenvalue bits (eigenvalue ``(-1)^bit``)."""
        return {**record, "bits": pack_bits(measurements["m"])}

    def unpack(self, arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """``"bases"`` (letter codes X = 1, Y = 2, Z = 3) and ``"bits"``, ``(shots, n)``."""
        x = unpack_bits(arrays["bases_x"], n)
        z = unpack_bits(arrays["bases_z"], n)
        bases = (x * (1 + z) + 3 * z * (1 - x)).astype(np.uint8)  # X=(1,0), Y=(1,1), Z=(0,1)
        return {"bases": bases, "bits": unpack_bits(arrays["bits"], n)}

    def min_batch_shots(self, weight: int, n: int | None = None) -> int:
        """``10 * 3^weight``: on average 10 snapshots per batch that match Q (HKP20 Alg. 1)."""
        return MIN_MATCHES_PER_BATCH * 3**weight

    def batch_rule(self, weight: int, n: int | None = None) -> str:
        """The rule in words, for the refusal of too many batches."""
        return (
            f"{MIN_MATCHES_PER_BATCH}*3^{weight} = {self.min_batch_shots(weight)} (about "
            f"{MIN_MATCHES_PER_BATCH} matching snapshots per batch)"
        )

    def place(self, device, n: int, ladder: bool) -> dict[cirq.Qid, cirq.Qid]:
        """Qubit i on the i-th qubit of a chain of the device."""
        from copylearn import devices

        chain = devices.place_chain(device, n)
        return {cirq.LineQubit(i): chain[i] for i in range(n)}

    def device_capacity(self, device) -> tuple[int, str]:
        """The longest chain the device holds."""
        from copylearn import devices

        return devices.max_chain(device), "qubits on a chain"

    def sums(self, paulis, arrays, ends=None):
        """Sums of the shadow estimates and their squares (see :meth:`Protocol.sums`)."""
        return shadow_sums(paulis, arrays["bases_x"], arrays["bases_z"], arrays["bits"], ends)

    def purity_estimate(self, arrays, n):
        """The randomized-measurement purity: U-statistic over pairs (docs/theory.md §14.4)."""
        from copylearn.purity import shadow_purity

        shots = self.unpack(arrays, n)
        value, stderr = shadow_purity(
            shots["bases"].astype(np.int64) - 1, shots["bits"].astype(np.int64)
        )
        return value, stderr, "randomized-measurement pairs"

    def sums_values(self, paulis, data):
        """``(shots, M)`` single-shot shadow estimates."""
        return shadow_values(paulis, data["bases_x"], data["bases_z"], data["bits"])
