"""How large a register each execution path can hold, checked before anything is allocated.

The whole-register paths hold the full quantum state in memory:

* ``qsim`` (state vector, noiseless, or noisy by Monte-Carlo trajectories): 2^q amplitudes in
  single precision (complex64, 8 bytes each), so 2^q * 8 bytes;
* ``exact`` (Cirq's density-matrix simulator, complex128): 4^q * 16 bytes, and at most
  :data:`copylearn.backends.exact.MAX_QUBITS` qubits, because its run time grows as 8^q
  per layer of gates;
* ``stim`` (a stabilizer tableau): about (2q)^2 bits, but a measurement on it costs
  O(q^2 / 64) word operations, so a shot that measures every qubit costs O(q^3 / 64); the
  limit is :data:`STABILIZER_MAX_QUBITS` qubits (the tableau then holds about 8 MiB, and a
  shot of a measured register takes about a second), whatever the memory.

The state path (:mod:`copylearn.backends.state_sampling`) holds the prepared state once:

* a pure preparation: qsim's 2^q complex64 state vector, plus at most half of it again while
  the first qubit's collapsed branches are built and a bounded branch workspace
  (:data:`copylearn.backends.state_sampling.BRANCH_BYTES`): :data:`STATE_PATH_COPIES` state
  vectors are asked for;
* a noisy preparation (or the exact backend): a 4^q complex128 density matrix, its
  eigenvectors and LAPACK's workspace (:data:`DENSITY_PATH_COPIES` density matrices), and at
  most :data:`copylearn.backends.state_sampling.DENSITY_MATRIX_QUBITS` qubits (larger ones
  run on the whole-circuit path).

The block path holds one block of at most
:data:`copylearn.backends.blocks.MAX_BLOCK_QUBITS` qubits at a time, whatever the register
size, and needs no check here.

Every path's largest register on this machine: :func:`path_limits` (a stabilizer backend
registers its own with :func:`register_path_limit`). Bell sampling holds two copies, so its
register is 2n qubits: a non-factoring 16-qubit state needs a 32-qubit state vector (32 GiB,
three of them on the state path) and is refused in one line where that does not fit.

The memory available is ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the free
physical pages reported by ``os.sysconf``. The environment variable ``COPYLEARN_MEMORY_GIB``
lowers it (on a shared machine, a budget smaller than what the kernel reports). The
estimate counts the state alone: the simulators need a little more on top, so a register at
the limit may still be refused by the operating system.
"""

from __future__ import annotations

import math
import os

from copylearn.errors import CopylearnError

