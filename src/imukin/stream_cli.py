"""``imukin stream``: joint angles in real time from a Lab Streaming Layer stream, or a replayed recording.

``imukin stream --lsl-name Xsens --lsl-out imukin_angles --out angles.csv`` resolves the LSL stream
named ``Xsens`` (or ``--lsl-type``), checks its channel count and rate, and for every sample gives
every joint's angles (:mod:`imukin.streaming`, causal models, channel layout described there) to
an LSL outlet and/or a CSV file. ``--replay RECORDING`` plays a recording (any form
:func:`imukin.load_recording` reads) at its real rate instead (``--speed`` times faster).

The CSV (``time_s`` then ``<joint>_<axis>_deg``) is written to a hidden temporary file and
renamed when the stream ends (its end, ``--duration-s``, or Ctrl-C); after an error nothing is left.
``time_s`` is the sample's LSL time stamp (``pylsl.local_clock`` seconds, the input stream's clock)
or, for a replay, its time in the recording. The outlet's samples carry the time stamps of the
input samples they come from, so a reader sees the delay as ``local_clock() - time stamp``.
"""
from __future__ import annotations

import configparser
import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np

from imukin.argtypes import add_option, device, positive_float
from imukin.conventions import (
    ACTIVITIES,
    JOINT_NAMES,
    SEGMENTS,
    SIDES,
    check_rate,
)
from imukin.errors import ImukinError
from imukin.pretrained import shipped_kinds

