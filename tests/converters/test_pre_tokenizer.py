"""The GGUF's pre-tokenizer is the one that splits text as the checkpoint's tokenizer does.

Every architecture with its own family's tokenizer and with foreign ones: llama.cpp on the
written GGUF gives transformers' ids, id for id, or the conversion is refused in one line.
"""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from converters import ConversionError, convert_checkpoint  # noqa: E402
from tests.converters.families import bpe_tokenizer  # noqa: E402
from tests.converters.tiny import MIXED, tiny_checkpoint  # noqa: E402
from tests.run_cli import localthink  # noqa: E402

ISSUE_TEXT = "def f(x):\n    return x*2"
# Texts beside the converter's own probe: a pre-tokenizer that passes the probe by luck
# still has to tokenize these as transformers does.
TEXTS = (
    ISSUE_TEXT,
    MIXED,
    "class A:\n\tdef g(self):\n\t\tpass\n\n\n        # deep\r\n",
    "It's 2025; we'll pay $12,345.67 for 1000000 items (x10 = 10000000).",
    "  two  spaces \n \n  and a trailing run   ",
    "数学问题的答案是四十二。🙂 ok 👍🏽",
)


def _gguf_ids(path, text: str) -> list[int]:
    import llama_cpp

    llm = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    try:
        return llm.tokenize(text.encode(), add_bos=False, special=True)
    finally:
        llm.close()


def _pre_of(path) -> str:
    import gguf

    return gguf.GGUFReader(path).fields["tokenizer.ggml.pre"].contents()


def _checkpoint(arch: str, tokenizer_dir, dst):
    """A tiny checkpoint holding the tokenizer's files as they are (a save by transformers
    could rewrite them), and transformers' tokenizer read back from it."""
    from transformers import AutoTokenizer

    tiny_checkpoint(arch, tokenizer_dir, dst)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, dst / name)
    return AutoTokenizer.from_pretrained(dst)


@pytest.fixture(scope="module")
def tokenizers(tokenizer_dir, spm_tokenizer_dir, tmp_path_factory):
    """name → folder: the families' tokenizers, trained here, and SmolLM2's and the SPM one."""
    base = tmp_path_factory.mktemp("families")
    found = {"smollm2": tokenizer_dir, "spm": spm_tokenizer_dir}
    for family in ("llama3", "qwen2", "gpt2", "prefix-space"):
        found[family] = bpe_tokenizer(family, base / family)
    return found


def test_qwen2_with_smollm2_tokenizer_tokenizes_as_transformers(tokenizers, tmp_path):
    """Issue 23: it converted with exit 0 and llama.cpp merged the newline into the indent.

    transformers 5 runs every qwen2 checkpoint's tokenizer with Qwen2's own split pattern,
    whatever its tokenizer.json says; the old converter judged by tokenizer.json alone.
    """
    tok = _checkpoint("qwen2", tokenizers["smollm2"], tmp_path / "ckpt")
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16")
    want = tok(ISSUE_TEXT, add_special_tokens=False).input_ids
    assert _gguf_ids(path, ISSUE_TEXT) == want


@pytest.mark.parametrize(
    ("arch", "tokenizer"),
    [
        ("llama", "smollm2"),  # SmolLM2 is a llama: its own tokenizer
        ("llama", "llama3"),
        ("llama", "qwen2"),  # a Llama student with a Qwen tokenizer
        ("llama", "spm"),
        ("qwen2", "qwen2"),
        ("qwen2", "smollm2"),
        ("qwen2", "llama3"),
        ("qwen2", "gpt2"),
        ("qwen3", "qwen2"),
        ("qwen3", "smollm2"),
        ("qwen3", "llama3"),
        ("gemma3", "spm"),
        ("gemma3", "llama3"),
        ("gemma3", "smollm2"),
    ],
)
def test_every_architecture_tokenizes_as_transformers(arch, tokenizer, tokenizers, tmp_path):
    from converters.probe import PROBE_TEXTS

    tok = _checkpoint(arch, tokenizers[tokenizer], tmp_path / "ckpt")
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16")
    for text in PROBE_TEXTS + TEXTS:  # the probe's own, checked here apart from it, and others
        assert _gguf_ids(path, text) == tok(text, add_special_tokens=False).input_ids, text


