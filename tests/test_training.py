"""`pomdb train`: checkpoints, resume, progress, plots and the errors of the command."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from simcore.checkpoint import CheckpointError, load_checkpoint
from simcore.cli import main
from simcore.policies import PolicyError, load_policy
from simcore.ppo import METRIC_KEYS, train
from simcore.ppo_config import PPOConfig
from simcore.scenario import load_scenario
from simcore.trainer import TrainingRun

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "intrusion_prevention.yaml"
# 8 updates of 16 x 32 steps: about a second of training.
SMALL = {"total_timesteps": 4096, "num_envs": 16, "num_steps": 32, "seed": 3}
SMALL_OPTIONS = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]


@pytest.fixture(scope="module")
def model():
    return load_scenario(SAMPLE)


class Interrupt:
    """A progress stand-in that raises KeyboardInterrupt at a given step."""

    def __init__(self, step: int):
        self.step = step

    def update(self, step: int, metrics: dict) -> None:
        if step >= self.step:
            raise KeyboardInterrupt

    def close(self) -> None:
        pass


def same_weights(first: dict, second: dict) -> bool:
    return first.keys() == second.keys() and all(
        torch.equal(first[key], second[key]) for key in first
    )


@pytest.mark.parametrize("discount", ["1.0", "0.9"])
def test_resume_matches_uninterrupted(tmp_path, discount) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        SAMPLE.read_text().replace("discount: 1.0", f"discount: {discount}")
    )
    model = load_scenario(scenario)
    assert model.discount == float(discount)
    config = PPOConfig(**SMALL)
    reference = train(model, config)
    checkpoint = tmp_path / "run.ckpt"

    run = TrainingRun("ppo", None, progress=Interrupt(1536), checkpoint_path=checkpoint)
    run.checkpoint_every = 2
    with pytest.raises(KeyboardInterrupt):
        train(model, config, run)
    state = load_checkpoint(checkpoint, "ppo", None)
    assert state["update"] == 2
    assert len(state["history"]) == 2

    resumed = train(model, config, TrainingRun("ppo", None, resume_state=state))

    assert same_weights(resumed.actor.state_dict(), reference.actor.state_dict())
    assert same_weights(resumed.critic.state_dict(), reference.critic.state_dict())
    assert resumed.global_step == reference.global_step
    assert len(resumed.history) == config.num_updates
    for ours, theirs in zip(resumed.history, reference.history):
        assert ours["losses/value_loss"] == theirs["losses/value_loss"]


def test_checkpoint_holds_training_state(model, tmp_path) -> None:
    checkpoint = tmp_path / "run.ckpt"
    config = PPOConfig(**SMALL)
    result = train(model, config, TrainingRun("ppo", "f" * 64, checkpoint_path=checkpoint))

    state = load_checkpoint(checkpoint, "ppo", "f" * 64)

    assert state["update"] == config.num_updates
    assert state["global_step"] == result.global_step
    assert same_weights(state["actor"], result.actor.state_dict())
    assert set(state["optimizer"]) == {"state", "param_groups"}
    assert state["rng"]["bit_generator"] == "PCG64"
    assert isinstance(state["rng"]["state"]["state"], int)
    assert state["env"]["rng"]["bit_generator"] == "PCG64"
    assert state["torch_rng"].dtype == torch.uint8
    assert [list(row) for row in state["history"]] == [
        ["global_step", *METRIC_KEYS]
    ] * config.num_updates


def train_cli(tmp_path: Path, *extra: str, out: str = "policy.json") -> int:
    return main(
        ["train", str(SAMPLE), "--out", str(tmp_path / out), "--eval-episodes", "20"]
        + ["--progress", "none", *SMALL_OPTIONS, *extra]
    )


def actor_weights(path: Path) -> dict:
    return torch.load(path.with_suffix(".pt"), weights_only=True)


def test_cli_writes_plot_and_removes_checkpoint(tmp_path) -> None:
    assert train_cli(tmp_path, "--metrics", str(tmp_path / "m.csv")) == 0

    png = (tmp_path / "policy_learning_curve.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert not (tmp_path / "policy.ckpt").exists()
    assert len((tmp_path / "m.csv").read_text().splitlines()) == 1 + 8


def test_cli_resume_of_finished_run(tmp_path) -> None:
    assert train_cli(tmp_path, "--keep-checkpoint", "--no-plot") == 0
    first = actor_weights(tmp_path / "policy.json")

    assert train_cli(tmp_path, "--resume", "--no-plot", out="policy.json") == 0

    assert same_weights(actor_weights(tmp_path / "policy.json"), first)


def test_cli_json_progress(tmp_path, capsys) -> None:
    assert train_cli(tmp_path, "--progress", "json", "--no-plot") == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["type"] for line in lines] == ["progress"] * 8 + ["result"]
    assert lines[0]["step"] == 512
    assert lines[-2]["fraction"] == 1.0
    assert lines[-1]["policy"] == str(tmp_path / "policy.json")
    assert lines[-1]["evaluation"]["episodes"] == 20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--resume"], "checkpoint not found"),
        (["--resume", "--no-checkpoint"], "--resume needs a checkpoint"),
        (["--attacker", "absent.yaml"], "--attacker absent.yaml: file not found"),
        (["--plot", "curve.svg"], "must end in .png"),
        (["--algorithm", "ppo", "--eval-episodes", "1"], "at least 2"),
    ],
)
def test_cli_rejects(tmp_path, capsys, options, message) -> None:
    assert train_cli(tmp_path, *options) == 2
    assert message in capsys.readouterr().err


def test_cli_keeps_existing_checkpoint(tmp_path, capsys) -> None:
    assert train_cli(tmp_path, "--keep-checkpoint", "--no-plot") == 0
    checkpoint = tmp_path / "policy.ckpt"
    saved = checkpoint.read_bytes()

    assert train_cli(tmp_path) == 2

    error = capsys.readouterr().err
    assert "exists from an earlier run" in error
    assert f"delete or move {checkpoint} to start a new one" in error
    assert checkpoint.read_bytes() == saved


def test_cli_rejects_corrupt_checkpoint(tmp_path, capsys) -> None:
    assert train_cli(tmp_path, "--keep-checkpoint", "--no-plot") == 0
    checkpoint = tmp_path / "policy.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:-100])

    assert train_cli(tmp_path, "--resume") == 2

    assert "truncated or corrupt" in capsys.readouterr().err


def test_cli_resume_keeps_hyperparameters(tmp_path, capsys) -> None:
    assert train_cli(tmp_path, "--keep-checkpoint", "--no-plot") == 0

    assert train_cli(tmp_path, "--resume", "--seed", "4") == 2

    assert "--seed 4 differs from the checkpoint's 3" in capsys.readouterr().err


def test_cli_resume_checks_scenario(tmp_path, capsys) -> None:
    assert train_cli(tmp_path, "--keep-checkpoint", "--no-plot") == 0
    other = tmp_path / "other.yaml"
    other.write_text(SAMPLE.read_text() + "\n# changed\n")

    code = main(
        ["train", str(other), "--out", str(tmp_path / "policy.json"), "--resume"]
    )

    assert code == 2
    error = capsys.readouterr().err
    assert "written for another scenario" in error
    assert f"delete or move {tmp_path / 'policy.ckpt'}" in error


def test_corrupt_policy_weights_rejected(tmp_path, model) -> None:
    assert train_cli(tmp_path, "--no-plot") == 0
    weights = tmp_path / "policy.pt"
    weights.write_bytes(weights.read_bytes()[:200])

    with pytest.raises(PolicyError, match="not a PyTorch state dict"):
        load_policy(str(tmp_path / "policy.json"), model)


def test_checkpoint_is_not_a_policy(tmp_path, model) -> None:
    assert train_cli(tmp_path, "--keep-checkpoint", "--no-plot") == 0
    metadata = json.loads((tmp_path / "policy.json").read_text())
    metadata["weights"] = "policy.ckpt"
    (tmp_path / "policy.json").write_text(json.dumps(metadata))

    with pytest.raises(PolicyError, match="do not match"):
        load_policy(str(tmp_path / "policy.json"), model)


# A driver that trains like `pomdb train`, with each checkpoint write slowed to
# about 0.1 s, so that a kill can land inside a write.
SLOW_WRITE_DRIVER = """
import io, sys, time, torch
real_save = torch.save
def slow_save(obj, f, *args, **kwargs):
    buffer = io.BytesIO()
    real_save(obj, buffer, *args, **kwargs)
    data = buffer.getvalue()
    chunk = max(1, len(data) // 10)
    for first in range(0, len(data), chunk):
        f.write(data[first : first + chunk])
        f.flush()
        time.sleep(0.01)
torch.save = slow_save
from simcore.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigkill_leaves_loadable_checkpoint(tmp_path) -> None:
    # 16 updates with a checkpoint after each. Kill the run four times, once during
    # a checkpoint write and otherwise at random moments, resuming each time.
    options = ["--total-timesteps", "8192", "--num-envs", "16", "--num-steps", "32"]
    options += ["--seed", "1", "--eval-episodes", "20", "--progress", "none"]
    options += ["--no-plot", "--checkpoint-every", "1"]
    assert main(["train", str(SAMPLE), "--out", str(tmp_path / "ref.json"), *options]) == 0
    reference = actor_weights(tmp_path / "ref.json")

    out, checkpoint = tmp_path / "killed.json", tmp_path / "killed.ckpt"
    command = [sys.executable, "-c", SLOW_WRITE_DRIVER, "train", str(SAMPLE)]
    command += ["--out", str(out), *options]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    chooser = random.Random(0)
    kills, updates_seen = 0, []
    for attempt in range(5):
        resume = ["--resume"] if checkpoint.exists() else []
        process = subprocess.Popen(
            command + resume, env=environment, stderr=subprocess.PIPE
        )
        # Kill after a random number of new checkpoints and a random delay, or, in
        # the second attempt, as soon as a checkpoint write has started.
        saves_before_kill = chooser.randint(1, 4)
        delay = chooser.uniform(0.0, 0.15)
        saves, inode, kill_at = 0, None, None
        while process.poll() is None and attempt < 4:
            if attempt == 1 and saves and any(tmp_path.glob(".killed.ckpt.*.tmp")):
                kill_at = time.monotonic()
            if checkpoint.exists() and checkpoint.stat().st_ino != inode:
                inode = checkpoint.stat().st_ino
                saves += 1
                if attempt != 1 and saves == saves_before_kill:
                    kill_at = time.monotonic() + delay
            if kill_at is not None and time.monotonic() >= kill_at:
                process.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.002)
        process.wait()
        if process.returncode == 0:
            break
        assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
        updates_seen.append(load_checkpoint(checkpoint, "ppo", None)["update"])
    else:
        pytest.fail(f"the run did not finish after {kills} kills")

    assert kills == 4
    assert updates_seen == sorted(updates_seen), updates_seen
    assert updates_seen[-1] > updates_seen[0]
    assert not list(tmp_path.glob(".killed.ckpt.*.tmp"))
    assert same_weights(actor_weights(out), reference)
    assert not checkpoint.exists()