#: Seconds between two status lines (or in-place updates on a terminal).
STATUS_EVERY_S = 0.5
#: Time an LSL stream may stay silent before imukin stream gives up on it (s).
SILENCE_S = 10.0
#: Seconds the angle outlet stays open at the end while an inlet listens (LSL sends in the background).
LSL_LINGER_S = 1.0
#: liblsl log verbosity set by imukin stream (loguru: -3 fatal only), so errors stay one line.
LSL_LOG_LEVEL = -3
#: Where liblsl looks for its configuration file, in order (after the LSLAPICFG variable).
LSL_CONFIG_PATHS = ("lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "/etc/lsl_api/lsl_api.cfg")
_LSL_CONFIGURED = False


def add_commands(sub) -> None:
    """Register ``imukin stream``."""
    p = sub.add_parser("stream", help="joint angles in real time from an LSL stream or a replayed recording",
                       description="Joint angles in real time with causal networks: from a Lab Streaming Layer "
                                   "stream of raw IMU samples (6 values per sensor: acc x y z in m/s^2, gyr x y z "
                                   "in rad/s, sensor frames; see imukin.streaming) or a recording replayed at its "
                                   "rate, to an LSL outlet and/or a CSV file, one output sample per input sample.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--lsl-name", help="resolve the LSL input stream by its name")
    src.add_argument("--lsl-type", help="resolve the LSL input stream by its type (e.g. IMU)")
    src.add_argument("--replay", type=Path, metavar="RECORDING",
                     help="replay a recording (folder of sensor files, multi-sensor CSV or .h5) at its real rate")
    add_option(p, "--timeout-s", aliases=("--timeout",), type=positive_float, default=10.0,
               help="seconds to wait for the LSL stream (10)")
    p.add_argument("--segments", nargs="+", choices=SEGMENTS, metavar="SEGMENT",
                   help="the LSL stream's sensors in channel order (default: from its channel labels, else all "
                        f"seven: {' '.join(SEGMENTS)})")
    p.add_argument("--fs", type=positive_float, help="with --replay: the recording's rate in Hz, as in predict "
                   "(required without time stamps); it must be the models' rate (100 Hz for the shipped ones)")
    p.add_argument("--speed", type=positive_float, default=1.0, help="with --replay: times real time (default 1)")
    p.add_argument("--sensors", type=Path, help="with --replay: JSON/TOML file {segment: file, device id or name}")
    p.add_argument("--subject", help="with --replay: subject of a multi-subject .h5 file")
    p.add_argument("--joints", nargs="+", choices=JOINT_NAMES,
                   help="only these joints (default: all the sensors allow)")
    p.add_argument("--side", choices=SIDES, help="one leg (default: both)")
    p.add_argument("--activity", default="walking", choices=ACTIVITIES)
    mod = p.add_mutually_exclusive_group()
    mod.add_argument("--model", default="cnn_causal", choices=[k for k in shipped_kinds() if k.endswith("_causal")],
                     help="shipped causal model (default cnn_causal)")
    mod.add_argument("--run", type=Path, help="a trained causal run folder, or an ensemble of them (one joint), "
                     "instead of the shipped model")
    p.add_argument("--mounting", type=Path, help="known sensor mountings: the report.json of 'imukin predict', or "
                   "JSON {segment: 3x3 matrix or {\"euler_zxy_deg\": [z, x, y]}}")
    p.add_argument("--align", choices=("auto", "none"), default="auto",
                   help="auto (default): find unknown mountings from the warm-up; none: sensor frames = segment frames")
    add_option(p, "--warmup-s", aliases=("--warmup",), type=positive_float, default=10.0,
                   help="seconds of walking the mountings are found from (default 10; angles start after it)")
    p.add_argument("--lsl-out", metavar="NAME", help="send the angles to an LSL outlet of this name (type JointAngles)")
    add_option(p, "--out", aliases=("--csv",), type=Path,
               help="write the angles to this CSV file (atomically, when the stream ends)")
    add_option(p, "--duration-s", aliases=("--duration",), type=positive_float,
               help="stop after this many seconds of input samples")
    p.add_argument("--quiet", action="store_true", help="no status line")
    p.add_argument("--device", default="cpu", type=device, help="cpu, cuda, cuda:N or mps")
    p.set_defaults(func=cmd_stream)


# ---------------------------------------------------------------- sources
class _Replay:
    """A recording played at ``speed`` x its rate: chunks of the samples that are due."""

    def __init__(self, args):
        from imukin.io.recording import load_recording

        self.rec = load_recording(args.replay, fs=args.fs, sensors=args.sensors, subject=args.subject)
        self.fs = self.rec.fs
        self.speed = args.speed
        self.segments = list(self.rec.segments)
        self.mounting = dict(self.rec.mounting)
        self.label = f"replay of {self.rec.name} ({self.rec.duration_s:.1f} s at {self.fs:g} Hz, x{self.speed:g})"

    def chunks(self, n_max: int | None):
        """Yield (samples (n, 6 * segments), time_s (n,), LSL time stamps (n,)) as they fall due."""
        import pylsl

        from imukin.streaming import replay_schedule

        x = np.concatenate([np.column_stack([self.rec.acc[s], self.rec.gyr[s]]) for s in self.segments], axis=1)
        n = len(x) if n_max is None else min(len(x), n_max)
        t_lsl0 = pylsl.local_clock()
        t_wall0 = time.perf_counter()
        for i, j in replay_schedule(n, self.fs, self.speed, start=t_wall0):
            idx = np.arange(i, j)
            yield x[i:j], idx / self.fs, t_lsl0 + idx / (self.fs * self.speed)

    def close(self) -> None:
        pass


class _LSLInput:
    """An LSL inlet on the stream found by name or type, checked against the layout."""

    def __init__(self, args):
        import pylsl

        prop, value = ("name", args.lsl_name) if args.lsl_name else ("type", args.lsl_type)
        found = pylsl.resolve_byprop(prop, value, minimum=1, timeout=args.timeout_s)
        if not found:
            raise ImukinError(f"no LSL stream with {prop} {value!r} found within {args.timeout_s:g} s; "
                              "start the sender, check the name (or --lsl-type), or wait longer (--timeout-s)")
        if len(found) > 1:
            ids = ", ".join(f"{i.hostname()}/{i.source_id() or '?'}" for i in found)
            raise ImukinError(f"{len(found)} LSL streams with {prop} {value!r} are running ({ids}); give the one you "
                              "mean a name of its own and resolve it with --lsl-name")
        info = found[0]
        self.inlet = pylsl.StreamInlet(info, max_buflen=60, recover=False, processing_flags=pylsl.proc_clocksync)
        try:
            full = self.inlet.info(timeout=args.timeout_s)
        except pylsl.util.TimeoutError:
            raise ImukinError(f"the LSL stream {info.name()!r} was found but did not answer "
                              f"within {args.timeout_s:g} s; check the sender and the network") from None
        self.fs = float(full.nominal_srate())
        n_ch = full.channel_count()
        where = f"the LSL stream {full.name()!r} (type {full.type()!r})"
        if self.fs <= 0:
            raise ImukinError(f"{where} has no regular rate (nominal rate {self.fs:g}); imukin stream needs a sender "
                              "at a fixed rate (100 Hz for the shipped models)")
        check_rate(self.fs, f"the rate of {where}")
        if full.channel_format() not in (pylsl.cf_float32, pylsl.cf_double64, pylsl.cf_int16, pylsl.cf_int32):
            raise ImukinError(f"{where} does not carry numbers (channel format {full.channel_format()}); send "
                              "float32 samples")
        labels = _channel_labels(full)
        from imukin.streaming import segments_from_channels

        labelled = bool(labels) and len(labels) == n_ch and all(labels)
        if args.segments:
            self.segments = list(args.segments)
            try:  # labels in imukin's form must agree; other labels (a vendor's) give way to --segments
                named = segments_from_channels(labels) if labelled else None
            except ImukinError:
                named = None
            if named is not None and named != self.segments:
                raise ImukinError(f"{where} labels its channels for {' '.join(named)} but --segments gives "
                                  f"{' '.join(self.segments)}; drop --segments or fix it")
        elif labelled:
            self.segments = segments_from_channels(labels)
        else:
            self.segments = list(SEGMENTS)
        if n_ch != 6 * len(self.segments):
            raise ImukinError(f"{where} has {n_ch} channels but {len(self.segments)} sensors "
                              f"({' '.join(self.segments)}) need {6 * len(self.segments)} "
                              "(6 each: acc x y z, gyr x y z); name the sensors in channel order with --segments")
        self.mounting = {}
        self.label = f"LSL stream {full.name()!r} ({n_ch} channels at {self.fs:g} Hz from {full.hostname()})"
        self.inlet.open_stream(timeout=args.timeout_s)

    def chunks(self, n_max: int | None):
        """Yield (samples, time_s, LSL time stamps) as they arrive; ends when the sender is gone or silent.

        Each pull waits for one sample and then takes whatever else has already arrived, so a sample
        is handed on as soon as it is there (a plain ``pull_chunk`` would wait for a full chunk).
        """
        import pylsl

        got, last = 0, time.perf_counter()
        while n_max is None or got < n_max:
            try:
                first, t_first = self.inlet.pull_sample(timeout=0.05)
                if first is None:
                    if time.perf_counter() - last > SILENCE_S:
                        raise ImukinError(f"the LSL stream sent nothing for {SILENCE_S:g} s; check the sender")
                    continue
                room = 1023 if n_max is None else min(1023, n_max - got - 1)
                rest, t_rest = self.inlet.pull_chunk(timeout=0.0, max_samples=room) if room > 0 else ([], [])
            except pylsl.util.LostError:
                return  # the sender closed its outlet: the end of the stream
            last = time.perf_counter()
            x = np.asarray([first] + list(rest), np.float32)  # (n, channels)
            ts = np.asarray([t_first] + list(t_rest), float)  # (n,)
            got += len(x)
            yield x, ts, ts

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a lost stream may refuse; nothing is left to close then
            self.inlet.close_stream()


def _channel_labels(info) -> list[str]:
    """Channel labels from an LSL stream description (``desc/channels/channel/label``), or []."""
    labels = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling()
    return labels


def configure_lsl() -> None:
    """Quiet liblsl's own log (errors are imukin's one line), keeping the user's lsl_api.cfg otherwise.

    liblsl reads its configuration once, from ``LSLAPICFG`` or its usual places; the content set
    here is that file with ``[log] level`` added when the file does not set it.
    """
    global _LSL_CONFIGURED
    if _LSL_CONFIGURED:  # once per process: liblsl takes its configuration once
        return
    _LSL_CONFIGURED = True
    import pylsl

    cfg = configparser.ConfigParser(interpolation=None, strict=False)
    cfg.optionxform = str  # liblsl's keys are case-sensitive
    for path in ([os.environ["LSLAPICFG"]] if os.environ.get("LSLAPICFG") else []) + list(LSL_CONFIG_PATHS):
        p = Path(path).expanduser()
        if p.is_file():
            try:
                cfg.read(p)
            except configparser.Error as e:
                raise ImukinError(f"the LSL configuration file {p} cannot be read ({e}); fix it or unset LSLAPICFG") \
                    from None
            break
    if not cfg.has_section("log"):
        cfg.add_section("log")
    if not cfg.has_option("log", "level"):
        cfg.set("log", "level", str(LSL_LOG_LEVEL))
    text = "\n".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in cfg.items(s)) for s in cfg.sections())
    if hasattr(pylsl, "set_config_content"):  # pylsl >= 1.17 (older ones keep liblsl's own log and file)
        try:
            pylsl.set_config_content(text)
        except NotImplementedError:  # a liblsl older than 1.17.7
            pass


