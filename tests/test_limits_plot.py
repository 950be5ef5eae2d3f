"""Size limits before any work: whole registers (issue 9, item 8) and collections (item 11)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import cirq
import pytest

import copylearn as cl
from copylearn.backends import limits
from copylearn.backends.limits import (
    GIB,
    check_collection,
    check_register,
    collection_bytes,
    max_register,
    register_bytes,
)
from copylearn.errors import CopylearnError

ROOT = Path(__file__).resolve().parent.parent


def ghz(n: int) -> cirq.Circuit:
    """H then a CNOT chain: entangles every qubit, so the circuit never factors into blocks."""
    q = cirq.LineQubit.range(n)
    return cirq.Circuit(cirq.H(q[0]), *(cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1)))


# ------------------------------------------------------------------------------------------
# Whole registers (item 8)
# ------------------------------------------------------------------------------------------


def test_register_sizes_and_largest_registers():
    assert register_bytes(30, "qsim") == 8 * GIB  # 2^30 complex64 amplitudes
    assert register_bytes(10, "exact") == 16 * 2**20  # 4^10 complex128 entries
    assert max_register("qsim", 8 * GIB) == 30
    assert max_register("qsim", 8 * GIB - 1) == 29
    assert max_register("exact", 16 * 2**20) == 10
    assert max_register("exact", 2**50) == 12  # the exact backend's own cap
    check_register(29, "qsim", available=4 * GIB)  # fits exactly: no error


@pytest.mark.parametrize(
    ("qubits", "backend", "available", "expected"),
    [
        # The examples: a 30-qubit shadow register and a 60-qubit Bell register.
        (30, "qsim", 4 * GIB, "needs a 30-qubit state vector (8 GiB); the machine has 4 GiB"),
        (60, "qsim", 4 * GIB, "needs a 60-qubit state vector (8.59e+09 GiB)"),
        # Other members: a density matrix over memory, and past the exact backend's cap.
        (11, "exact", 2**20, "needs a 11-qubit density matrix (0.0625 GiB)"),
        (13, "exact", 2**50, "runs whole registers of at most 12 qubits"),
    ],
)
def test_check_register_refuses_with_sizes(qubits, backend, available, expected):
    with pytest.raises(CopylearnError) as info:
        check_register(qubits, backend, available=available)
    message = str(info.value)
    assert expected in message and "\n" not in message
    assert message.startswith("this circuit does not factor into blocks")


def test_memory_cap_from_the_environment(monkeypatch):
    monkeypatch.setenv(limits.MEMORY_ENV, "0.5")
    assert limits.available_memory() <= GIB // 2
    assert max_register("qsim") <= 26
    for bad in ("lots", "inf", "1e400", "nan", "0", "-1"):  # inf once overflowed int()
        monkeypatch.setenv(limits.MEMORY_ENV, bad)
        with pytest.raises(CopylearnError, match="positive number of GiB"):
            limits.available_memory()


def test_thirty_qubit_circuits_refuse_cleanly_in_a_subprocess(tmp_path):
    """No segfault: both protocols, the noisy trajectory path and a forced whole register.

    Run in a child process so that a crash cannot take pytest down; the memory is capped at
    4 GiB so a 30-qubit state vector (8 GiB) cannot fit on any machine the test runs on.
    """
    script = textwrap.dedent(
        """
        import json, resource, sys
        import cirq, copylearn as cl
        q = cirq.LineQubit.range(30)
        ghz = cirq.Circuit(cirq.H(q[0]), *(cirq.CNOT(q[i], q[i + 1]) for i in range(29)))
        cases = [
            dict(state=cl.CircuitState(ghz), protocol="pauli-shadow"),
            dict(state=cl.CircuitState(ghz), protocol="bell"),
            dict(state=cl.CircuitState(ghz), protocol="pauli-shadow", noise="depolarizing:0.01"),
            dict(state=cl.PauliMixedState("X" * 30), protocol="pauli-shadow", execution="circuit"),
        ]
        out = []
        for case in cases:
            try:
                cl.collect(copies=10, seed=1, **case)
                out.append("ran")
            except cl.CopylearnError as exc:
                out.append(str(exc))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"messages": out, "max_rss": rss}))
        """
    )
    env = {**os.environ, limits.MEMORY_ENV: "4", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    shadow, bell, noisy, forced = result["messages"]
    for message in (noisy, forced):  # the whole-circuit path (noisy: trajectories)
        assert "needs a 30-qubit state vector (8 GiB); the machine has 4 GiB available" in message
        assert "runs at most 29 qubits here" in message
    # The state path holds the prepared state and its first collapse (three state vectors).
    assert "prepared 30-qubit state vector and needs about 24 GiB" in shadow
    assert "the machine has 4 GiB available: the state path runs at most 27 qubits" in shadow
    assert "prepared 60-qubit state vector and needs about 2.58e+10 GiB" in bell
    assert result["max_rss"] < 2 * GIB  # refused before allocating the state


def test_exact_backend_refuses_at_planning(monkeypatch):
    monkeypatch.setenv(limits.MEMORY_ENV, "64")
    with pytest.raises(CopylearnError, match="at most 12 qubits"):
        cl.collect(cl.CircuitState(ghz(13)), protocol="pauli-shadow", copies=10, backend="exact")


# ------------------------------------------------------------------------------------------
# Collections (item 11)
# ------------------------------------------------------------------------------------------


def test_collection_estimate_and_message():
    # Shadows keep three packed arrays (bits, bases x, bases z), Bell two; 8 bytes per word.
    one = collection_bytes("pauli-shadow", 4, 1) - limits.COLLECTION_BYTES_BASE
    assert one == 128 + 16 * 4 + 3 * 8
    assert collection_bytes("bell", 70, 1) - limits.COLLECTION_BYTES_BASE == 128 + 16 * 70 + 32
    with pytest.raises(CopylearnError) as info:
        check_collection("pauli-shadow", 4, 10**9, copies_per_experiment=1, available=8 * GIB)
    message = str(info.value)
    assert message.startswith("collecting 1,000,000,000 copies of a 4-qubit state")
    assert "needs about 201 GiB" in message and "8 GiB available" in message
    fit = int(message.rsplit("at most about ", 1)[1].split(" ")[0].replace(",", ""))
    assert collection_bytes("pauli-shadow", 4, fit) <= 8 * GIB
    assert collection_bytes("pauli-shadow", 4, fit + 1) > 8 * GIB


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # The example: 10^9 copies.
        (dict(protocol="pauli-shadow", copies=10**9), "collecting 1,000,000,000 copies"),
        (dict(protocol="bell", copies=10**9), "collecting 1,000,000,000 copies"),
        # Another member: the calibration's copies.
        (
            dict(protocol="bell", copies=1000, calibration_copies=10**9),
            "1,000,000,000 calibration copies per letter",
        ),
    ],
)
def test_collect_refuses_before_any_work(monkeypatch, kwargs, expected):
    monkeypatch.setenv(limits.MEMORY_ENV, "8")
    called = []
    module = importlib.import_module("copylearn.collect")
    monkeypatch.setattr(module, "prepare_collector", lambda *a, **k: called.append(1))
    with pytest.raises(CopylearnError, match=expected):
        cl.collect(cl.PauliMixedState("XYZI"), seed=1, **kwargs)
    assert not called  # nothing planned, nothing simulated


@pytest.mark.parametrize(
    ("protocol", "n", "copies", "calibration"),
    [("bell", 20, 40_000, 0), ("pauli-shadow", 12, 20_000, 20_000)],
)
def test_collection_estimate_bounds_the_measured_peak(protocol, n, copies, calibration):
    """The estimate is an upper bound of tracemalloc's peak, and not a wild one."""
    state = cl.PauliMixedState("XZ" * (n // 2))
    cl.collect(state, protocol=protocol, copies=4, seed=0)  # imports and caches first
    tracemalloc.start()
    try:
        cl.collect(state, protocol=protocol, copies=copies, calibration_copies=calibration, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per = 2 if protocol == "bell" else 1
    estimate = collection_bytes(protocol, n, copies // per, calibration // per)
    assert peak <= estimate
    assert estimate - limits.COLLECTION_BYTES_BASE <= 4 * peak