def test_cli_attacker_profile(tmp_path) -> None:
    novice = REPO / "samples" / "attackers" / "novice.yaml"

    assert train_cli(tmp_path, "--attacker", str(novice), "--keep-checkpoint") == 0

    metadata = json.loads((tmp_path / "policy.json").read_text())
    assert metadata["training"]["attacker"]["kind"] == "profile"
    assert metadata["training"]["attacker"]["scenario"].endswith("novice.yaml")
    assert f"--attacker {novice}" in metadata["training"]["command"]
    static = actor_weights(tmp_path / "policy.json")
    assert train_cli(tmp_path, "--no-checkpoint", out="static.json") == 0
    assert not same_weights(static, actor_weights(tmp_path / "static.json"))


def test_cli_resume_checks_attacker(tmp_path, capsys) -> None:
    assert train_cli(tmp_path, "--keep-checkpoint", "--no-plot") == 0
    expert = REPO / "samples" / "attackers" / "expert.yaml"

    assert train_cli(tmp_path, "--resume", "--attacker", str(expert)) == 2

    assert "trained against attacker static" in capsys.readouterr().err


def test_cli_rejects_foreign_attacker(tmp_path, capsys) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        SAMPLE.read_text().replace("stops: 3", "stops: 2").replace("L = 3", "L = 2")
    )

    assert train_cli(tmp_path, "--attacker", str(other)) == 2

    assert "differ from those of" in capsys.readouterr().err


