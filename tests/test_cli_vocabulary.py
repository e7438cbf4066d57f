"""One word per idea across every ``imukin`` command, older spellings kept as hidden aliases.

``--fs`` is a rate, ``--out`` what a command writes, ``--run`` a run folder it reads,
``--subjects`` a number of subjects (``--subject-ids`` a list of ids), ``--quiet`` is on
every command, and options carry their unit where the value has one. The spellings used
before are still accepted, but ``--help`` and the documentation show only the new ones.
"""
import argparse
import re
from pathlib import Path

import pytest

from imukin.argtypes import add_option, device, hidden_aliases
from imukin.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]

#: dest -> the one option name every command uses for it.
VOCABULARY = {"fs": "--fs", "out": "--out", "run": "--run", "subjects": "--subjects", "quiet": "--quiet"}

#: command -> {old spelling: new spelling}; exactly the hidden aliases each command accepts.
RENAMED = {
    "simulate": {"--duration": "--duration-s", "--height": "--height-m"},
    "harmonize": {"--output-dir": "--out", "--freq": "--fs", "--max-gap": "--max-gap-s"},
    "finetune": {"--from": "--run", "--n-subjects": "--subjects"},
    "stream": {"--timeout": "--timeout-s", "--warmup": "--warmup-s", "--csv": "--out", "--duration": "--duration-s"},
}


def commands() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's parser, by name."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def visible_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help is not argparse.SUPPRESS]


def option(parser: argparse.ArgumentParser, name: str) -> argparse.Action:
    return parser._option_string_actions[name]


def mentions(text: str, flag: str) -> bool:
    """Whether ``flag`` appears in ``text`` as a whole option (``--duration`` not inside ``--duration-s``)."""
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def parse(*argv: str) -> dict:
    return vars(build_parser().parse_args(list(argv)))


def test_every_command_has_quiet():
    cmds = commands()
    assert len(cmds) >= 11
    for name, parser in cmds.items():
        quiet = parser._option_string_actions.get("--quiet")
        assert quiet is not None and quiet.dest == "quiet", f"imukin {name} has no --quiet"
        assert isinstance(quiet, argparse._StoreTrueAction), name


@pytest.mark.parametrize("dest", sorted(VOCABULARY))
def test_one_option_name_per_idea(dest):
    """Every command names each of these ideas the same, and uses the name for nothing else."""
    users = []
    for name, parser in commands().items():
        for action in visible_options(parser):
            if action.dest == dest or VOCABULARY[dest] in action.option_strings:
                assert action.option_strings == [VOCABULARY[dest]] and action.dest == dest, (
                    f"imukin {name}: {action.option_strings} -> {action.dest}; use {VOCABULARY[dest]} -> {dest}")
                users.append(name)
    assert len(users) >= 2, users


def test_subjects_is_a_count_everywhere():
    for name, parser in commands().items():
        if "--subjects" in parser._option_string_actions:
            action = option(parser, "--subjects")
            assert action.nargs is None and action.type("3") == 3, name


@pytest.mark.parametrize("old, new", [
    (["simulate", "--out", "x.h5", "--duration", "5", "--height", "1.7"],
     ["simulate", "--out", "x.h5", "--duration-s", "5", "--height-m", "1.7"]),
    (["harmonize", "--input-dirs", "a", "b", "--output-dir", "merged", "--freq", "100", "--max-gap", "0.2"],
     ["harmonize", "--input-dirs", "a", "b", "--out", "merged", "--fs", "100", "--max-gap-s", "0.2"]),
    (["finetune", "--from", "pretrained", "--data", "d.h5", "--out", "ft", "--n-subjects", "3"],
     ["finetune", "--run", "pretrained", "--data", "d.h5", "--out", "ft", "--subjects", "3"]),
    (["finetune", "--from", "runs/knee", "--data", "d.h5", "--out", "ft"],
     ["finetune", "--run", "runs/knee", "--data", "d.h5", "--out", "ft"]),
])
def test_old_spellings_still_parse(old, new):
    assert parse(*old) == parse(*new)


def test_new_spellings_reach_the_commands():
    args = parse("harmonize", "--input-dirs", "a", "--out", "merged", "--fs", "100", "--max-gap-s", "0.2")
    assert (args["out"], args["fs"], args["max_gap_s"]) == (Path("merged"), 100.0, 0.2)
    args = parse("simulate", "--out", "x.h5", "--duration-s", "5", "--height-m", "1.7")
    assert (args["duration_s"], args["height_m"]) == (5.0, 1.7)
    args = parse("finetune", "--run", "pretrained", "--data", "d.h5", "--out", "ft", "--subject-ids", "s0001", "s0004")
    assert (args["run"], args["subjects"], args["subject_ids"]) == ("pretrained", 5, ["s0001", "s0004"])


@pytest.mark.parametrize("command", sorted(commands()))
def test_old_spellings_are_hidden(command):
    parser = commands()[command]
    assert hidden_aliases(parser) == RENAMED.get(command, {})
    text = parser.format_help() + parser.format_usage()
    for old, new in RENAMED.get(command, {}).items():
        assert not mentions(text, old), f"imukin {command} --help shows {old}"
        assert mentions(text, new)