# ---------------------------------------------------------------- outputs
class _CSVOut:
    """Rows appended to a temporary file beside the destination, renamed onto it by :meth:`commit`."""

    def __init__(self, path: Path, columns: list[str]):
        from imukin.io.atomic import atomic_path

        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self._f = open(self._tmp, "w")  # noqa: SIM115 (open for the whole stream; closed by commit or abort)
        self._f.write(",".join(["time_s"] + [f"{c}_deg" for c in columns]) + "\n")
        self.path = path

    def write(self, t: np.ndarray, angles: np.ndarray) -> None:
        np.savetxt(self._f, np.column_stack([t, angles]), delimiter=",", fmt=["%.6f"] + ["%.4f"] * angles.shape[1])

    def commit(self) -> None:
        self._f.close()
        self._ctx.__exit__(None, None, None)

    def abort(self) -> None:
        self._f.close()
        try:
            self._ctx.__exit__(ImukinError, ImukinError("aborted"), None)  # removes the temporary file
        except ImukinError:
            pass


class _LSLOut:
    """An LSL outlet (type ``JointAngles``) with one channel per joint and axis, in degrees."""

    def __init__(self, name: str, columns: list[str], fs: float, models: dict):
        import pylsl

        info = pylsl.StreamInfo(name, "JointAngles", len(columns), fs, pylsl.cf_float32, f"imukin-{name}")
        chans = info.desc().append_child("channels")
        for c in columns:
            ch = chans.append_child("channel")
            ch.append_child_value("label", c)
            ch.append_child_value("unit", "degrees")
            ch.append_child_value("type", "JointAngle")
        meta = info.desc().append_child("imukin")
        for joint, model in models.items():
            meta.append_child_value(joint, model)
        self.outlet = pylsl.StreamOutlet(info)

    def write(self, ts: np.ndarray, angles: np.ndarray) -> None:
        self.outlet.push_chunk(np.ascontiguousarray(angles, np.float32), np.ascontiguousarray(ts, float))

    def close(self) -> None:
        """Keep the outlet open for ``LSL_LINGER_S`` while anyone listens: LSL sends in the background and
        has no flush, so the last angles pushed would otherwise be lost with the outlet."""
        if self.outlet.have_consumers():
            time.sleep(LSL_LINGER_S)