GIB = 2**30
#: Bytes per amplitude of qsim's state vector (complex64).
STATE_VECTOR_BYTES = 8
#: Bytes per entry of Cirq's density matrix as the exact backend runs it (complex128).
DENSITY_MATRIX_BYTES = 16
MEMORY_ENV = "COPYLEARN_MEMORY_GIB"
#: Largest register of the stim backend (a limit on time per shot, not on memory).
STABILIZER_MAX_QUBITS = 4096
#: State vectors the state path asks for (the state, its first collapse, the workspace).
STATE_PATH_COPIES = 3
#: Density matrices the noisy state path asks for (rho, its eigenvectors, LAPACK workspace).
DENSITY_PATH_COPIES = 4
#: Largest qsim register copylearn runs, whatever the memory: issue 11 reports a segmentation
#: fault for 32-qubit (two-copy, n = 16) registers on a machine with the memory for them, and
#: qsim registers of 32 qubits and more are not tested here, so they are refused in one line.
QSIM_MAX_QUBITS = 31
# Largest register of a path by name, from a backend outside this module (stabilizer).
_PATH_LIMITS: dict = {}


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, or None where it cannot be read.

    ``/proc/meminfo``'s ``MemAvailable``, else ``os.sysconf`` free pages; capped by the
    environment variable ``COPYLEARN_MEMORY_GIB`` when set.

    Raises
    ------
    CopylearnError
        If ``COPYLEARN_MEMORY_GIB`` is set but is not a positive number.
    """
    found: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        found = None
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            found = None
    cap = os.environ.get(MEMORY_ENV)
    if cap is not None and cap.strip():
        try:
            limit = float(cap)
        except ValueError:
            limit = -1.0
        if not (limit > 0 and math.isfinite(limit)):
            raise CopylearnError(
                f"{MEMORY_ENV}={cap!r} must be a positive number of GiB (or unset it)."
            )
        found = int(limit * GIB) if found is None else min(found, int(limit * GIB))
    return found


def register_bytes(qubits: int, backend: str) -> int:
    """Bytes of the state a whole-register simulation of ``qubits`` qubits holds."""
    if backend == "exact":
        return 4**qubits * DENSITY_MATRIX_BYTES
    return 2**qubits * STATE_VECTOR_BYTES


def max_register(backend: str, available: int | None = None) -> int:
    """The largest whole register the backend can hold in ``available`` bytes.

    ``available=None`` reads :func:`available_memory`; where that is unknown, the answer
    is the exact backend's fixed cap, or :data:`QSIM_MAX_QUBITS` for qsim.
    """
    from copylearn.backends.exact import MAX_QUBITS

    if backend == "stim":
        return STABILIZER_MAX_QUBITS
    if available is None:
        available = available_memory()
    cap = MAX_QUBITS if backend == "exact" else QSIM_MAX_QUBITS
    if available is None:
        return cap
    q = 0
    while q < cap and register_bytes(q + 1, backend) <= available:
        q += 1
    return q


def _gib(nbytes: float) -> str:
    value = nbytes / GIB
    return f"{value:,.0f}" if 100 <= value < 1e6 else f"{value:.3g}"


def check_register(qubits: int, backend: str, *, available: int | None = None) -> None:
    """Refuse a whole-register simulation that cannot fit, before anything is allocated.

    Parameters
    ----------
    qubits : int
        Qubits of the circuit that does not factor into blocks.
    backend : {"qsim", "exact", "stim"}
        ``qsim``: a 2^q complex64 state vector; ``exact``: a 4^q complex128 density matrix
        (and at most :data:`copylearn.backends.exact.MAX_QUBITS` qubits); ``stim``: at most
        :data:`STABILIZER_MAX_QUBITS` qubits.
    available : int, optional
        Bytes available; read by :func:`available_memory` when omitted.

    Raises
    ------
    CopylearnError
        One line with the register's size, the memory it needs and the memory there is.
    """
    from copylearn.backends.exact import MAX_QUBITS

    if backend == "stim":
        if qubits > STABILIZER_MAX_QUBITS:
            raise CopylearnError(
                f"backend 'stim' runs registers of at most {STABILIZER_MAX_QUBITS:,} qubits "
                f"(a shot costs O(q^3) bit operations) and this circuit has {qubits:,}: use "
                "fewer qubits."
            )
        return
    if available is None:
        available = available_memory()
    need = register_bytes(qubits, backend)
    kind = "density matrix" if backend == "exact" else "state vector"
    head = f"this circuit does not factor into blocks and needs a {qubits}-qubit {kind}"
    if backend == "exact" and qubits > MAX_QUBITS:
        raise CopylearnError(
            f"{head} ({_gib(need)} GiB); the exact backend (Cirq's density-matrix simulator, "
            f"slow) runs whole registers of at most {MAX_QUBITS} qubits: use backend='qsim', "
            "or a circuit that factors into blocks of at most 10 qubits."
        )
    if available is not None and need > available:
        largest = max_register(backend, available)
        fix = (
            f"{_STIM_HINT}, a circuit that factors into blocks of at most "
            "10 qubits (no gate or correlated noise joining them), fewer qubits, or a machine "
            "with more memory"
        )
        raise CopylearnError(
            f"{head} ({_gib(need)} GiB); the machine has {_gib(available)} GiB available: "
            f"the {backend} {kind} path runs at most {largest} qubits here; use {fix}."
        )
    if backend != "exact" and qubits > QSIM_MAX_QUBITS:
        raise CopylearnError(f"{head}; {_QSIM_CAP}")


_STIM_HINT = (
    "backend='auto' for a Clifford circuit with Pauli noise (it runs on stim, up to "
    f"{STABILIZER_MAX_QUBITS:,} qubits)"
)
_QSIM_CAP = (
    f"copylearn runs qsim registers of at most {QSIM_MAX_QUBITS} qubits (32 and more crashed "
    "in a test run and are untested): use fewer qubits (Bell sampling holds 2n)."
)


def state_bytes(qubits: int, *, density_matrix: bool) -> int:
    """Bytes the state path asks for to hold a ``qubits``-qubit prepared state.

    Pure: :data:`STATE_PATH_COPIES` complex64 state vectors; density matrix:
    :data:`DENSITY_PATH_COPIES` complex128 density matrices.
    """
    if density_matrix:
        return DENSITY_PATH_COPIES * 4**qubits * DENSITY_MATRIX_BYTES
    return STATE_PATH_COPIES * 2**qubits * STATE_VECTOR_BYTES


def check_state(qubits: int, *, density_matrix: bool, available: int | None = None) -> None:
    """Refuse a state-path preparation that cannot fit, before anything is allocated.

    Parameters
    ----------
    qubits : int
        Qubits of the prepared state (2n for two-copy Bell sampling).
    density_matrix : bool
        Whether the preparation is held as a density matrix (noisy, or the exact backend).
    available : int, optional
        Bytes available; read by :func:`available_memory` when omitted.

    Raises
    ------
    CopylearnError
        One line with the register's size, the memory it needs, the memory there is and the
        largest register that fits.
    """
    from copylearn.backends.state_sampling import DENSITY_MATRIX_QUBITS

    if available is None:
        available = available_memory()
    kind = "density matrix" if density_matrix else "state vector"
    need = state_bytes(qubits, density_matrix=density_matrix)
    head = f"the state path holds this circuit's prepared {qubits}-qubit {kind}"
    if density_matrix and qubits > DENSITY_MATRIX_QUBITS:
        raise CopylearnError(
            f"{head}; it holds density matrices of at most {DENSITY_MATRIX_QUBITS} qubits: use "
            "execution='circuit' (trajectories) or a noiseless preparation."
        )
    if available is not None and need > available:
        largest = max_state(density_matrix=density_matrix, available=available)
        raise CopylearnError(
            f"{head} and needs about {_gib(need)} GiB; the machine has {_gib(available)} GiB "
            f"available: the state path runs at most {largest} qubits here; use {_STIM_HINT}, "
            "fewer qubits or a machine with more memory."
        )
    if not density_matrix and qubits > QSIM_MAX_QUBITS:
        raise CopylearnError(f"{head}; {_QSIM_CAP}")


def max_state(*, density_matrix: bool, available: int | None = None) -> int:
    """The largest prepared state (qubits) the state path holds in ``available`` bytes."""
    from copylearn.backends.state_sampling import DENSITY_MATRIX_QUBITS

    if available is None:
        available = available_memory()
    cap = DENSITY_MATRIX_QUBITS if density_matrix else QSIM_MAX_QUBITS
    if available is None:
        return cap
    q = 0
    while q < cap and state_bytes(q + 1, density_matrix=density_matrix) <= available:
        q += 1
    return q


def register_path_limit(name: str, largest) -> None:
    """Register another path's largest register, ``largest(available_bytes) -> qubits``.

    The hook for a backend outside this module (a stabilizer simulator's limit is not a
    memory power of two); :func:`path_limits` lists it with the built-in paths.
    """
    _PATH_LIMITS[name] = largest


def path_limits(available: int | None = None) -> dict[str, int]:
    """The largest register (qubits) each execution path runs in ``available`` bytes.

    Keys: ``"blocks"`` (qubits per block, any register size), ``"circuit qsim"`` (state
    vector), ``"circuit exact"`` (density matrix), ``"state pure"`` (state vector),
    ``"state noisy"`` (density matrix), ``"global-stage"`` (state vector, at most
    :data:`copylearn.backends.global_stage.MAX_QUBITS`), then registered paths. Bell
    sampling of n qubits needs 2n.
    """
    from copylearn.backends.blocks import MAX_BLOCK_QUBITS
    from copylearn.backends.global_stage import MAX_QUBITS as GLOBAL_STAGE_QUBITS

    if available is None:
        available = available_memory()
    limits = {
        "blocks": MAX_BLOCK_QUBITS,
        "circuit qsim": max_register("qsim", available),
        "circuit exact": max_register("exact", available),
        "state pure": max_state(density_matrix=False, available=available),
        "state noisy": max_state(density_matrix=True, available=available),
        "global-stage": min(
            GLOBAL_STAGE_QUBITS, max_state(density_matrix=False, available=available)
        ),
    }
    for name, largest in _PATH_LIMITS.items():
        limits[name] = int(largest(available))
    return limits


#: Bytes per experiment while sampling, per qubit and fixed, measured with ``tracemalloc``
#: (peak of :func:`copylearn.collect.collect`: per-shot parameter values and bases as uint8,
#: the block sampler's int64 and float64 work arrays, the unpacked and packed outcomes) and
#: rounded up: about 90 + 13 n bytes measured at n = 1..70, for both protocols.
SAMPLING_BYTES_FIXED = 128
SAMPLING_BYTES_PER_QUBIT = 16
#: The calibration also keeps per-qubit float64 values (measured: about 64 n bytes per shot).
CALIBRATION_BYTES_PER_QUBIT = 80
#: Fixed overhead of a collection (circuits, plans, block tables), independent of the shots.
COLLECTION_BYTES_BASE = 64 * 2**20


def collection_bytes(
    protocol: str, n: int, experiments: int, calibration_experiments: int = 0
) -> int:
    """Estimated peak memory (bytes) of collecting ``experiments`` shots on ``n`` qubits.

    The dataset keeps bit-packed uint64 words per experiment: the outcome bits and the
    basis's x and z bits for shadows (3 arrays), copy A's and copy B's outcome bits for Bell
    sampling (2 arrays), each ``8 * ceil(n / 64)`` bytes (a protocol's ``array_words`` says
    otherwise: clifford-shadow's tableaux hold 2n rows). While sampling, the unpacked
    parameters, outcomes and the sampler's work arrays add about
    ``SAMPLING_BYTES_FIXED + SAMPLING_BYTES_PER_QUBIT * n`` bytes per experiment; a
    calibration runs its letters one at a time, each with ``calibration_experiments`` shots,
    while the main data are kept.
    """
    from copylearn.protocols import get_protocol

    spec = get_protocol(protocol)
    kept = experiments * 8 * sum(spec.array_words(name, n) for name in spec.arrays)
    sampling = experiments * (SAMPLING_BYTES_FIXED + SAMPLING_BYTES_PER_QUBIT * n) + kept
    calibration = kept + calibration_experiments * (
        SAMPLING_BYTES_FIXED + CALIBRATION_BYTES_PER_QUBIT * n
    )
    return COLLECTION_BYTES_BASE + max(sampling, calibration)


def check_collection(
    protocol: str,
    n: int,
    experiments: int,
    *,
    copies_per_experiment: int,
    calibration_experiments: int = 0,
    available: int | None = None,
) -> None:
    """Refuse a collection whose estimated memory exceeds what is available, before any work.

    Raises
    ------
    CopylearnError
        One line with the estimate, the memory available and the largest ``copies`` that
        fits (data are held in memory; streaming to disk is not implemented).
    """
    if available is None:
        available = available_memory()
    need = collection_bytes(protocol, n, experiments, calibration_experiments)
    if available is None or need <= available:
        return
    per = collection_bytes(protocol, n, 1, 0) - COLLECTION_BYTES_BASE
    fit_shots = max(0, (available - COLLECTION_BYTES_BASE) // per)
    fit = fit_shots * copies_per_experiment
    copies = experiments * copies_per_experiment
    what = f"{copies:,} copies" + (
        f" and {calibration_experiments * copies_per_experiment:,} calibration copies per letter"
        if calibration_experiments
        else ""
    )
    raise CopylearnError(
        f"collecting {what} of a {n}-qubit state with {protocol} needs about {_gib(need)} GiB "
        f"of memory (the data are held in memory); the machine has {_gib(available)} GiB "
        f"available: use at most about {fit:,} copies per run."
    )
