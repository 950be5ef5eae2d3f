"""Backends: execute an experiment's parameterised circuit and return measured bits.

:func:`execute` takes one parameterised (noisy) circuit and one row of parameter values per
shot and returns ``{measurement key: (shots, bits) uint8}`` in shot order. Three paths:

* ``blocks`` (:mod:`copylearn.backends.blocks`): when, at fixed parameters, no operation or
  channel joins two groups of qubits, every distinct block circuit is executed once and every
  shot's outcomes are drawn from the block distributions: O(n) work per shot.
* ``circuit`` (:mod:`copylearn.backends.grouped`): the whole register, one simulator call per
  distinct parameter setting with ``repetitions`` equal to the number of shots that share it.

* ``state`` (:mod:`copylearn.backends.state_sampling`): a parameter-free preparation followed
  by single-qubit measurement stages: the preparation is executed once and every shot is
  measured, in its own basis, from that simulated state: one simulation per collection.
* ``global-stage`` (:mod:`copylearn.backends.global_stage`): a noiseless preparation
  followed by a per-shot multi-qubit unitary measurement stage (a random global Clifford):
  each distinct preparation is executed once on qsim and each shot's stage is applied to
  that state with Cirq's unitaries of the stage's operations. Taken by ``auto`` only on
  random stream 3 and later (:mod:`copylearn.streams`), so that data drawn on streams 1
  and 2 (through the whole-circuit path) stay reproducible.

``execution="auto"`` takes the block path whenever the circuit factors into blocks of at most
4 qubits, else the state path when the circuit has its shape (and, if it also factors, the
register has at most 24 qubits), else blocks, else the whole circuit; on random stream 3
and later with qsim, the global-stage path comes first whenever the circuit has its shape.
The simulators:

* ``qsim``: qsimcirq; whole-register noise by Monte-Carlo trajectories; noiseless blocks by
  their final state vector, noisy blocks by Cirq's density-matrix simulator (qsim gives no
  exact mixed-state distribution). Circuits qsim cannot run (measurement confusion maps,
  measurement-keyed channels, classically controlled operations: ``qsim.unsupported``) run
  on Cirq's density-matrix simulator (<= 12 qubits) or state-vector simulator instead, and
  the metadata's ``execution`` says so (``simulator``, ``simulator_reason``).
* ``exact``: Cirq's density-matrix simulator throughout (the reference; small registers).
* ``stim`` (:mod:`copylearn.backends.stim`): Clifford circuits with Pauli noise on stim's
  stabilizer simulator, whole register (up to 4,096 qubits), one stim program per distinct
  setting; a non-Clifford operation or non-Pauli channel is refused with one line.
* ``auto``: ``stim`` when every operation at every setting is Clifford or a Pauli channel,
  ``qsim`` otherwise; the metadata's ``execution`` records ``backend`` and, for qsim, why.

The largest whole register each path holds (:mod:`copylearn.backends.limits`): qsim a 2^q
complex64 state vector (8 bytes per amplitude), exact a 4^q complex128 density matrix and at
most 12 qubits, both within the memory available; :func:`plan` refuses a larger one with one
line before anything is allocated. Blocks hold at most 10 qubits each, at any register size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cirq
import numpy as np

from copylearn.backends import exact, qsim
from copylearn.backends.blocks import Block, plan_blocks, run_blocks
from copylearn.backends.global_stage import GlobalStage, plan_global_stage, run_global_stage
from copylearn.backends.grouped import run_grouped
from copylearn.backends.limits import check_register, check_state
from copylearn.backends.state_sampling import DENSITY_MATRIX_QUBITS, Stage, plan_state, run_state
from copylearn.errors import CopylearnError
from copylearn.seeding import substream
from copylearn.streams import CURRENT, as_array

BACKEND_NAMES = ("qsim", "exact", "stim", "auto")
EXECUTION_MODES = ("auto", "blocks", "state", "global-stage", "circuit")
#: The first random stream on which ``auto`` takes the global-stage path.
GLOBAL_STAGE_FROM_STREAM = 3
_MODULES = {"qsim": qsim, "exact": exact}


def check_backend(backend: str, execution: str = "auto") -> None:
    """Raise a clear error for an unknown backend or execution mode."""
    if backend not in BACKEND_NAMES:
        raise CopylearnError(f"unknown backend {backend!r}: use one of {', '.join(BACKEND_NAMES)}.")
    if execution not in EXECUTION_MODES:
        raise CopylearnError(
            f"unknown execution {execution!r}: use one of {', '.join(EXECUTION_MODES)}."
        )


def _key_sizes(circuit: cirq.Circuit) -> dict[str, int]:
    return {
        cirq.measurement_key_name(op): len(op.qubits)
        for op in circuit.all_operations()
        if cirq.is_measurement(op)
    }


@dataclass
class Plan:
    """How one (noisy) parameterised circuit is executed, reusable across many runs.

    Attributes
    ----------
    circuit : cirq.Circuit
        The circuit, noise attached.
    parameter_names : tuple of str
        Symbol names, one per column of the values passed to :meth:`run`.
    backend : str
        ``"qsim"``, ``"exact"`` or ``"stim"`` (a ``stim``/``auto`` plan is a
        :class:`copylearn.backends.stim.StimPlan`).
    blocks : list of Block or None
        The independent blocks, or ``None`` for the state or whole-register path.
    stage : Stage or None
        The preparation / measurement-stage split of the state path, or ``None``.
    global_stage : GlobalStage or None
        The preparation / global-stage split (for the whole-register plans of qsim), taken on
        stream >= :data:`GLOBAL_STAGE_FROM_STREAM` under ``execution="auto"``, always under
        ``execution="global-stage"``; ``None`` where it does not apply.
    cache : dict
        Outcome distributions of the block circuits executed so far, or the state path's
        prepared state (kept across runs).
    """

    circuit: cirq.Circuit
    parameter_names: tuple[str, ...]
    backend: str
    blocks: list[Block] | None
    stage: Stage | None = None
    global_stage: GlobalStage | None = None
    forced_global: bool = False
    cache: dict = field(default_factory=dict)

    def run(
        self, values: np.ndarray, seed: np.random.SeedSequence, *, stream: int | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Execute the circuit for every row of ``values``; see :func:`execute`.

        ``stream`` (:mod:`copylearn.streams`) selects the block sampler's draws; ``values``
        may then be a :class:`copylearn.streams.PackedColumns`, whose outcomes come back
        packed. Other paths unpack it and draw as on stream 1. ``None``: the stream of the
        enclosing run (:data:`copylearn.streams.CURRENT`; 1 outside any).
        """
        module = _MODULES[self.backend]
        stream = CURRENT.get() if stream is None else stream
        if self.global_stage is not None and (
            self.forced_global or stream >= GLOBAL_STAGE_FROM_STREAM
        ):
            return run_global_stage(
                self.global_stage,
                self.parameter_names,
                as_array(values),
                np.random.default_rng(substream(seed, 4)),
                _key_sizes(self.circuit),
                cache=self.cache,
            )
        if self.blocks is None:
            values = as_array(values)
        if self.blocks is not None:
            outcomes, executed = run_blocks(
                self.blocks,
                self.parameter_names,
                values,
                module.block_distribution,
                np.random.default_rng(substream(seed, 2)),
                _key_sizes(self.circuit),
                self.cache,
                stream=stream,
            )
            info = {
                "path": "blocks",
                "blocks": len(self.blocks),
                "largest_block_qubits": max(len(b.measured) + len(b.others) for b in self.blocks),
                "block_circuits_executed": executed,
                "block_simulator": module.BLOCK_SIMULATOR,
            }
            return outcomes, info
        if self.stage is not None:
            return run_state(
                self.stage,
                self.parameter_names,
                values,
                np.random.default_rng(substream(seed, 3)),
                _key_sizes(self.circuit),
                backend=self.backend,
                cache=self.cache,
            )
        simulator = module.simulator(self.circuit, seed)
        outcomes, distinct = run_grouped(
            simulator,
            self.circuit,
            self.parameter_names,
            values,
            np.random.default_rng(substream(seed, 1)),
        )
        info: dict[str, Any] = {"path": "circuit", "distinct_settings": distinct}
        if self.backend == "qsim":
            reason = qsim.unsupported(self.circuit)
            if reason is not None:
                info["simulator"] = type(simulator).__name__
                info["simulator_reason"] = f"qsim cannot run {reason}"
        return outcomes, info


