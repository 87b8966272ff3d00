"""The run's checkpoint folder is replaced whole or not at all (real folders, real renames)."""

from __future__ import annotations

import pytest

pytest.importorskip("safetensors")

from localthink.distill.checkpoint import recover, staged  # noqa: E402
from localthink.errors import LocalthinkError  # noqa: E402


def save(folder, step):
    folder.mkdir()
    (folder / "state.json").write_text(f'{{"step": {step}}}')


def test_a_save_replaces_the_checkpoint_and_leaves_nothing_beside_it(tmp_path):
    ckpt = tmp_path / "checkpoint"
    save(ckpt, 1)
    with staged(ckpt) as tmp:
        save(tmp, 2)
    assert (ckpt / "state.json").read_text() == '{"step": 2}'
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint"]


def test_a_failed_save_keeps_the_last_checkpoint(tmp_path):
    ckpt = tmp_path / "checkpoint"
    save(ckpt, 1)
    no_space = pytest.raises(LocalthinkError, match=r"cannot save a checkpoint .*No space left")
    with no_space, staged(ckpt) as tmp:
        save(tmp, 2)
        raise OSError(28, "No space left on device")
    assert (ckpt / "state.json").read_text() == '{"step": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint"]


def test_a_kill_between_the_renames_is_recovered(tmp_path):
    ckpt = tmp_path / "checkpoint"
    save(tmp_path / "checkpoint.old", 1)  # swapped out; the new one never got its name
    recover(ckpt)
    assert (ckpt / "state.json").read_text() == '{"step": 1}'
    recover(ckpt)  # nothing to do when the checkpoint is there
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint"]
