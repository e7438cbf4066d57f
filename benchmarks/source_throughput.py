"""Simulation throughput per motion source: one table.

For each source that ``imukin simulate`` accepts (the synthetic gait generator, AMASS
``.npz``, BVH, OpenSim ``.mot`` and C3D marker files), the same command is run in this
process through :func:`imukin.cli.main` and timed: seconds of motion and sensor-seconds
(seconds x sensors) simulated per wall-clock second, from reading the input to the
written dataset file. The AMASS, BVH and ``.mot`` inputs are written beforehand with
imukin's own writers from generated walking (not timed); the C3D inputs are the real
trials in ``tests/data/real`` (each passed ``--repeat`` times).

Every source runs in one process (``--workers`` sets the synthetic corpus's processes;
motion files are simulated one after the other). Motion files and the synthetic corpus
get the full default sensor error model; the marker path simulates ideal IMUs.

BLAS and OpenMP are limited to one thread unless ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``
are set: on a busy machine, threads competing for the cores make the simulator's small matrix
products many times slower (the soft-tissue model's ``_slow_motion``: about 5 ms with one
thread, about 100 ms with two threads next to another job, per sensor-minute).

Run: ``.venv/bin/python benchmarks/source_throughput.py`` (a few minutes on 2 cores);
``--quick`` for a check in well under a minute.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import imukin.simulation.corpus  # noqa: E402,F401  (imported here so that no timed run pays for imports)
import imukin.simulation.markers  # noqa: E402,F401
import imukin.sources  # noqa: E402,F401
from imukin.argtypes import add_option  # noqa: E402
from imukin.cli import main as imukin  # noqa: E402
from imukin.conventions import SEGMENTS  # noqa: E402
from imukin.simulation.gait import GaitConfig, generate_gait  # noqa: E402
from imukin.sources.amass import write_amass_npz  # noqa: E402
from imukin.sources.bvh import write_bvh  # noqa: E402
from imukin.sources.motion import DEFAULT_HEIGHT_M, anthropometric_subject  # noqa: E402
from imukin.sources.opensim_ik import write_opensim_mot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
C3D_DIRS = (ROOT / "tests" / "data" / "real", Path("/work/shared/data/real"))
AMASS_FS, BVH_FS, MOT_FS = 120.0, 120.0, 100.0  # typical rates: AMASS CMU, BVH exports, OpenSim IK


def write_motion_inputs(folder: Path, n_files: int, duration_s: float) -> dict[str, Path]:
    """Generated walks of people of the default height, written as AMASS, BVH and .mot files."""
    dirs = {kind: folder / kind for kind in ("amass", "bvh", "mot")}
    for d in dirs.values():
        d.mkdir(parents=True)
    person = anthropometric_subject(DEFAULT_HEIGHT_M)  # the readers' default skeleton: no --height needed
    for i in range(n_files):
        rng = np.random.default_rng([2024, i])
        kin = generate_gait(person, GaitConfig(duration_s=duration_s), rng)
        write_amass_npz(dirs["amass"] / f"walk{i:02d}_poses.npz", kin, fs=AMASS_FS)
        write_bvh(dirs["bvh"] / f"walk{i:02d}.bvh", kin, fs=BVH_FS)
        write_opensim_mot(dirs["mot"] / f"walk{i:02d}_ik.mot", kin, fs=MOT_FS)
    return dirs


def c3d_files() -> list[Path]:
    """The real C3D walking trials (tests/data/real, else the shared data folder)."""
    for d in C3D_DIRS:
        files = sorted(d.glob("*/*.c3d"))
        if files:
            return files
    raise SystemExit(f"no C3D files found in {', '.join(map(str, C3D_DIRS))}")


def dataset_size(path: Path) -> tuple[int, float, float]:
    """(subjects, seconds of motion, sensor-seconds) of a dataset file."""
    with h5py.File(path, "r") as f:
        fs = float(f.attrs.get("fs", 200.0))
        n, motion, sensor = 0, 0.0, 0.0
        for sid in f:
            if not isinstance(f[sid], h5py.Group):
                continue
            g = f[sid]
            segs = [s for s in SEGMENTS if s in g and "acc" in g[s]]
            seconds = g[segs[0]]["acc"].shape[0] / fs
            n, motion, sensor = n + 1, motion + seconds, sensor + seconds * len(segs)
    return n, motion, sensor


def timed_simulate(argv: list[str], out: Path) -> float:
    """Wall seconds of ``imukin simulate ARGV --out OUT`` (its messages are swallowed)."""
    sink = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        status = imukin(["simulate", *argv, "--out", str(out)])
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"imukin simulate {' '.join(argv)} failed:\n{sink.getvalue()}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10, help="subjects (synthetic) and files (AMASS, BVH, .mot)")
    add_option(ap, "--duration-s", aliases=("--duration",), type=float, default=60.0,
               help="seconds of motion per subject or file")
    ap.add_argument("--repeat", type=int, default=10, help="times each real C3D trial is passed")
    ap.add_argument("--fs", type=float, default=200.0, help="output rate in Hz")
    ap.add_argument("--workers", type=int, default=1, help="processes for the synthetic corpus")
    ap.add_argument("--quick", action="store_true", help="two 30 s files per source, C3D trials twice")
    args = ap.parse_args()
    if args.quick:
        args.files, args.duration_s, args.repeat = 2, 30.0, 2

    rows = []
    with tempfile.TemporaryDirectory(prefix="imukin-throughput-") as tmp:
        tmp = Path(tmp)
        inputs = write_motion_inputs(tmp / "inputs", args.files, args.duration_s)
        trials = c3d_files() * args.repeat
        fs = ["--fs", f"{args.fs:g}"]
        runs = [
            ("synthetic generator", "full", f"{args.files} x {args.duration_s:g} s",
             ["--activity", "walking", "--subjects", str(args.files), "--duration-s", f"{args.duration_s:g}",
              "--seed", "1", "--workers", str(args.workers), *fs]),
            (f"AMASS .npz ({AMASS_FS:g} Hz)", "full", f"{args.files} files", ["--amass", str(inputs["amass"]), *fs]),
            (f"BVH ({BVH_FS:g} Hz)", "full", f"{args.files} files", ["--bvh", str(inputs["bvh"]), *fs]),
            (f"OpenSim .mot ({MOT_FS:g} Hz)", "full", f"{args.files} files",
             ["--opensim-mot", str(inputs["mot"]), *fs]),
            ("C3D markers (real trials)", "ideal", f"{len(trials)} trials", ["--markers", *map(str, trials), *fs]),
        ]
        for k, (name, errors, what, argv) in enumerate(runs):
            out = tmp / f"out{k}.h5"
            wall = timed_simulate(argv, out)
            n, motion, sensor = dataset_size(out)
            rows.append((name, what, errors, n, motion, sensor, wall, out.stat().st_size / 1e6))

    pool = f", synthetic corpus on {args.workers} processes" if args.workers > 1 else ""
    print(f"\nSimulation throughput per motion source (imukin simulate in one process, output at {args.fs:g} Hz, "
          f"{os.environ['OPENBLAS_NUM_THREADS']} BLAS thread(s){pool}"
          f"{'; QUICK run' if args.quick else ''})\n")
    print("| source | input | sensor errors | subjects | motion s | sensor-s | wall s | motion-s per wall-s "
          "| sensor-s per wall-s | file MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, what, errors, n, motion, sensor, wall, mb in rows:
        print(f"| {name} | {what} | {errors} | {n} | {motion:.1f} | {sensor:.0f} | {wall:.2f} | {motion / wall:.1f} "
              f"| {sensor / wall:.0f} | {mb:.1f} |")


if __name__ == "__main__":
    main()