def test_a_required_option_stays_required_under_its_old_name(capsys):
    usage = commands()["harmonize"].format_usage()
    assert "--out OUT" in usage and "[--out" not in usage
    assert main(["harmonize", "--input-dirs", "a"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("imukin: error: ") and "--out" in err and "--output-dir" not in err


def test_subject_ids_given_to_subjects_point_to_subject_ids(capsys):
    assert main(["finetune", "--run", "pretrained", "--data", "d.h5", "--out", "ft", "--subjects", "s0001",
                 "s0002"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("imukin: error: ") and "\n" not in err
    assert "--subject-ids" in err and "s0001" in err


def test_add_option_with_a_plain_parser():
    p = argparse.ArgumentParser(prog="x")
    action = add_option(p, "--duration-s", aliases=("--duration",), type=float, default=1.0)
    assert action.option_strings == ["--duration-s"] and action.dest == "duration_s"
    assert p.parse_args(["--duration", "2"]).duration_s == 2.0
    assert p.parse_args([]).duration_s == 1.0
    assert hidden_aliases(p) == {"--duration": "--duration-s"}


@pytest.mark.parametrize("command, flag, values", [
    ("simulate", "--activity", "ACTIVITIES"),
    ("train", "--model", "MODEL_NAMES"),
    ("train", "--val-metric", "VAL_METRICS"),
    ("train", "--axis-weighting", "AXIS_WEIGHTINGS"),
    ("train", "--target", "TARGETS"),
    ("search", "--model", "MODEL_FAMILIES"),
    ("finetune", "--model", "PRETRAINED_MODELS"),
    ("predict", "--model", "MODEL_CHOICES"),
    ("evaluate", "--split", "SPLITS"),
    ("evaluate", "--method", "METHODS"),
    ("export", "--format", "FORMATS"),
])
def test_enumerated_options_have_choices(command, flag, values):
    """Each enumerated option offers exactly the names the library accepts."""
    from imukin import export, models
    from imukin.conventions import ACTIVITIES
    from imukin.evaluation import evaluate
    from imukin.pretrained import MODEL_CHOICES, PRETRAINED_MODELS
    from imukin.training import search, trainer
    from imukin.training.choices import ENSEMBLE_NAMES, TARGETS

    trainable = tuple(m for m in models.list_models() if m not in ENSEMBLE_NAMES)
    library = {"ACTIVITIES": ACTIVITIES, "MODEL_NAMES": trainable,
               "VAL_METRICS": trainer.VAL_METRICS, "AXIS_WEIGHTINGS": trainer.AXIS_WEIGHTINGS,
               "TARGETS": TARGETS, "MODEL_FAMILIES": search.SEARCH_MODELS, "PRETRAINED_MODELS": PRETRAINED_MODELS,
               "MODEL_CHOICES": MODEL_CHOICES, "SPLITS": ("test", "val", "train", "all"), "METHODS": evaluate.METHODS,
               "FORMATS": export.FORMATS}
    assert tuple(option(commands()[command], flag).choices) == tuple(library[values])


def test_export_model_choices_are_the_shipped_models():
    from imukin.export import shipped_kinds

    assert list(option(commands()["export"], "--model").choices) == shipped_kinds()
    assert {"cnn", "transformer", "cnn_ori"} <= set(shipped_kinds())


def test_training_choices_match_the_model_registry():
    from imukin.models import list_models
    from imukin.training.choices import ENSEMBLE_NAMES, MODEL_FAMILIES, MODEL_NAMES, ORI_SUFFIX

    assert tuple(sorted(MODEL_NAMES + ENSEMBLE_NAMES)) == tuple(list_models())
    assert set(MODEL_FAMILIES) == {m for m in MODEL_NAMES if not m.endswith(ORI_SUFFIX)}


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:0", "cuda:12", "mps", " cuda:1 "])
def test_device_accepts_torch_device_names(name):
    assert device(name) == name.strip()


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "CPU0", "", "cuda:-1"])
def test_device_refuses_other_names(name):
    with pytest.raises(argparse.ArgumentTypeError, match="cpu, cuda, cuda:N"):
        device(name)


def test_a_bad_device_is_one_line(capsys):
    assert main(["train", "--joint", "knee", "--data", "d.h5", "--out", "r", "--device", "gpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("imukin: error: argument --device:") and "\n" not in err and "cuda:N" in err


def test_the_docs_use_the_new_spellings():
    """No ``imukin`` command shown in the documentation, README or notebooks uses an old spelling."""
    cmds = commands()
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", *sorted((ROOT / "examples").glob("*.ipynb"))]
    found = 0
    for page in pages:
        text = page.read_text(encoding="utf-8").replace("\\\n", " ")
        for name, rest in re.findall(r"imukin ([a-z-]+)((?: [^\s`\"#]+)*)", text):
            if name not in cmds:
                continue
            found += 1
            for old, new in hidden_aliases(cmds[name]).items():
                assert not mentions(rest, old), f"{page.name}: 'imukin {name}{rest}' uses {old}; write {new}"
    assert found > 30
