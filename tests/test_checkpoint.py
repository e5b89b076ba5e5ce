"""Checkpoint files: round trip, atomic writes and the errors for unusable files."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from simcore.checkpoint import (
    CHECKPOINT_VERSION,
    CheckpointError,
    file_sha256,
    is_checkpoint,
    load_checkpoint,
    numpy_rng_state,
    save_checkpoint,
    set_numpy_rng_state,
)
from simcore.files import atomic_write

SHA = "a" * 64


def sample_state() -> dict:
    generator = np.random.Generator(np.random.PCG64(7))
    generator.random(3)
    return {
        "algorithm": "ppo",
        "scenario_sha256": SHA,
        "update": 5,
        "weights": {"layer.weight": torch.arange(6.0).reshape(2, 3)},
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": numpy_rng_state(generator),
        "betas": (0.9, 0.999),
        "history": [{"global_step": 64.0, "charts/episodic_return": float("nan")}],
        "note": None,
    }


def write_raw(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.write_bytes(buffer.getvalue())


def test_round_trip_keeps_every_value(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    state = sample_state()
    save_checkpoint(path, state)
    loaded = load_checkpoint(path, "ppo", SHA)
    assert loaded["format"] == "pomdb-checkpoint"
    assert loaded["version"] == CHECKPOINT_VERSION
    assert loaded["update"] == 5
    assert torch.equal(loaded["weights"]["layer.weight"], state["weights"]["layer.weight"])
    assert torch.equal(loaded["torch_rng"], state["torch_rng"])
    assert loaded["numpy_rng"] == state["numpy_rng"]
    assert loaded["betas"] == (0.9, 0.999)
    assert loaded["note"] is None


def test_numpy_rng_state_resumes_stream(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    generator = np.random.Generator(np.random.PCG64(3))
    generator.random(10)
    save_checkpoint(
        path,
        {"algorithm": "ppo", "scenario_sha256": None, "rng": numpy_rng_state(generator)},
    )
    expected = generator.random(5)
    restored = np.random.Generator(np.random.PCG64(0))
    set_numpy_rng_state(restored, load_checkpoint(path, "ppo", None)["rng"])
    assert np.array_equal(restored.random(5), expected)


def test_save_replaces_atomically(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    save_checkpoint(path, sample_state())
    with pytest.raises(ValueError, match="ndarray"):
        save_checkpoint(path, {**sample_state(), "update": np.zeros(2)})
    assert load_checkpoint(path, "ppo", SHA)["update"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]


@pytest.mark.parametrize(
    "value", [np.float64(1.0), np.int64(1), object()], ids=["float64", "int64", "object"]
)
def test_save_rejects_non_plain_values(tmp_path, value) -> None:
    with pytest.raises(ValueError, match=r"checkpoint\['x'\]"):
        save_checkpoint(tmp_path / "run.ckpt", {**sample_state(), "x": value})


def test_save_requires_algorithm(tmp_path) -> None:
    with pytest.raises(ValueError, match="algorithm"):
        save_checkpoint(tmp_path / "run.ckpt", {"scenario_sha256": None})


def test_missing_file(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "absent.ckpt", "ppo", None)


def test_truncated_file(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    save_checkpoint(path, sample_state())
    data = path.read_bytes()
    for size in (len(data) // 2, len(data) - 10, 10):
        path.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            load_checkpoint(path, "ppo", SHA)


def test_foreign_files(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    cases = {
        "json": json.dumps({"format": "pomdb-checkpoint"}).encode(),
        "empty": b"",
        "pickle": pickle.dumps({"format": "pomdb-checkpoint"}),
    }
    for name, data in cases.items():
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match="not a pomdb checkpoint"):
            load_checkpoint(path, "ppo", None)


def test_state_dict_is_not_a_checkpoint(tmp_path) -> None:
    path = tmp_path / "policy.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match="not a pomdb checkpoint"):
        load_checkpoint(path, "ppo", None)


def test_unsafe_pickle_is_rejected(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    write_raw(path, {"format": "pomdb-checkpoint", "payload": Path("/")})
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_checkpoint(path, "ppo", None)


def test_newer_version(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    write_raw(
        path,
        {
            "format": "pomdb-checkpoint",
            "version": CHECKPOINT_VERSION + 1,
            "algorithm": "ppo",
            "scenario_sha256": None,
        },
    )
    with pytest.raises(CheckpointError, match="newer pomdb"):
        load_checkpoint(path, "ppo", None)


def test_other_algorithm(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    save_checkpoint(path, sample_state())
    with pytest.raises(CheckpointError, match="algorithm 'ppo', not 'tspsa'"):
        load_checkpoint(path, "tspsa", SHA)


def test_other_scenario(tmp_path) -> None:
    path = tmp_path / "run.ckpt"
    save_checkpoint(path, sample_state())
    with pytest.raises(CheckpointError, match="another scenario") as raised:
        load_checkpoint(path, "ppo", "b" * 64)
    assert f"delete or move {path}" in str(raised.value)
    assert load_checkpoint(path, "ppo", None)["update"] == 5


def test_is_checkpoint(tmp_path) -> None:
    checkpoint, weights, text = tmp_path / "a.ckpt", tmp_path / "b.pt", tmp_path / "c.yaml"
    save_checkpoint(checkpoint, sample_state())
    torch.save(torch.nn.Linear(2, 2).state_dict(), weights)
    text.write_text("states: [healthy, intrusion]\n")

    assert is_checkpoint(checkpoint)
    assert not is_checkpoint(weights)
    assert not is_checkpoint(text)


def test_atomic_write_error_names_target(tmp_path) -> None:
    target = tmp_path / "absent" / "policy.json"

    with pytest.raises(FileNotFoundError) as raised:
        atomic_write(target, lambda f: f.write(b"{}"))

    assert raised.value.filename == str(target)
    assert ".tmp" not in str(raised.value)


def test_atomic_write_failed_rename_names_target(tmp_path, monkeypatch) -> None:
    target = tmp_path / "policy.json"

    def read_only(source, destination):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), source, None, destination)

    monkeypatch.setattr("simcore.files.os.replace", read_only)
    with pytest.raises(OSError) as raised:
        atomic_write(target, lambda f: f.write(b"{}"))

    assert raised.value.errno == errno.EROFS
    expected = f"[Errno {errno.EROFS}] {os.strerror(errno.EROFS)}: '{target}'"
    assert str(raised.value) == expected
    assert list(tmp_path.iterdir()) == []


def test_file_sha256(tmp_path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_sha256(path) == expected
