"""Broken checkpoints (bad JSON, missing keys, cut-off downloads) and bad paths: `distill
convert` says what is wrong in one line naming the file, exits 2, and leaves no output."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.converters.tiny import tiny_checkpoint  # noqa: E402
from tests.run_cli import localthink  # noqa: E402


@pytest.fixture(scope="module")
def good(tokenizer_dir, tmp_path_factory):
    """A tiny Llama checkpoint that converts; each test breaks a copy of it."""
    ckpt = tmp_path_factory.mktemp("good") / "ckpt"
    tiny_checkpoint("llama", tokenizer_dir, ckpt, hidden=16)
    return ckpt


@pytest.fixture
def ckpt(good, tmp_path):
    """A copy of the good checkpoint whose files a test may replace."""
    return shutil.copytree(good, tmp_path / "ckpt")


def _edit_config(folder, **changes):
    path = folder / "config.json"
    config = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not None}))


def _truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def _rope(scaling):
    """rope_scaling as transformers 4 wrote it (the tiny save uses rope_parameters)."""
    return {"rope_parameters": {}, "rope_theta": 500000.0, "rope_scaling": scaling}


LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0}
BROKEN = {
    "config-not-json": (
        lambda d: (d / "config.json").write_text("{"),
        "config.json: not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2)",
    ),
    "config-empty": (
        lambda d: (d / "config.json").write_text(""),
        "config.json: not valid JSON (Expecting value: line 1 column 1)",
    ),
    "config-a-list": (
        lambda d: (d / "config.json").write_text("[1]"),
        "config.json: expected a JSON object, found a list",
    ),
    "config-not-utf8": (
        lambda d: (d / "config.json").write_bytes(b'{"a": "\xff"}'),
        "config.json: not UTF-8 text",
    ),
    "no-hidden-size": (
        lambda d: _edit_config(d, hidden_size=None),
        "config.json: hidden_size is missing",
    ),
    "hidden-size-text": (
        lambda d: _edit_config(d, hidden_size="64"),
        'config.json: hidden_size is "64", expected a whole number above 0',
    ),
    "layers-negative": (
        lambda d: _edit_config(d, num_hidden_layers=-2),
        "config.json: num_hidden_layers is -2, expected a whole number above 0",
    ),
    "architectures-text": (
        lambda d: _edit_config(d, architectures="LlamaForCausalLM"),
        "config.json: architectures is not a list of class names",
    ),
    "yarn-without-original-context": (
        lambda d: _edit_config(d, **_rope({"rope_type": "yarn", "factor": 4.0})),
        "config.json: rope scaling yarn needs original_max_position_embeddings, which is missing",
    ),
    "llama3-without-low-freq-factor": (
        lambda d: _edit_config(d, **_rope({**LLAMA3, "original_max_position_embeddings": 64})),
        "config.json: rope scaling llama3 needs low_freq_factor, which is missing",
    ),
    "rope-scaling-text": (
        lambda d: _edit_config(d, **_rope("yarn")),
        "config.json: rope_scaling is not a table of settings",
    ),
    "vocab-size-below-tokenizer": (
        lambda d: _edit_config(d, vocab_size=100),
        "tokenizer.json: token ids go up to 49151, past the vocab_size 100 of config.json",
    ),
    "vocab-size-above-embeddings": (
        lambda d: _edit_config(d, vocab_size=60000),
        "config.json: vocab_size 60000 × hidden_size 16 disagrees with the embedding matrix, "
        "which is 49152 × 16",
    ),
    "weights-cut-in-data": (
        lambda d: _truncate(d / "model.safetensors", -1000),
        "model.safetensors: truncated (its header needs",
    ),
    "weights-cut-in-header": (
        lambda d: _truncate(d / "model.safetensors", 100),
        "model.safetensors: truncated or not a safetensors file",
    ),
    "weights-empty": (
        lambda d: _truncate(d / "model.safetensors", 0),
        "model.safetensors: truncated or not a safetensors file",
    ),
    "tokenizer-not-json": (
        lambda d: (d / "tokenizer.json").write_text('{"model": '),
        "tokenizer.json: not valid JSON (Expecting value: line 1 column 11)",
    ),
    "tokenizer-a-list": (
        lambda d: (d / "tokenizer.json").write_text("[]"),
        "tokenizer.json: expected a JSON object, found a list",
    ),
    "tokenizer-no-model": (
        lambda d: (d / "tokenizer.json").write_text('{"version": "1.0"}'),
        "tokenizer.json: not a tokenizer the tokenizers library reads",
    ),
    "tokenizer-config-not-json": (
        lambda d: (d / "tokenizer_config.json").write_text("{'eos_token': 1}"),
        "tokenizer_config.json: not valid JSON",
    ),
    "generation-config-not-json": (
        lambda d: (d / "generation_config.json").write_text("nope"),
        "generation_config.json: not valid JSON",
    ),
    "chat-template-not-text": (
        lambda d: (d / "tokenizer_config.json").write_text('{"chat_template": 3}'),
        "tokenizer_config.json: chat_template is not text",
    ),
}


def _assert_one_line_error(r, expected: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("localthink: error: "), r.stderr
    assert expected in r.stderr, r.stderr


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_checkpoint_is_one_line_naming_the_file(case, ckpt, tmp_path):
    breaks, expected = BROKEN[case]
    breaks(ckpt)
    out = tmp_path / "out"
    out.mkdir()
    r = localthink("distill", "convert", str(ckpt), "-o", str(out / "m.gguf"))
    _assert_one_line_error(r, f"{ckpt}/{expected}")
    assert list(out.iterdir()) == [], "no output, partial or whole"
    assert not list(ckpt.glob("*.partial"))


def test_the_good_checkpoint_converts(good, tmp_path):
    """The checkpoint the other tests break is itself fine."""
    r = localthink("distill", "convert", str(good), "-o", str(tmp_path / "m.gguf"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m.gguf").stat().st_size > 0


def test_a_missing_folder_is_named_as_missing(tmp_path):
    r = localthink("distill", "convert", str(tmp_path / "nope"), "-o", str(tmp_path / "m.gguf"))
    _assert_one_line_error(r, f"{tmp_path / 'nope'}: no such folder")


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "tokenizer.json"])
def test_the_output_never_replaces_a_file_of_the_checkpoint(name, ckpt):
    before = (ckpt / name).read_bytes()
    r = localthink("distill", "convert", str(ckpt), "-o", str(ckpt / name), "--force")
    _assert_one_line_error(r, "one of the checkpoint's own files")
    assert (ckpt / name).read_bytes() == before
    assert not list(ckpt.glob("*.partial"))


def test_a_new_safetensors_name_inside_the_checkpoint_is_refused(ckpt):
    """It would be read as weights by the next conversion."""
    r = localthink("distill", "convert", str(ckpt), "-o", str(ckpt / "model-2.safetensors"))
    _assert_one_line_error(r, "would become one of the checkpoint's own files")
    assert not (ckpt / "model-2.safetensors").exists()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("", "-o is an empty path"),
        (".", "-o . is a folder"),
        ("no/such/dir/m.gguf", "-o no/such/dir/m.gguf: no folder no/such/dir"),
    ],
)
def test_a_bad_output_path_is_one_line(output, expected, good, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = localthink("distill", "convert", str(good), "-o", output)
    _assert_one_line_error(r, expected)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_partial_file(good, tmp_path):
    """The disk fills up (here: a file size limit) while the GGUF is written."""
    r = localthink(
        "distill", "convert", str(good), "-o", str(tmp_path / "m.gguf"), max_file_bytes=500_000
    )
    _assert_one_line_error(r, f"cannot write {tmp_path / 'm.gguf'}")
    assert list(tmp_path.iterdir()) == []