# ---------------------------------------------------------------- the command
def cmd_stream(args) -> int:
    from imukin.api import parse_mounting
    from imukin.io.paths import check_output_file
    from imukin.streaming import StreamConfig, StreamingEngine

    if not (args.lsl_name or args.lsl_type or args.replay):
        raise ImukinError("name the input: --lsl-name NAME or --lsl-type TYPE (an LSL stream), or --replay RECORDING")
    if not (args.lsl_out or args.out):
        raise ImukinError("name an output: --lsl-out NAME (an LSL outlet) and/or --out FILE (a CSV file)")
    if args.replay is None:
        for opt in ("fs", "sensors", "subject"):
            if getattr(args, opt) is not None:
                raise ImukinError(f"--{opt} goes with --replay; an LSL stream states its own rate and channels")
        if args.speed != 1.0:
            raise ImukinError("--speed goes with --replay; an LSL stream comes at its own pace")
    elif args.segments:
        raise ImukinError("--segments names an LSL stream's sensors; a replayed recording names its own")
    if args.out is not None:
        check_output_file(args.out, "--out")
    import torch

    torch.set_num_threads(1)  # a streaming step is a few small products: more threads only add waiting
    configure_lsl()
    source = _Replay(args) if args.replay is not None else _LSLInput(args)
    mounting = dict(source.mounting)
    if args.mounting is not None:
        mounting.update(parse_mounting(args.mounting))
    runs = {}
    if args.run is not None:
        from imukin.io.model_folder import read_checkpoint_info

        joint = read_checkpoint_info(args.run).get("meta", {}).get("joint")
        if joint not in JOINT_NAMES:
            raise ImukinError(f"{args.run} does not say which joint it predicts; pass a run folder of imukin train")
        if args.joints and joint not in args.joints:
            raise ImukinError(f"{args.run} is a {joint} model but --joints {' '.join(args.joints)} was given")
        runs, args.joints = {joint: args.run}, [joint]
    cfg = StreamConfig(fs=source.fs, joints=tuple(args.joints or JOINT_NAMES),
                       sides=(args.side,) if args.side else SIDES, segments=tuple(source.segments),
                       activity=args.activity, model=args.model, runs=runs, mounting=mounting or None,
                       align=args.align, warmup_s=args.warmup_s, device=args.device)
    engine = StreamingEngine(cfg)  # refuses a rate other than the models'
    n_max = round(args.duration_s * source.fs) if args.duration_s else None
    status = _Status(engine, source.label, quiet=args.quiet)
    csv_out = _CSVOut(args.out, engine.output_channels) if args.out is not None else None
    lsl_out = _LSLOut(args.lsl_out, engine.output_channels, engine.fs, engine.models) if args.lsl_out else None
    times: list[np.ndarray] = []  # per pending chunk: (time_s, LSL stamps), until the warm-up's angles come out
    stamps: list[np.ndarray] = []
    ended_by = "end of input"
    try:
        try:
            for x, t, ts in source.chunks(n_max):
                times.append(t)
                stamps.append(ts)
                t_arrive = time.perf_counter()
                out = engine.push(x)
                _emit(out, times, stamps, csv_out, lsl_out)
                status.update(out, t_arrive, len(x))
        except KeyboardInterrupt:
            ended_by = "Ctrl-C"
        out = engine.finish()
        _emit(out, times, stamps, csv_out, lsl_out)
    except BaseException:
        if csv_out is not None:
            csv_out.abort()
        source.close()
        status.clear()
        raise
    source.close()
    if csv_out is not None:
        csv_out.commit()
    if lsl_out is not None:
        lsl_out.close()
    status.done(ended_by, args.out, args.lsl_out)
    return 0