#: ``auto`` prefers the state path to blocks of more than this many qubits (each distinct
#: setting of such a block is a simulator call) ...
STATE_OVER_BLOCK_QUBITS = 4
#: ... when the whole register has at most this many qubits (a fixed rule, so that the path,
#: and hence the data of a seed, never depend on the machine's memory).
STATE_OVER_BLOCKS_REGISTER = 24


def _blocks_are_slow(blocks: list[Block] | None) -> bool:
    """Whether ``auto`` tries the state path: no blocks, or a block of over 4 qubits."""
    if blocks is None:
        return True
    largest = max(len(b.measured) + len(b.others) for b in blocks)
    return largest > STATE_OVER_BLOCK_QUBITS


def plan(
    circuit: cirq.Circuit,
    parameter_names: Sequence[str],
    backend: str = "qsim",
    execution: str = "auto",
) -> Plan:
    """Choose the execution path for ``circuit`` (noise attached); see :func:`execute`."""
    check_backend(backend, execution)
    if execution == "global-stage" and backend != "qsim":
        raise CopylearnError(
            f"execution='global-stage' runs on qsim, not backend {backend!r}: use "
            "backend='qsim', or execution='auto'."
        )
    if backend in ("stim", "auto"):  # imported here: stim's module subclasses Plan
        from copylearn.backends.stim import plan_stim

        return plan_stim(circuit, parameter_names, backend, execution)
    blocks = None
    stage = None
    if execution == "global-stage":
        split, reason = plan_global_stage(circuit, parameter_names)
        if split is None:
            raise CopylearnError(
                f"the global-stage path does not apply to this circuit ({reason}): use "
                "execution='auto' or 'circuit'."
            )
        check_state(split.qubits, density_matrix=False)
        return Plan(circuit, tuple(parameter_names), backend, None, None, split, True)
    if execution in ("auto", "blocks"):
        blocks = plan_blocks(circuit, parameter_names)
        if blocks is None and execution == "blocks":
            raise CopylearnError(
                "this circuit does not factor into independent qubit blocks (an entangling "
                "preparation, correlated noise or a mid-circuit measurement): use "
                "execution='auto' or 'circuit'."
            )
    if execution == "state" or (execution == "auto" and _blocks_are_slow(blocks)):
        stage, reason = plan_state(circuit, parameter_names)
        density = stage is not None and (stage.noisy or backend == "exact")
        if density and stage.qubits > DENSITY_MATRIX_QUBITS:
            stage, reason = (
                None,
                (
                    f"a {stage.qubits}-qubit preparation held as a density matrix (noisy, or the "
                    f"exact backend): the state path holds at most {DENSITY_MATRIX_QUBITS} qubits"
                ),
            )
        if stage is None and execution == "state":
            raise CopylearnError(
                f"the state path does not apply to this circuit ({reason}): use "
                "execution='auto' or 'circuit'."
            )
        if stage is not None and blocks is not None:
            if stage.qubits > STATE_OVER_BLOCKS_REGISTER:
                stage = None  # many blocks: a whole-register state would not pay
            else:
                blocks = None
    global_stage = None
    if stage is not None:  # refuse a prepared state that cannot fit, before allocating
        check_state(stage.qubits, density_matrix=stage.noisy or backend == "exact")
    elif blocks is None:  # the whole register at once: refuse what cannot fit
        check_register(len(circuit.all_qubits()), backend)
    if stage is None and execution == "auto" and backend == "qsim":
        # Taken on stream >= 3 (Plan.run), before blocks: every block of a global stage
        # would be one simulator call per distinct setting.
        global_stage, _ = plan_global_stage(circuit, parameter_names)
    return Plan(circuit, tuple(parameter_names), backend, blocks, stage, global_stage)