def test_interrupted_run_mentions_resume(tmp_path, capsys, monkeypatch) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("simcore.ppo._mean", interrupt)

    assert train_cli(tmp_path) == 130

    assert "interrupted" in capsys.readouterr().err


def test_checkpoint_error_is_value_error() -> None:
    assert issubclass(CheckpointError, ValueError)


def test_moving_average_skips_nan() -> None:
    from simcore.learning_curve import moving_average

    values = np.array([1.0, np.nan, 3.0, 5.0])
    np.testing.assert_array_equal(moving_average(values, 2), [1.0, 1.0, 3.0, 4.0])


TSPSA_OPTIONS = ["--algorithm", "tspsa", "--iterations", "6", "--seed", "2"]
TSPSA_OPTIONS += ["--episodes-per-evaluation", "20", "--eval-episodes", "20"]
TSPSA_OPTIONS += ["--no-plot", "--checkpoint-every", "1"]

# Runs `pomdb train` and sends itself the signal argv[1] right after the second
# checkpoint is saved.
SIGNAL_AFTER_CHECKPOINT_DRIVER = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import simcore.trainer
real_save = simcore.trainer.save_checkpoint
saves = []
def save_then_signal(path, state):
    real_save(path, state)
    saves.append(path)
    if len(saves) == 2:
        os.kill(os.getpid(), int(sys.argv[1]))
