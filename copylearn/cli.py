"""The ``copylearn`` command: collect data, estimate observables, run sweeps, the demo.

Bad input prints one line ``copylearn: error: ...`` on stderr and exits with status 2.
A closed output pipe (``copylearn ... | head``) ends the command quietly with status 141.

Nothing heavy (Cirq, qsim, NumPy) is imported before the arguments are parsed, so ``--help``
and argument errors return at once; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from copylearn.errors import CopylearnError

DEMO_PAULI = "XYZIZX"
# The names of copylearn.protocols.PROTOCOL_NAMES and copylearn.backends.BACKEND_NAMES, kept
# here so that building the parser imports no simulator (a test checks they agree).
PROTOCOL_NAMES = (
    "pauli-shadow",
    "bell",
    "clifford-shadow",
    "derandomized-shadow",
    "two-query-bell",
    "conventional-y",
    "partial-bell",
)
BACKEND_NAMES = ("qsim", "exact", "stim", "auto")
# copylearn.interop.FORMATS, the --format values of import/export (a test checks they agree).
INTEROP_FORMATS = ("pennylane", "recirq-states", "recirq-dynamics")
# Options whose value may start with '-' (a Pauli label with a sign, e.g. -XYZI).
_SIGNED_VALUE_OPTIONS = ("--observables",)
# Exit status when stdout is a pipe closed by its reader (128 + SIGPIPE, as a shell reports).
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CopylearnError(f"{message} (see '{self.prog} --help')")


def parse_state(spec: str):
    """Parse a CLI state spec: ``pauli:LABEL[:ALPHA[:SIGN]]`` or ``circuit:FILE``.

    ``circuit:FILE`` reads a circuit saved with ``cirq.to_json``.
    """
    from copylearn.states import CircuitState, PauliMixedState, load_circuit

    kind, _, rest = spec.partition(":")
    if kind == "pauli" and rest:
        parts = rest.split(":")
        if len(parts) > 3:
            raise CopylearnError(
                f"state {spec!r} has too many fields: use pauli:LABEL[:ALPHA[:SIGN]], "
                "e.g. pauli:XYZI:0.9:-1."
            )
        label = parts[0]
        try:
            alpha = float(parts[1]) if len(parts) > 1 else 0.9
            sign = int(parts[2]) if len(parts) > 2 else 1
        except ValueError:
            raise CopylearnError(
                f"state {spec!r}: ALPHA must be a number and SIGN +1 or -1, e.g. pauli:XYZI:0.9:-1."
            ) from None
        return PauliMixedState(label, alpha=alpha, sign=sign)
    if kind == "circuit" and rest:
        return CircuitState(load_circuit(rest), name=Path(rest).name)
    raise CopylearnError(
        f"state {spec!r} is not understood: use pauli:LABEL[:ALPHA[:SIGN]] "
        "(e.g. pauli:XYZI:0.9:-1) or circuit:FILE (a circuit saved with cirq.to_json)."
    )


def _int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    return value


def _add_plugins_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plugins",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this plug-in module (or .py path) first, for tasks and protocols from "
        "outside copylearn (repeatable)",
    )


def _add_interop_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """The options of ``copylearn import`` or ``copylearn export``."""
    parser.add_argument("--format", required=True, choices=INTEROP_FORMATS, help="the file layout")
    if verb == "import":
        parser.add_argument(
            "files",
            nargs="+",
            help="pennylane: BITS_RECIPES.npz, SHADOW.npy or BITS.npy RECIPES.npy; "
            "recirq-states: Q-size-N-pauli-P.npy [Q-size-N-pauli-P-basis.npy]; "
            "recirq-dynamics: one 1D-scramble-….npy",
        )
        parser.add_argument("--out", required=True, help="the dataset file to write (.npz)")
    else:
        parser.add_argument("files", nargs="+", help="datasets (.npz) to export")
        parser.add_argument(
            "--out",
            required=True,
            help="pennylane: the .npz file; recirq-states, recirq-dynamics: the directory",
        )
        parser.add_argument(
            "--pauli", help="recirq-states: the hidden Pauli of the file name (default: recorded)"
        )
        parser.add_argument(
            "--batch", type=_int, help="recirq-dynamics: ReCirq's batch index (default 0)"
        )
        parser.add_argument(
            "--number", type=_int, help="recirq-dynamics: first index in the batch (default 0)"
        )
    parser.add_argument("--force", action="store_true", help="replace existing output files")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="copylearn",
        description="Learning from quantum experiments with and without quantum memory.",
    )
    from copylearn.version import package_version

    parser.add_argument("--version", action="version", version=f"copylearn {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser(
        "collect", help="measure copies of a state (or query a process) and save the data (.npz)"
    )
    unknown = c.add_mutually_exclusive_group(required=True)
    unknown.add_argument(
        "--state",
        help="the state a state protocol measures: pauli:LABEL[:ALPHA[:SIGN]] or circuit:FILE",
    )
    unknown.add_argument(
        "--process",
        help="the unitary U a process protocol (two-query-bell, conventional-y) queries: "
        "FAMILY:n=N,seed=S[,depth=D] (tsym, scrambling, haar-orthogonal, haar-unitary) or "
        "circuit:FILE",
    )
    c.add_argument("--protocol", default="bell", help=f"one of {', '.join(PROTOCOL_NAMES)}")
    c.add_argument("--copies", type=_int, required=True, help="copies of the state consumed")
    c.add_argument("--noise", default=None, help="e.g. depolarizing:0.01+readout:0.02")
    c.add_argument("--backend", default="qsim", help=f"one of {', '.join(BACKEND_NAMES)}")
    c.add_argument("--seed", type=_int, default=None, help="seed (default: fresh, recorded)")
    c.add_argument(
        "--device",
        default=None,
        help="simulated Google device: rainbow, weber or willow_pink (its calibrated "
        "noise; exclusive with --noise)",
    )
    c.add_argument(
        "--noise-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="with --device: multiply its calibrated error rates by S (default 1)",
    )
    c.add_argument(
        "--calibration-copies",
        type=_int,
        default=0,
        metavar="N",
        help="also measure the noisy protocol's damping on known random eigenstates, N copies "
        "per letter X, Y, Z, for calibrated estimates (default 0: none)",
    )
    c.add_argument(
        "--stream",
        type=_int,
        default=None,
        metavar="V",
        help="random-stream version: 3 (the default, copylearn.streams.DEFAULT_STREAM), 2 (as "
        "copylearn 0.3 and 0.4) or 1 (as data made before stream versions; docs/theory.md "
        "section 15)",
    )
    c.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set one of the protocol's declared parameters (see 'copylearn list'), e.g. "
        "--option shots_per_unitary=4; repeatable",
    )
    c.add_argument(
        "--out", required=True, help="output file, ending in .npz (checked before any work)"
    )
    c.add_argument(
        "--observables",
        default=None,
        metavar="LABELS",
        help="observables known in advance, e.g. XXI,ZZI (derandomized-shadow; the same as "
        "--option observables=XXI,ZZI)",
    )
    c.add_argument("--force", action="store_true", help="replace an existing output file")
    _add_plugins_option(c)

    e = sub.add_parser("estimate", help="estimate Pauli observables from a saved dataset")
    _add_plugins_option(e)
    e.add_argument("dataset", help="a .npz file written by 'copylearn collect'")
    e.add_argument(
        "--observables",
        required=True,
        help="comma-separated labels, e.g. XYZI,ZZII (a leading sign is fine: -XYZI)",
    )
    e.add_argument(
        "--median-of-means",
        type=_int,
        default=None,
        metavar="K",
        help="single-copy data: median of K batch means",
    )
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")

    d = sub.add_parser(
        "demo", help="both protocols on the default Pauli state, against exact values"
    )
    d.add_argument("--pauli", default=DEMO_PAULI, help=f"hidden Pauli (default {DEMO_PAULI})")
    d.add_argument("--copies", type=_int, default=20_000, help="copies per protocol")
    d.add_argument("--seed", type=_int, default=7)

    s = sub.add_parser(
        "sweep", help="run or resume a sweep (TOML config) into an append-only result store"
    )
    s.add_argument("config", help="a sweep config (TOML), e.g. experiments/quick.toml")
    s.add_argument("--out", required=True, metavar="DIR", help="the result store directory")
    where = s.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_int,
        default=None,
        metavar="K",
        help="process-pool workers, also shared by a long point's trials (default: all "
        "cores; 0 runs in this process)",
    )
    where.add_argument(
        "--dask",
        default=None,
        metavar="ADDR",
        help="a Dask scheduler address, or 'local' for a LocalCluster "
        "(needs pip install 'copylearn[distributed]')",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar or per-point lines")

    m = sub.add_parser("summary", help="table of N*, CIs and fitted bases of a sweep store")
    _add_plugins_option(m)
    m.add_argument("dir", metavar="DIR", help="a directory written by 'copylearn sweep'")
    form = m.add_mutually_exclusive_group()
    form.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: each grid point ('kind': 'point'), then each fit "
        "('kind': 'fit'; 'log-queries-fit' for N* = a + b ln M)",
    )
    form.add_argument(
        "--csv",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="the points as a CSV table (the columns of copylearn.load_results(DIR).to_pandas()) "
        "to FILE (a .csv path) or, without FILE or with '-', to standard output",
    )
    m.add_argument("--force", action="store_true", help="with --csv FILE: replace an existing FILE")
    m.add_argument(
        "--at-copies",
        type=float,
        default=None,
        metavar="N",
        help="with a query-count sweep (query_grid = 'log'): the number of predictions "
        "exp((N - a)/b) the fitted N* = a + b ln M allows at N copies",
    )

    f = sub.add_parser("plot", help="draw the figures of a sweep store (PNG and PDF)")
    _add_plugins_option(f)
    f.add_argument("dir", metavar="DIR", help="a directory written by 'copylearn sweep'")
    f.add_argument(
        "--out",
        default=None,
        metavar="OUT",
        help="figure directory (default: DIR/figures, beside the store it draws)",
    )
    f.add_argument(
        "--where",
        action="append",
        metavar="KEY=VALUE[,VALUE...]",
        help="draw only points whose grid KEY has one of the VALUEs (repeatable; all must "
        "hold), e.g. --where noise=none,state_depolarizing:0.1 --where strategy=bell",
    )
    f.add_argument(
        "--n", metavar="RANGE", help="draw only these qubit counts, e.g. 1-4 or 2,5,8-10"
    )
    im = sub.add_parser("import", help="another tool's measurement data as a dataset (.npz)")
    _add_interop_arguments(im, "import")
    ex = sub.add_parser("export", help="datasets in another tool's layout (copylearn.interop)")
    _add_interop_arguments(ex, "export")
    r = sub.add_parser(
        "recirq",
        help="judge ReCirq .npy files of time-reversal data (export/import: deprecated aliases "
        "of 'copylearn export|import --format recirq-dynamics')",
    )
    r.add_argument("action", choices=("export", "import", "judge"))
    r.add_argument("files", nargs="+", help="datasets (.npz) to export, or ReCirq .npy files")
    r.add_argument("--out", help="export: the directory; import: the dataset file (.npz)")
    r.add_argument("--batch", type=_int, default=0, help="export: ReCirq's batch index")
    r.add_argument("--number", type=_int, default=0, help="export: first index in the batch")
    r.add_argument(
        "--force", action="store_true", help="export, import: replace existing output files"
    )
    r.add_argument(
        "--rule",
        choices=("all-zeros", "pairs"),
        default="all-zeros",
        help="judge, two-query (Q) files: 'all-zeros' (default) is for noiseless data only, "
        "noise makes every file fail it; 'pairs' (needs --tau) is the noise-robust rule. "
        "C files are always judged by the collision statistic (see --collision-tau)",
    )
    r.add_argument(
        "--tau",
        type=float,
        metavar="T",
        help="judge --rule pairs: 'scrambling' iff the fraction of non-(0,0) Bell pairs exceeds "
        "T; take T from held-out calibration of the same device and depth (a sweep row's "
        "decision_rule shows one), never from the files judged",
    )
    r.add_argument(
        "--collision-tau",
        type=float,
        metavar="D",
        help="judge, one-query (C) files: 'scrambling' iff the collision statistic D-hat "
        "exceeds D; without it D = 1/(2(2^n + 1)), for noiseless data only (noise shrinks "
        "D-hat). Take D from held-out calibration of the same device and depth (a noisy "
        "conventional-y row's decision_rule tau)",
    )
    li = sub.add_parser("list", help="every registered task and protocol, with its parameters")
    li.add_argument("--json", action="store_true", help="one JSON document for machines")
    _add_plugins_option(li)
    li.add_argument(
        "--config",
        metavar="TOML",
        help="import the plug-ins a sweep config names ([sweep] plugins) first",
    )
    return parser


def _list(args: argparse.Namespace) -> int:
    """Print the registries: tasks (parameters, defaults, protocols) and protocols."""
    from copylearn.plugins import load_plugins

    if args.plugins:
        load_plugins(args.plugins)
    if args.config is not None:
        from copylearn.sweep import load_config

        load_config(args.config)  # imports its plug-ins
    from copylearn.protocols import get_protocol, protocol_names
    from copylearn.tasks import get_task, task_names

    tasks = [get_task(name).describe() for name in task_names()]
    protocols = [get_protocol(name).describe() for name in protocol_names()]
    if args.json:
        print(json.dumps({"tasks": tasks, "protocols": protocols}, indent=2))
        return 0
    print("tasks:")
    for t in tasks:
        print(f"  {t['name']}: {t['description']}")
        print(f"    protocols: {', '.join(t['protocols'])}")
        for key, p in t["parameters"].items():
            print(f"    {key} = {json.dumps(p['default'])}  # {p['doc']}")
    print("protocols:")
    for p in protocols:
        print(f"  {p['name']}: {p['description']}")
        print(f"    copies per experiment: {p['copies_per_shot']}")
        print(f"    arrays: {', '.join(p['arrays'])}")
        print(f"    estimators: {', '.join(p['estimators']) or 'none (its task judges the data)'}")
        print(f"    calibrates: {'yes' if p['calibrates'] else 'no'}")
        for key, q in (p["parameters"] or {}).items():
            print(f"    {key} = {json.dumps(q['default'])}  # {q['doc']}")
    return 0


def parse_options(items: list[str]) -> dict[str, object]:
    """``--option KEY=VALUE`` arguments as a dict; integers and numbers are converted.

    Raises
    ------
    CopylearnError
        An item without ``=`` or an empty key, or a key given twice.
    """
    options: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CopylearnError(
                f"--option {item!r} is not KEY=VALUE: write e.g. --option shots_per_unitary=4."
            )
        if key in options:
            raise CopylearnError(f"--option {key} is given twice: give each key once.")
        value: object = text.strip()
        for convert in (int, float):
            try:
                value = convert(text)
                break
            except ValueError:
                continue
        options[key] = value
    return options


def _collect(args: argparse.Namespace) -> int:
    from copylearn.paths import check_output_file

    # The destination is checked before any work; the final write is exclusive unless --force,
    # so a second run racing to the same new file refuses instead of overwriting it.
    out = check_output_file(args.out, suffix=".npz", force=args.force, what="--out")
    from copylearn.collect import collect
    from copylearn.streams import DEFAULT_STREAM

    state = _unknown_of(args)
    start = time.perf_counter()
    data = collect(
        state,
        protocol=args.protocol,
        copies=args.copies,
        noise=args.noise,
        backend=args.backend,
        seed=args.seed,
        device=args.device,
        calibration_copies=args.calibration_copies,
        noise_scale=args.noise_scale,
        progress=True,
        options=parse_options(args.option),
        stream=DEFAULT_STREAM if args.stream is None else args.stream,
        observables=args.observables,
    )
    path = data.save(out, overwrite=args.force)
    print(
        f"wrote {path}: {data.protocol}, n={data.n}, {data.copies} copies in {data.shots} "
        f"experiments, noise={data.metadata['noise']}, seed={data.metadata['seed']} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0


def _unknown_of(args: argparse.Namespace):
    """The state (``--state``) or process (``--process``) the protocol's ``unknown`` asks for.

    Raises
    ------
    CopylearnError
        A state given to a process protocol or a process to a state protocol (one line
        saying what to pass instead), or a malformed spec.
    """
    from copylearn.processes import PROCESS_FORMS, parse_process
    from copylearn.protocols import get_protocol, protocol_names

    protocol = get_protocol(args.protocol)
    by_kind = {
        kind: ", ".join(p for p in protocol_names() if get_protocol(p).unknown == kind)
        for kind in ("state", "process")
    }
    if protocol.unknown == "process" and args.state is not None:
        raise CopylearnError(
            f"--protocol {args.protocol} queries an unknown unitary U, not a state: pass "
            f"--process {PROCESS_FORMS} instead of --state (--state is for {by_kind['state']})."
        )
    if protocol.unknown != "process" and args.process is not None:
        raise CopylearnError(
            f"--protocol {args.protocol} measures copies of a state: pass --state "
            "pauli:LABEL[:ALPHA[:SIGN]] or circuit:FILE instead of --process (--process is for "
            f"{by_kind['process']})."
        )
    return parse_state(args.state) if args.state is not None else parse_process(args.process)


def _estimate(args: argparse.Namespace) -> int:
    if Path(args.dataset).is_dir():
        raise CopylearnError(
            f"dataset {args.dataset!r} is a directory: give a .npz file written by "
            "'copylearn collect'."
        )
    from copylearn.data import load

    data = load(args.dataset)
    observables = args.observables
    calibrated = data.calibration is not None
    spec = data.spec  # the protocol says which estimators its data support
    estimators = []
    if spec.supports("tr(Q rho)"):
        mom = args.median_of_means
        estimators.append(
            lambda obs, calibrated=False: data.estimate(obs, mom, calibrated=calibrated)
        )
    else:
        if args.median_of_means is not None:
            from copylearn.protocols import get_protocol, protocol_names

            signed = [p for p in protocol_names() if get_protocol(p).supports("tr(Q rho)")]
            raise CopylearnError(
                f"--median-of-means applies to signed estimates tr(Q rho), which {data.protocol} "
                f"data do not give: it applies to {get_protocol(signed[0]).kind} "
                f"({', '.join(signed)}) data only."
            )
        if spec.supports("tr(Q rho)^2"):
            estimators.append(data.estimate_square)
    if spec.supports("|tr(Q rho)|"):
        estimators.append(data.estimate_abs)
    # (raw, calibrated or None) per quantity; the purity has no calibrated form.
    pairs = [
        (f(observables), f(observables, calibrated=True) if calibrated else None)
        for f in estimators
    ]
    if spec.supports("tr(rho^2)"):
        pairs.append((data.purity(), None))
    if spec.supports("tr(Q rho Q rho)/tr(rho^2)"):  # Bell: the principal ratio, uncalibrated
        pairs.append((data.estimate_principal_ratio(observables), None))
    if not pairs:
        why = spec.unsupported_notes.get("estimators", "").strip()
        raise CopylearnError(
            f"{data.protocol} data give no estimate of tr(Q rho), tr(Q rho)^2, |tr(Q rho)| or "
            f"tr(rho^2){' ' + why if why else ''}; judge them with their task instead."
        )
    if args.json:
        summary = {
            k: data.metadata.get(k)
            for k in ("state", "protocol", "n", "copies", "experiments", "noise", "backend", "seed")
        }
        results = [r.to_dict() for r, _ in pairs]
        document = {"dataset": summary, "results": results}
        if calibrated:
            document["calibration"] = data.metadata["calibration"]
            document["calibrated_results"] = [c.to_dict() for _, c in pairs if c is not None]
        print(json.dumps(document, indent=2))
    else:
        print(repr(data))
        if calibrated:
            print()
            print(data.calibration)
        for raw, cal in pairs:
            print()
            print(raw if cal is None else _side_by_side(raw, cal))
    return 0


def _side_by_side(raw, calibrated) -> str:
    """Raw and calibrated estimates of the same observables as one table."""
    width = max(len("observable"), *(len(o) for o in raw.observables))
    lines = [f"{raw.quantity} ({raw.method}; calibrated: damping divided out, {raw.shots} shots)"]
    lines.append(
        f"{'observable':<{width}}  {'raw':>10}  {'stderr':>9}  {'calibrated':>10}  {'stderr':>9}"
    )
    for i, o in enumerate(raw.observables):
        lines.append(
            f"{o:<{width}}  {raw.values[i]:>10.5f}  {raw.stderr[i]:>9.5f}  "
            f"{calibrated.values[i]:>10.5f}  {calibrated.stderr[i]:>9.5f}"
        )
    return "\n".join(lines)


def _demo(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise CopylearnError(f"--seed {args.seed}: use a non-negative integer, e.g. --seed 7.")
    if args.copies < 2 or args.copies % 2:
        raise CopylearnError(
            f"--copies {args.copies}: the demo needs an even number >= 2 of copies per "
            "protocol (a Bell experiment consumes two), e.g. --copies 20000."
        )
    import numpy as np

    from copylearn.collect import collect
    from copylearn.states import PauliMixedState, pauli_matrix

    state = PauliMixedState(args.pauli, alpha=0.9, sign=-1)
    n = state.n
    rng = np.random.default_rng(args.seed)
    others = {"".join(rng.choice(list("IXYZ"), size=n)) for _ in range(8)} - {state.pauli, "I" * n}
    observables = [state.pauli, *sorted(others)[:4]]
    rho = state.density_matrix()
    exact = {q: float(np.trace(pauli_matrix(q) @ rho).real) for q in observables}
    print(
        f"copylearn demo: rho = (I + {state.alpha} * ({state.sign:+d}) * {state.pauli}) / 2^{n}, "
        f"{args.copies} copies per protocol, seed {args.seed}, backend qsim, noiseless\n"
    )
    copies = args.copies
    timings = {}
    start = time.perf_counter()
    shadow = collect(state, protocol="pauli-shadow", copies=copies, seed=args.seed)
    timings["pauli-shadow"] = time.perf_counter() - start
    start = time.perf_counter()
    bell = collect(state, protocol="bell", copies=copies, seed=args.seed)
    timings["bell"] = time.perf_counter() - start
    signed = shadow.estimate(observables)
    square = bell.estimate_square(observables)
    header = (
        f"{'observable':<{max(10, n)}}  {'exact tr(Qρ)':>12}  {'shadow est ± se':>18}  "
        f"{'exact tr(Qρ)²':>13}  {'bell est ± se':>18}"
    )
    print(header)
    print("-" * len(header))
    for i, q in enumerate(observables):
        print(
            f"{q:<{max(10, n)}}  {exact[q]:>12.4f}  "
            f"{signed.values[i]:>9.4f} ± {signed.stderr[i]:<6.4f}  {exact[q] ** 2:>13.4f}  "
            f"{square.values[i]:>9.4f} ± {square.stderr[i]:<6.4f}"
        )
    purity = bell.purity()
    exact_purity = float(np.trace(rho @ rho).real)
    print(
        f"\npurity tr(ρ²): exact {exact_purity:.4f}, bell {purity.values[0]:.4f} ± "
        f"{purity.stderr[0]:.4f}"
    )
    print(
        f"pauli-shadow: {shadow.copies} copies in {shadow.shots} experiments, "
        f"{timings['pauli-shadow']:.1f} s"
    )
    print(
        f"bell:         {bell.copies} copies in {bell.shots} experiments, {timings['bell']:.1f} s"
    )
    print("\nThe Bell column estimates all 4^n squared expectations from the same shots;")
    print("the shadow standard error grows as 3^(|Q|/2) with the weight of Q.")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from copylearn.sweep import STORE_NAME, SweepTerminated, load_config, run_sweep

    if args.workers is not None and args.workers < 0:
        raise CopylearnError(f"--workers {args.workers}: use K >= 1, or 0 to run in-process.")
    config = load_config(args.config)
    start = time.perf_counter()
    try:
        rows = run_sweep(
            config, args.out, workers=args.workers, dask=args.dask, progress=not args.quiet
        )
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (SweepTerminated)
        terminated = isinstance(exc, SweepTerminated)
        newline = "\n" if not args.quiet and sys.stderr.isatty() else ""  # end the bar's line
        print(
            f"{newline}copylearn: {'terminated (SIGTERM)' if terminated else 'interrupted'}; "
            f"finished points are kept in {Path(args.out) / STORE_NAME}: rerun the same command "
            "to resume.",
            file=sys.stderr,
            flush=True,
        )
        return 143 if terminated else 130
    print(
        f"{len(rows)} points in {Path(args.out) / STORE_NAME} "
        f"({time.perf_counter() - start:.1f} s); see 'copylearn summary {args.out}'"
    )
    return 0


def _load_fits(rows: list[dict]) -> tuple[list[dict], str | None]:
    """Fitted bases per group, or ([], why not) when copylearn.fits is unavailable or fails."""
    try:
        from copylearn.fits import fit_groups
    except ModuleNotFoundError as exc:
        if exc.name != "copylearn.fits":
            raise
        return [], "fits unavailable (copylearn.fits is missing)"
    try:
        return list(fit_groups(rows)), None
    except CopylearnError as exc:
        return [], f"fits unavailable: {exc}"


def _fits_in_n(rows: list[dict], fits: list[dict]) -> list[dict]:
    """The fits of series whose rows span two or more n (a series of one n, e.g. one
    ``memory_qubits`` of a sweep over k at fixed n, has nothing to fit in n). A series' rows
    are those whose spec without n is its group (or, for a group that names fewer keys,
    those that agree with it on every key it names)."""

    def span(group: dict) -> int:
        group = {k: v for k, v in group.items() if k != "n"}
        exact = {r["spec"]["n"] for r in rows if {**r["spec"], "n": None} == {**group, "n": None}}
        if exact:
            return len(exact)
        agree = [r for r in rows if all(r["spec"].get(k) == v for k, v in group.items())]
        return len({r["spec"]["n"] for r in agree})

    return [f for f in fits if span(f.get("group", {})) >= 2]


def _fit_module(name: str):
    """``copylearn.<name>``, a module built on copylearn.fits (``query_fits``: the
    N* = a + b ln M fits; ``memory_tradeoff``: the fits in n - k), or None without
    copylearn.fits."""
    try:
        return importlib.import_module(f"copylearn.{name}")
    except ImportError as exc:  # copylearn.fits missing, or a stand-in without the helpers
        if exc.name != "copylearn.fits":
            raise
        return None


def _fmt_number(value: object, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float):
        value = float(value)
        return f"{value:.0f}" if abs(value) >= 10 and abs(value) < 1e5 else f"{value:.{digits}g}"
    return str(value)


def _fmt_interval(ci: object, digits: int = 3) -> str:
    if not ci:
        return "-"
    lo, hi = ci
    return f"[{_fmt_number(lo, digits)}, {_fmt_number(hi, digits)}]"


def _spec_cell(spec: dict, key: str) -> str:
    """A summary cell: the point's value of ``key``, its protocol's default for a protocol
    option it leaves out, or "-" for an option its protocol does not have."""
    from copylearn.sweep import protocol_defaults, spec_value

    try:
        return str(spec_value(spec, key))
    except KeyError:
        try:
            return str(protocol_defaults(spec["strategy"])[key])
        except (KeyError, CopylearnError):
            return "-"


def _summary(args: argparse.Namespace) -> int:
    from copylearn.sweep import spec_value, summary_rows, varying_keys

    if args.at_copies is not None and not (math.isfinite(args.at_copies) and args.at_copies > 0):
        raise CopylearnError(f"--at-copies {args.at_copies:g}: give a positive number of copies.")
    if args.csv is not None:
        return _summary_csv(args)
    rows = summary_rows(args.dir)
    fits, why = _load_fits(rows) if rows else ([], None)
    query_fits = _fit_module("query_fits")
    if args.json:
        # "kind" tells the two sorts of line apart; it is never a row's or a fit's own key.
        for row in rows:
            print(json.dumps({"kind": "point", **{k: v for k, v in row.items() if k != "kind"}}))
        for fit in fits:
            print(json.dumps({"kind": "fit", **{k: v for k, v in fit.items() if k != "kind"}}))
        for fit in query_fits.fit_log_queries(rows) if query_fits else []:
            if args.at_copies is not None:
                m = query_fits.implied_predictions(fit, args.at_copies)
                fit["at_copies"] = args.at_copies
                fit["predictions_at_copies"] = m if m is None or math.isfinite(m) else None
                fit["predictions_note"] = query_fits.extrapolation_note(fit, m)
            print(json.dumps({"kind": "log-queries-fit", **fit}))
        memory = _fit_module("memory_tradeoff")
        for fit in memory.fit_memory(rows) if memory else []:
            print(json.dumps({"kind": "memory-fit", **fit}))
        if why:
            print(f"copylearn: {why}", file=sys.stderr)
        return 0
    if not rows:
        print(f"{args.dir}: no finished points yet")
        return 0
    keys = varying_keys([row["spec"] for row in rows])
    from copylearn.protocols import unit_noun

    counted = f"N* {unit_noun(row['spec']['strategy'] for row in rows)}"  # copies, queries
    header = ["strategy", "n", *keys, counted, "95% CI", "N*(2/3)", "95% CI (2/3)"]
    header += ["experiments", "reached", "seconds"]
    table = [header]
    for row in rows:
        spec = row["spec"]
        unreached = row.get("reached") is False or row.get("n_star") is None
        table.append(
            [
                spec["strategy"],
                str(spec["n"]),
                *(_spec_cell(spec, k) for k in keys),
                (
                    f"not reached (> {spec_value(spec, 'max_copies')})"
                    if unreached
                    else _fmt_number(row.get("n_star"))
                ),
                "-" if unreached else _fmt_interval(row.get("n_star_ci")),
                _fmt_number(row.get("n_star_2_3")),
                _fmt_interval(row.get("n_star_2_3_ci")),
                "-" if unreached else _fmt_number(row.get("experiments_star")),
                "yes" if row.get("reached") else "no",
                f"{row.get('seconds', 0.0):.1f}",
            ]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    shown = _fits_in_n(rows, fits)  # a series that holds one n has nothing to fit in n
    if shown:
        print(
            "\nfitted log N* = a + n log b (weighted least squares, n where N* is off its floor):"
        )
        for fit in shown:
            group = fit.get("group", {})
            label = " ".join(f"{k}={group[k]}" for k in keys if k in group)
            ns = fit.get("ns") or []
            span = f"n = {min(ns)}..{max(ns)} ({len(ns)} points)" if ns else "no points"
            if fit.get("fit_n_min") is not None:
                span += f", the task's fit range n >= {fit['fit_n_min']}"
            name = " ".join([str(fit.get("strategy", group.get("strategy", "?"))), label]).strip()
            print(
                f"  {name}: "
                f"b = {_fmt_number(fit.get('base'))} {_fmt_interval(fit.get('base_ci'))}, "
                f"log b = {_fmt_number(fit.get('log_base'))} "
                f"{_fmt_interval(fit.get('log_base_ci'))}, {span}"
            )
    if len(shown) < len(fits):
        print(
            f"{'' if shown else chr(10)}  ({len(fits) - len(shown)} series hold a single n each: "
            "no fit in n for them)"
        )
    memory = _fit_module("memory_tradeoff")
    for line in memory.summary_lines(rows) if memory else []:  # n - k (docs/theory.md §20.4)
        print(line)
    query_lines = query_fits.summary_lines(rows, args.at_copies) if query_fits else []
    for line in query_lines:
        print(line)
    if args.at_copies is not None and not query_lines:
        print(
            f"\n(--at-copies {args.at_copies:g}: this store does not sweep the number of "
            'queries M (query_grid = "log"), so there is no N* = a + b ln M line to evaluate)'
        )
    if why:
        print(f"\n({why})")
    return 0


def _summary_csv(args: argparse.Namespace) -> int:
    """``summary --csv``: the table of :func:`copylearn.results.load_results`, no pandas."""
    from copylearn.results import load_results

    if args.at_copies is not None:
        raise CopylearnError(
            "--at-copies evaluates the N* = a + b ln M fit, which the CSV (points only) does "
            "not hold: drop --csv, or drop --at-copies."
        )
    out = None
    if args.csv != "-":
        from copylearn.paths import check_output_file

        out = check_output_file(args.csv, suffix=".csv", force=args.force, what="--csv")
    results = load_results(args.dir)  # before writing anything: a bad store writes nothing
    results.write_csv(out if out is not None else "-")
    if out is not None:
        print(out)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from copylearn.paths import check_output_dir

    if args.out is None:  # never a ./figures of whatever directory the user stands in
        args.out = str(Path(args.dir) / "figures")

    check_output_dir(args.out, what="--out")  # before reading or drawing anything
    from copylearn.sweep import summary_rows

    summary_rows(args.dir)  # a clear error when DIR holds no sweep
    try:
        from copylearn.plotting import plot_store
    except ModuleNotFoundError as exc:
        if exc.name != "copylearn.plotting":
            raise
        raise CopylearnError(
            "plotting is unavailable: this copylearn has no copylearn.plotting module."
        ) from None
    subset = {k: v for k, v in (("where", args.where), ("n", args.n)) if v is not None}
    for path in plot_store(Path(args.dir), Path(args.out), **subset):
        print(path)
    return 0


def _join_signed_values(argv: list[str]) -> list[str]:
    """Turn ``--observables -XYZI`` into ``--observables=-XYZI``.

    argparse takes a value starting with '-' for an option, so a signed Pauli label given as
    a separate word would be refused; the ``=`` form is unambiguous.
    """
    out: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            out.append(word)
            out.extend(words)
            break
        if word in _SIGNED_VALUE_OPTIONS:
            value = next(words, None)
            if value is not None and value.startswith("-") and not value.startswith("--"):
                out.append(f"{word}={value}")
                continue
            out.append(word)
            if value is not None:
                out.append(value)
            continue
        out.append(word)
    return out


#: errno values of a resource failure while writing (full disk, quota, device I/O error).
_RESOURCE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


def _interop(args: argparse.Namespace) -> int:
    """``copylearn import`` / ``copylearn export`` (:mod:`copylearn.interop`)."""
    from copylearn.interop import run_cli

    return run_cli(args)


def _recirq(args: argparse.Namespace) -> int:
    """``copylearn recirq``: ReCirq-layout files (:mod:`copylearn.recirq`)."""
    from copylearn.recirq import run_cli

    return run_cli(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``copylearn`` command; returns the exit status.

    Returns
    -------
    int
        0 on success, 2 for bad input (one line ``copylearn: error: ...`` on stderr), 130
        for an interrupted sweep, 141 when stdout is a pipe that its reader closed.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = _build_parser().parse_args(_join_signed_values(argv))
        except SystemExit:  # --help, --version: flush here so a closed pipe is caught below
            sys.stdout.flush()
            raise
        command = {
            "collect": _collect,
            "estimate": _estimate,
            "demo": _demo,
            "sweep": _sweep,
            "summary": _summary,
            "plot": _plot,
            "list": _list,
            "recirq": _recirq,
            "import": _interop,
            "export": _interop,
        }[args.command]
        if getattr(args, "plugins", None) and args.command != "list":
            from copylearn.plugins import load_plugins

            load_plugins(args.plugins)
        status = command(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except CopylearnError as exc:
        print(f"copylearn: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of stdout went away (e.g. '| head'): stop quietly. Point stdout at
        # devnull so that the interpreter's final flush does not fail a second time.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if exc.errno not in _RESOURCE_ERRNOS:
            raise
        # A full disk or quota, or a failing device, while writing output (stdout on a full
        # device included): one line, and stdout pointed at devnull so that the interpreter's
        # final flush does not fail a second time.
        where = f" writing {exc.filename}" if exc.filename else " writing the output"
        print(
            f"copylearn: error:{where}: {exc.strerror or exc}; free some space (or write "
            "elsewhere) and run the command again.",
            file=sys.stderr,
        )
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