def _emit(out, times: list, stamps: list, csv_out, lsl_out) -> None:
    """Hand the rows of ``out`` to the outputs, with the time of the samples they belong to."""
    n = len(out)
    if not n:
        return
    t = np.concatenate(times)
    ts = np.concatenate(stamps)
    times.clear()
    stamps.clear()
    if len(t) > n:  # rows still waiting (not possible with a causal engine, kept for safety)
        times.append(t[n:])
        stamps.append(ts[n:])
    if csv_out is not None:
        csv_out.write(t[:n], out.angles)
    if lsl_out is not None:
        lsl_out.write(ts[:n], out.angles)


class _Status:
    """One status line: samples, rate, processing time per chunk, the latest angles of a joint."""

    def __init__(self, engine, label: str, quiet: bool):
        self.engine, self.quiet = engine, quiet
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.proc_ms: list[float] = []
        self.latest = None
        self.t0 = time.perf_counter()
        self.told: set = set()  # saturated (segment, signal) pairs already announced
        if not quiet:
            models = ", ".join(sorted(set(engine.models.values())))
            print(f"imukin stream: {label} -> {', '.join(engine.joints)} ({models})", file=sys.stderr)
            if not engine.ready:
                print(f"imukin stream: finding the sensors' mountings from the first {engine.cfg.warmup_s:g} s; walk",
                      file=sys.stderr)

    def update(self, out, t_arrive: float, n_in: int) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        if len(out):
            self.proc_ms.append((now - t_arrive) * 1e3)
            self.latest = out.angles[-1]
        if now - self.last < (STATUS_EVERY_S if self.tty else 5.0):
            return
        self.last = now
        e = self.engine
        for seg, what in e.saturated:  # as soon as it is found, not only at the end
            if (seg, what) not in self.told:
                self.told.add((seg, what))
                self.clear()
                print(f"imukin: warning: {seg}: the {what} saturated (cut flat at its range); its angles are "
                      "unreliable near those samples (details at the end)", file=sys.stderr, flush=True)
        if not e.ready:
            text = f"warm-up {e.n_pushed / e.fs:5.1f}/{e.cfg.warmup_s:g} s"
        else:
            p = np.percentile(self.proc_ms[-500:], [50, 99]) if self.proc_ms else (np.nan, np.nan)
            j = e.joints[0]
            k = e.output_channels.index(f"{j}_flexion")
            angle = f"{j} flexion {self.latest[k]:6.1f} deg" if self.latest is not None else ""
            text = (f"{e.n_pushed:7d} samples ({e.n_pushed / e.fs:6.1f} s) "
                    f"| compute p50 {p[0]:.2f} ms p99 {p[1]:.2f} ms | {angle}")
        if self.tty:
            print(f"\r{text}\033[K", end="", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    def clear(self) -> None:
        if not self.quiet and self.tty:
            print("\r\033[K", end="", file=sys.stderr, flush=True)

    def done(self, ended_by: str, csv, lsl_out) -> None:
        if self.quiet:
            return
        self.clear()
        e = self.engine
        for seg, m in e.mounting.items():
            if m.get("method") == "auto":
                z, x, y = m["euler_zxy_deg"]
                print(f"imukin stream: {seg} mounting ZXY {z:.1f} {x:.1f} {y:.1f} deg (confidence "
                      f"{m.get('confidence', float('nan')):.2f})", file=sys.stderr)
        for note in e.notes:
            print(f"imukin: warning: {note}", file=sys.stderr)
        if e.n_held:
            print(f"imukin: warning: {e.n_held} missing values held the sensor's last sample", file=sys.stderr)
        if self.proc_ms:
            p = np.percentile(self.proc_ms, [50, 99])
            timing = f"compute per chunk p50 {p[0]:.2f} ms, p99 {p[1]:.2f} ms"
        else:  # the stream ended within the warm-up: its angles came out at once, at the end
            timing = "all within the warm-up (angles computed at the end, no per-chunk timing)"
        dest = " and ".join(d for d in (str(csv) if csv else "", f"LSL outlet {lsl_out!r}" if lsl_out else "") if d)
        print(f"{e.n_pushed} samples ({e.n_pushed / e.fs:.1f} s, {ended_by}) of {len(e.joints)} joints -> {dest}; "
              f"{timing}")