def test_a_tokenizer_no_pre_tokenizer_matches_is_refused_in_one_line(tokenizers, tmp_path):
    from converters.probe import PROBE_TEXTS

    _checkpoint("llama", tokenizers["prefix-space"], tmp_path / "ckpt")
    with pytest.raises(ConversionError) as err:
        convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16")
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / "ckpt" / "tokenizer.json") in message
    assert repr(PROBE_TEXTS[0]) in message  # transformers puts a space before the first word
    assert "--pre NAME" in message
    assert list(tmp_path.glob("*.gguf*")) == []

    r = localthink("distill", "convert", str(tmp_path / "ckpt"), "-o", str(tmp_path / "m.gguf"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert repr(PROBE_TEXTS[0]) in r.stderr and list(tmp_path.glob("*.gguf*")) == []


def test_an_explicit_pre_converts_anyway_with_a_warning(tokenizers, tmp_path, capsys):
    from converters.probe import PROBE_TEXTS

    _checkpoint("llama", tokenizers["prefix-space"], tmp_path / "ckpt")
    capsys.readouterr()  # the save's progress bar
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16", pre="gpt-2")
    assert _pre_of(path) == "gpt-2"
    warning = capsys.readouterr().err
    assert warning.startswith("warning: ") and warning.count("\n") == 1
    assert repr(PROBE_TEXTS[0]) in warning

    r = localthink(
        "distill", "convert", str(tmp_path / "ckpt"), "-o", str(tmp_path / "cli.gguf"),
        "--pre", "gpt-2",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("warning: ") and r.stderr.count("\n") == 1
    assert _pre_of(tmp_path / "cli.gguf") == "gpt-2"


def test_an_explicit_pre_that_matches_says_nothing(tokenizers, tmp_path, capsys):
    _checkpoint("qwen2", tokenizers["qwen2"], tmp_path / "ckpt")
    capsys.readouterr()  # the save's progress bar
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16", pre="qwen2")
    assert _pre_of(path) == "qwen2" and capsys.readouterr().err == ""


def test_a_pre_llama_cpp_does_not_know_is_one_line(tokenizers, tmp_path):
    _checkpoint("qwen2", tokenizers["qwen2"], tmp_path / "ckpt")
    with pytest.raises(ConversionError, match="^--pre no-such-pre: llama.cpp does not know") as e:
        convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16", pre="no-such-pre")
    assert "\n" not in str(e.value) and list(tmp_path.glob("*.gguf*")) == []


def test_the_probe_moves_past_the_first_guess_and_rewrites_the_layout(tokenizers, tmp_path):
    """SmolLM2's tokenizer.json spells gpt-2, but transformers 5 runs a qwen2 checkpoint's
    tokenizer with Qwen2's split pattern: the file written with the guess is found wrong, and
    its layout is written again with qwen2 before the weights go in. (The probe's cost is
    measured by benchmarks/convert_probe.py, not here.)"""
    from converters import probe
    from converters.checkpoint import read_config
    from converters.tokenizer import read_tokenizer

    ckpt = tmp_path / "ckpt"
    _checkpoint("qwen2", tokenizers["smollm2"], ckpt)
    tok = read_tokenizer(ckpt, read_config(ckpt)["vocab_size"])
    assert probe.first_guess(tok, None) == "gpt-2"  # what the file says
    path = convert_checkpoint(ckpt, tmp_path / "m.gguf", "f16")
    assert _pre_of(path) == "qwen2"
    assert probe.gguf_ids(path) == probe.reference(ckpt).ids
    assert list(tmp_path.glob("*.partial")) == []


def test_the_layout_loads_before_the_weights_and_the_file_is_gguf_pys(tmp_path):
    """The probe loads the vocabulary of a file whose tensor data is not written yet; once
    written, the file is byte for byte what gguf-py's own writer makes."""
    import gguf
    import numpy as np

    from converters.fast_writer import FastGGUFWriter
    from converters.probe import gguf_ids

    rng = np.random.default_rng(0)
    tensors = {"a": rng.random((3, 5), dtype=np.float32), "b": rng.random(7).astype(np.float16)}
    tokens = ["<s>", "</s>", *"abcdefgh ", "ab", "cd"]

    def fill(w) -> None:
        w.add_uint32("llama.context_length", 64)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("gpt-2")
        w.add_token_list(tokens)
        w.add_token_types([3, 3, *[1] * (len(tokens) - 2)])
        w.add_token_merges(["a b", "c d"])
        w.add_eos_token_id(1)
        for name, array in tensors.items():
            w.add_tensor(name, array)

    fast = FastGGUFWriter(str(tmp_path / "fast.gguf"), "llama")
    fill(fast)
    fast.write_layout()
    layout_size = (tmp_path / "fast.gguf").stat().st_size
    assert gguf_ids(tmp_path / "fast.gguf") is not None  # llama.cpp read the vocabulary
    fast.write_tensor_data()
    fast.close()
    plain = gguf.GGUFWriter(str(tmp_path / "plain.gguf"), "llama")
    fill(plain)
    plain.write_header_to_file()
    plain.write_kv_data_to_file()
    plain.write_tensors_to_file()
    plain.close()
    written = (tmp_path / "fast.gguf").read_bytes()
    assert written == (tmp_path / "plain.gguf").read_bytes()
    assert layout_size == len(written)  # grown to its final size before the data


@pytest.mark.parametrize(
    "values",
    [["a", "ĠHello", "你好", "🙂", ""], [1, 3, 6, -2], [0.0, -1.5, 3.25], [True, False], ["x", 1]],
)
def test_the_fast_writer_packs_arrays_as_gguf_py_does(values, tmp_path):
    import gguf

    from converters.fast_writer import FastGGUFWriter

    def packed(cls) -> bytes:
        w = cls(str(tmp_path / "x.gguf"), "llama")
        try:
            return w._pack_val(values, gguf.GGUFValueType.ARRAY, add_vtype=True)
        except ValueError as exc:  # mixed types: the same refusal
            return str(exc).encode()

    assert packed(FastGGUFWriter) == packed(gguf.GGUFWriter)


@pytest.mark.parametrize(
    ("family", "guess"),
    [("llama3", "llama-bpe"), ("qwen2", "qwen2"), ("smollm", "smollm"), ("gpt2", "gpt-2")],
)
def test_the_first_guess_is_read_from_the_structure(family, guess, tmp_path):
    """tokenizer.json as each family ships it names llama.cpp's pre-tokenizer of that family
    (the probe then proves it, or tries the others)."""
    from converters.pretokenizer import candidates

    path = bpe_tokenizer(family, tmp_path / family) / "tokenizer.json"
    assert candidates(json.loads(path.read_text())["pre_tokenizer"])[0] == guess


def test_a_candidate_tried_by_key_override_tokenizes_as_a_file_with_that_name(tokenizers, tmp_path):
    """The probe tries candidates on the file being written through llama.cpp's key
    overrides: they must act as a file written with that name would."""
    from converters import probe

    _checkpoint("qwen2", tokenizers["smollm2"], tmp_path / "ckpt")
    for pre in ("qwen2", "gpt-2"):  # gpt-2 differs: converted anyway, with a warning
        convert_checkpoint(tmp_path / "ckpt", tmp_path / f"{pre}.gguf", "f16", pre=pre, warn=print)
    as_qwen2, as_gpt2 = (probe.gguf_ids(tmp_path / f"{pre}.gguf") for pre in ("qwen2", "gpt-2"))
    assert as_qwen2 != as_gpt2  # the two names cut SmolLM2's vocabulary differently
    assert probe.gguf_ids(tmp_path / "qwen2.gguf", "gpt-2") == as_gpt2
    assert probe.gguf_ids(tmp_path / "gpt-2.gguf", "qwen2") == as_qwen2
    assert probe.gguf_ids(tmp_path / "qwen2.gguf", "no-such-pre") is None