def execute(
    circuit: cirq.Circuit,
    parameter_names: Sequence[str],
    values: np.ndarray,
    seed: np.random.SeedSequence,
    backend: str = "qsim",
    execution: str = "auto",
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Execute ``circuit`` for every row of ``values``.

    Parameters
    ----------
    circuit : cirq.Circuit
        Parameterised circuit with terminal measurements, noise already attached.
    parameter_names : sequence of str
        Symbol names, one per column of ``values``.
    values : np.ndarray
        ``(shots, k)`` per-shot parameter values.
    seed : np.random.SeedSequence
        Seed of all randomness drawn here.
    backend : {"qsim", "exact", "stim", "auto"}
        Simulator family (``auto``: stim for a Clifford circuit with Pauli noise, else qsim).
    execution : {"auto", "blocks", "state", "global-stage", "circuit"}
        Force a path, or let the planner choose (``"auto"``: on stream >= 3 with qsim the
        global-stage path when it applies, then blocks when the circuit factors, else the
        state path when it applies, else the whole circuit).

    Returns
    -------
    (dict, dict)
        Measurement key to ``(shots, bits)`` uint8 outcomes, and a description of the path
        that ran (recorded in dataset metadata).
    """
    return plan(circuit, parameter_names, backend, execution).run(values, seed)
