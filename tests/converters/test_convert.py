"""HF → GGUF conversion, proven numerically against transformers on real llama.cpp."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from converters import ConversionError, convert_checkpoint  # noqa: E402
from converters.quantize import quantize  # noqa: E402
from tests.converters.tiny import (  # noqa: E402
    MIXED,
    PROMPTS,
    TOLERANCE,
    llama_logits,
    tiny_checkpoint,
)
from tests.run_cli import localthink  # noqa: E402


@pytest.mark.parametrize(
    "arch", ["llama", "llama3", "qwen2", "qwen2-yarn", "qwen3", "gemma3", "gemma3-mm"]
)
@pytest.mark.parametrize("outtype", ["f32", "f16"])
def test_logits_match_transformers(arch, outtype, request, tmp_path):
    """Every prompt, every position: llama.cpp's logits equal transformers' (float32)."""
    tokenizer = "spm_tokenizer_dir" if arch.startswith("gemma3") else "tokenizer_dir"
    model, tok = tiny_checkpoint(arch, request.getfixturevalue(tokenizer), tmp_path / "ckpt")
    gguf_path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", outtype)
    decided = []
    for prompt in PROMPTS:
        ids = tok(prompt).input_ids
        with torch.no_grad():
            ref = model(torch.tensor([ids])).logits[0].float().numpy()
        ours = llama_logits(gguf_path, ids)
        error = np.abs(ours - ref).max()
        assert error < TOLERANCE[outtype], prompt
        # top-1 agrees wherever transformers' top two are further apart than twice the error
        # (a closer tie on these near-flat random models is decided by rounding)
        top2 = np.sort(ref, axis=-1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 2 * error
        assert (ours.argmax(-1) == ref.argmax(-1))[clear].all(), prompt
        decided += list(clear)
    assert np.mean(decided) > 0.7  # the top-1 check covered most positions


@pytest.mark.parametrize("arch", ["qwen2", "gemma3"])
def test_tokenization_is_identical(arch, request, tmp_path):
    """Byte-level BPE (qwen2) and SentencePiece BPE (gemma3): the same ids, BOS included."""
    import llama_cpp

    tokenizer = "spm_tokenizer_dir" if arch == "gemma3" else "tokenizer_dir"
    _, tok = tiny_checkpoint(arch, request.getfixturevalue(tokenizer), tmp_path / "ckpt")
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16")
    llm = llama_cpp.Llama(str(path), n_ctx=256, vocab_only=True, verbose=False)
    texts = (MIXED, "  leading spaces\n\n\ttabs", "naïve café — ünïcode", "x <end_of_turn>")
    for text in texts:
        assert llm.tokenize(text.encode(), special=True) == tok(text).input_ids, text
        assert llm.detokenize(tok(text).input_ids, special=True).decode() == tok.decode(
            tok(text).input_ids
        )


def test_think_template_opens_thinking(tokenizer_dir, tmp_path):
    from localthink.engine.protocol import ThinkTags
    from localthink.engine.template import template_for
    from localthink.models.gguf_file import read_gguf_info

    tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    info = read_gguf_info(
        convert_checkpoint(tmp_path / "ckpt", tmp_path / "t.gguf", "f16", think_template=True)
    )
    assert template_for(info.chat_template, "", "").opens_thinking(ThinkTags())


@pytest.mark.parametrize(
    ("arch", "qtype"), [("qwen2", "Q8_0"), ("qwen2", "Q4_K_M"), ("gemma3", "Q4_K_M")]
)
def test_quantized_files_load_and_generate(arch, qtype, request, tmp_path, capfd):
    from localthink.engine.llama import LlamaEngine
    from localthink.engine.protocol import Done, Message, SamplingParams

    tokenizer = request.getfixturevalue(
        "spm_tokenizer_dir" if arch == "gemma3" else "tokenizer_dir"
    )
    tiny_checkpoint(arch, tokenizer, tmp_path / "ckpt", hidden=256)  # K-quants: rows of 256
    f16 = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m-f16.gguf", "f16")
    result = quantize(f16, tmp_path / f"m-{qtype}.gguf", qtype)
    assert result.bytes_after < result.bytes_before
    capfd.readouterr()
    engine = LlamaEngine(result.path)
    assert engine.info.quant == qtype
    done = list(engine.stream([Message("user", "hi")], SamplingParams(max_tokens=8)))[-1]
    assert isinstance(done, Done) and done.stats.gen_tokens > 0
    engine.close()
    # llama.cpp's own log (gemma3 warns "using full-size SWA cache") stays off the terminal
    assert "llama" not in capfd.readouterr().err
    with pytest.raises(ConversionError, match="exists"):
        quantize(f16, result.path, qtype)
    with pytest.raises(ConversionError, match="unsupported"):
        quantize(f16, tmp_path / "x.gguf", "Q9_Z")


def test_a_failed_quantize_says_why_in_one_line(smollm2_path, tmp_path):
    # llama.cpp refuses to requantize an already quantized file; its reason is in its log
    r = localthink(
        "distill", "quantize", str(smollm2_path), "-o", str(tmp_path / "q.gguf"), "--type", "Q8_0"
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "(requantizing from type q4_1 is disabled; " in r.stderr
    assert list(tmp_path.iterdir()) == []  # no partial file left


def test_smollm2_round_trip_keeps_greedy_continuation(smollm2_path, tmp_path):
    """GGUF → transformers (dequantized) → save → convert → same greedy tokens as the original."""
    import llama_cpp
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = dict(pretrained_model_name_or_path=smollm2_path.parent, gguf_file=smollm2_path.name)
    model = AutoModelForCausalLM.from_pretrained(**src, dtype=torch.float32)
    # transformers marks GGUF-loaded models as quantized and will not save_pretrained them:
    # write the (dequantized) weights and config the way save_pretrained would.
    (tmp_path / "hf").mkdir()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, str(tmp_path / "hf" / "model.safetensors"))
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (tmp_path / "hf" / "config.json").write_text(json.dumps(config))
    AutoTokenizer.from_pretrained(**src).save_pretrained(tmp_path / "hf")
    out = convert_checkpoint(tmp_path / "hf", tmp_path / "round.gguf", "f32")

    def greedy(path):
        llm = llama_cpp.Llama(str(path), n_ctx=256, verbose=False)
        ids = llm.tokenize(b"The three primary colours are", add_bos=False)
        got = []
        for token in llm.generate(ids, temp=0.0):
            got.append(token)
            if len(got) == 8:
                break
        llm.close()
        return got

    # The first tokens agree exactly; later ones may not, because the original runs Q4_1
    # kernels (which also quantize activations) and the round trip runs f32 ones.
    assert greedy(out)[:5] == greedy(smollm2_path)[:5]


def test_errors_are_one_line_and_leave_no_partial_file(tokenizer_dir, tmp_path):
    tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())

    bad = tmp_path / "gpt2"
    shutil.copytree(tmp_path / "ckpt", bad)
    (bad / "config.json").write_text(json.dumps({**config, "architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(
        ConversionError, match="unsupported architecture GPT2LMHeadModel .*supported: "
    ):
        convert_checkpoint(bad, tmp_path / "x.gguf")

    notok = tmp_path / "notok"
    shutil.copytree(tmp_path / "ckpt", notok)
    (notok / "tokenizer.json").unlink()
    with pytest.raises(Exception, match="no tokenizer.json"):
        convert_checkpoint(notok, tmp_path / "x.gguf")

    short = tmp_path / "short"
    shutil.copytree(tmp_path / "ckpt", short)
    (short / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(ConversionError, match="missing .* tensors"):
        convert_checkpoint(short, tmp_path / "x.gguf")
    assert not list(tmp_path.glob("*.gguf*"))

    r = localthink("distill", "convert", str(bad), "-o", str(tmp_path / "x.gguf"))
    assert (
        r.returncode == 2 and r.stderr.count("\n") == 1 and "unsupported architecture" in r.stderr
    )


def test_register_then_ask_by_name(tokenizer_dir, tmp_path, isolated_home):
    tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "student.gguf", "f16", True)
    env = {**os.environ, "LOCALTHINK_HOME": str(isolated_home)}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "localthink",
            "distill",
            "register",
            str(path),
            "--name",
            "my-thinker",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "localthink",
            "ask",
            "--json",
            "--model",
            "my-thinker",
            "--max-tokens",
            "6",
            "hi",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model"] == "my-thinker" and out["stats"]["thinking_tokens"] == 6  # opens <think>


def test_gemma3_config_from_transformers_4_keeps_its_sliding_layers(tmp_path):
    """gemma-3-1b's own config.json (transformers 4 keys): every 6th layer global, local rope."""
    import gguf

    from converters import gemma3
    from localthink.errors import LocalthinkError

    config = {
        "hidden_size": 1152, "intermediate_size": 6912, "num_hidden_layers": 26,
        "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
        "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-6, "rope_theta": 1000000,
        "rope_local_base_freq": 10000, "rope_scaling": None, "sliding_window": 512,
        "sliding_window_pattern": 6, "max_position_embeddings": 32768, "vocab_size": 262144,
    }  # fmt: skip
    w = gguf.GGUFWriter(str(tmp_path / "meta.gguf"), "gemma3")
    gemma3.write_metadata(w, config)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    fields = gguf.GGUFReader(tmp_path / "meta.gguf").fields

    def value(key):
        return fields[key].contents()

    pattern = value("gemma3.attention.sliding_window_pattern")
    assert [i for i, slides in enumerate(pattern) if not slides] == [5, 11, 17, 23]
    assert value("gemma3.rope.freq_base") == 1e6 and value("gemma3.rope.freq_base_swa") == 1e4
    assert value("gemma3.attention.sliding_window") == 512

    with pytest.raises(LocalthinkError, match="query_pre_attn_scalar 144"):
        gemma3.write_metadata(w, {**config, "query_pre_attn_scalar": 144})
    with pytest.raises(LocalthinkError, match="rope scaling 'dynamic'"):
        gemma3.write_metadata(w, {**config, "rope_scaling": {"rope_type": "dynamic", "factor": 4}})