simcore.trainer.save_checkpoint = save_then_signal
from simcore.cli import main
sys.exit(main(sys.argv[2:]))
"""


def metrics_without_speed(path: Path) -> list[list[str]]:
    """Return the CSV rows without charts/steps_per_second, which varies by run."""
    rows = [line.split(",") for line in path.read_text().splitlines()]
    speed = rows[0].index("charts/steps_per_second")
    return [row[:speed] + row[speed + 1 :] for row in rows]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["int", "kill"])
def test_cli_tspsa_resume_after_signal(tmp_path, capsys, stop) -> None:
    reference = tmp_path / "ref.json"
    command = ["train", str(SAMPLE), *TSPSA_OPTIONS, "--progress", "none"]
    metrics = ["--metrics", str(tmp_path / "ref.csv")]
    assert main([*command, "--out", str(reference), *metrics]) == 0

    out, checkpoint = tmp_path / "stopped.json", tmp_path / "stopped.ckpt"
    resumed = [*command, "--out", str(out), "--metrics", str(tmp_path / "stopped.csv")]
    driver = [sys.executable, "-c", SIGNAL_AFTER_CHECKPOINT_DRIVER, str(int(stop))]
    stopped = subprocess.run(
        [*driver, *resumed],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    expected = 130 if stop == signal.SIGINT else -signal.SIGKILL
    assert stopped.returncode == expected, stopped.stderr
    assert load_checkpoint(checkpoint, "tspsa", None)["iteration"] == 2
    capsys.readouterr()
    resumed[resumed.index("none")] = "json"
    assert main([*resumed, "--resume"]) == 0
    progress = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["step"] for record in progress[:-1]] == [3, 4, 5, 6]
    ours, theirs = json.loads(out.read_text()), json.loads(reference.read_text())
    assert ours["thresholds"] == theirs["thresholds"]
    assert ours["theta"] == theirs["theta"]
    assert ours["evaluation"] == theirs["evaluation"]
    assert metrics_without_speed(tmp_path / "stopped.csv") == metrics_without_speed(
        tmp_path / "ref.csv"
    )
    assert not checkpoint.exists()


def test_cli_time_matches_progress(tmp_path, capsys, monkeypatch) -> None:
    from simcore import ppo

    real_initial_state = ppo.initial_state

    def slow_initial_state(*args, **kwargs):
        time.sleep(0.5)
        return real_initial_state(*args, **kwargs)

    monkeypatch.setattr(ppo, "initial_state", slow_initial_state)
    assert train_cli(tmp_path, "--progress", "json", "--no-plot") == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    last, result = lines[-2], lines[-1]
    training = json.loads((tmp_path / "policy.json").read_text())["training"]
    # The set-up before the first update, here 0.5 s longer, is in neither figure.
    assert abs(last["elapsed_seconds"] - result["seconds"]) < 0.1
    assert abs(training["seconds"] - result["seconds"]) <= 0.0005
    assert training["steps_per_second"] == round(4096 / result["seconds"])


def test_cli_metrics_keeps_other_files(tmp_path, capsys) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SAMPLE.read_text())
    notes = tmp_path / "notes.csv"
    notes.write_text("name,value\nalpha,1\n")

    assert train_cli(tmp_path, "--metrics", str(scenario)) == 2
    assert f"--metrics {scenario} must end in .csv" in capsys.readouterr().err
    assert train_cli(tmp_path, "--metrics", str(notes)) == 2
    assert "is not a pomdb metrics file" in capsys.readouterr().err

    assert scenario.read_text() == SAMPLE.read_text()
    assert notes.read_text() == "name,value\nalpha,1\n"
    assert not (tmp_path / "policy.json").exists()


def test_cli_metrics_replaces_earlier_metrics(tmp_path) -> None:
    metrics = tmp_path / "m.csv"
    metrics.write_text("global_step,charts/episodic_return\n512,1.0\n")

    assert train_cli(tmp_path, "--metrics", str(metrics), "--no-plot") == 0

    assert len(metrics.read_text().splitlines()) == 1 + 8


@pytest.mark.parametrize("option", ["--out", "--metrics", "--plot", "--checkpoint"])
def test_cli_rejects_read_only_folder(tmp_path, capsys, monkeypatch, option) -> None:
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_temporary_file = tempfile.TemporaryFile

    def temporary_file(*args, dir=None, **kwargs):
        if Path(dir) == read_only:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real_temporary_file(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)
    name = {"--out": "p.json", "--metrics": "m.csv", "--plot": "c.png"}
    path = read_only / name.get(option, "p.ckpt")
    options = [] if option == "--out" else [option, str(path)]

    out = "ro/p.json" if option == "--out" else "policy.json"
    assert train_cli(tmp_path, *options, out=out) == 2

    error = capsys.readouterr().err
    assert f"{option} {path}: cannot write to the folder {read_only}" in error
    assert "Read-only file system" in error
    assert "training ppo" not in error


def test_cli_rejects_file_as_folder(tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("not a folder")

    assert train_cli(tmp_path, out="file/p.json") == 2

    error = capsys.readouterr().err
    assert f"--out {tmp_path / 'file' / 'p.json'}: cannot create the folder" in error


def test_cli_failed_plot_keeps_policy(tmp_path, capsys, monkeypatch) -> None:
    def read_only(history, path, title):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr("simcore.learning_curve.plot_learning_curve", read_only)

    assert train_cli(tmp_path) == 1

    error = capsys.readouterr().err
    assert f"the policy is saved in {tmp_path / 'policy.json'}" in error
    assert "writing the learning curve failed" in error
    assert load_policy(str(tmp_path / "policy.json"), load_scenario(SAMPLE))
    assert not (tmp_path / "policy.ckpt").exists()


def test_cli_failed_save_resumes(tmp_path, capsys, monkeypatch) -> None:
    from simcore import neural

    real_atomic_write = neural.atomic_write

    def full_after_weights(path, *args, **kwargs):
        # The weights are written first, then the disk is full for the JSON file.
        if path.suffix == ".json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_atomic_write(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(neural, "atomic_write", full_after_weights)
        assert train_cli(tmp_path, "--no-plot") == 1
    error = capsys.readouterr().err
    assert "cannot write the policy" in error
    assert f"the trained state is in {tmp_path / 'policy.ckpt'}" in error

    assert train_cli(tmp_path, "--no-plot", "--resume") == 0
    assert (tmp_path / "policy.pt").exists()
    assert not (tmp_path / "policy.ckpt").exists()


def test_cli_summary_names_weights_path(tmp_path, capsys) -> None:
    assert train_cli(tmp_path, "--no-plot", out="sub/policy.json") == 0

    assert f"(weights {tmp_path / 'sub' / 'policy.pt'})" in capsys.readouterr().out


NOT_ITS_WEIGHTS = "policy.pt exists and policy.json is not a pomdb neural policy"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"policy.pt": b"mine"}, NOT_ITS_WEIGHTS),
        (
            {"policy.pt": b"mine", "policy.json": b'{"format": "pomdb-policy"}'},
            NOT_ITS_WEIGHTS,
        ),
        ({"policy.json": b'{"notes": 1}'}, "exists and is not a pomdb policy file"),
        ({"policy.json": b"\xff\xfe"}, "exists and is not a pomdb policy file"),
    ],
    ids=["weights-alone", "threshold-json", "other-json", "binary"],
)
def test_cli_keeps_unrelated_out_files(tmp_path, capsys, files, message) -> None:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    assert train_cli(tmp_path) == 2

    assert message in capsys.readouterr().err
    for name, data in files.items():
        assert (tmp_path / name).read_bytes() == data


def test_cli_rejects_scenario_as_checkpoint(tmp_path, capsys) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(SAMPLE.read_text())

    assert train_cli(tmp_path, "--checkpoint", str(other)) == 2
    assert f"{other} exists and is not a pomdb checkpoint" in capsys.readouterr().err
    assert train_cli(tmp_path, "--checkpoint", str(SAMPLE)) == 2
    assert f"--checkpoint {SAMPLE} is also the scenario" in capsys.readouterr().err
    assert other.read_text() == SAMPLE.read_text()


@pytest.mark.parametrize("part", ["config", "train"])
def test_algorithm_missing_module_rejected(monkeypatch, part) -> None:
    from simcore import algorithms

    present = algorithms.ALGORITHMS["ppo"]
    missing = "simcore_absent_module:name"
    entry = algorithms.Algorithm(
        "an algorithm whose module is missing",
        missing if part == "config" else present.config,
        missing if part == "train" else present.train,
    )
    monkeypatch.setitem(algorithms.ALGORITHMS, "absent", entry)
    resolve = algorithms.config_class if part == "config" else algorithms.train_function

    with pytest.raises(algorithms.AlgorithmUnavailable) as error:
        resolve("absent")

    assert "'absent' is not available" in str(error.value)
    assert "simcore_absent_module not found" in str(error.value)
