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

MIXED = "Hello, wörld! Ça va? 你好世界 🙂🚀 12345 + 678 = 7023 <think>why</think> done."
PROMPTS = ["The capital of France is", "2+2=4 and 3+3=", "<think>\nLet me see", MIXED]
TOLERANCE = {"f32": 2e-3, "f16": 2e-2}  # max |logit difference| on these tiny random models


@pytest.fixture(scope="session")
def tokenizer_dir(smollm2_path, tmp_path_factory):
    """A real BPE tokenizer: the one transformers reads out of the SmolLM2 GGUF."""
    from transformers import AutoTokenizer

    d = tmp_path_factory.mktemp("tok")
    AutoTokenizer.from_pretrained(smollm2_path.parent, gguf_file=smollm2_path.name).save_pretrained(
        d
    )
    return d


def tiny_checkpoint(arch: str, tokenizer_dir, dst, hidden: int = 64):
    """A randomly initialised model of the architecture, saved with the real tokenizer."""
    from transformers import AutoTokenizer

    classes = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
    }
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config_cls, model_cls = classes[arch]
    extra = {"head_dim": hidden // 4} if arch == "qwen3" else {}
    config = config_cls(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        **extra,
    )
    torch.manual_seed(0)
    model = model_cls(config).eval()
    with torch.no_grad():  # biases and norms start at 0/1: make them count
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.2)
    model.save_pretrained(dst)
    tok.save_pretrained(dst)
    return model, tok


def llama_logits(gguf_path, ids):
    import llama_cpp

    llm = llama_cpp.Llama(str(gguf_path), n_ctx=256, logits_all=True, verbose=False)
    llm.eval(ids)
    out = np.array(llm.scores[: len(ids)])
    llm.close()
    return out


@pytest.mark.parametrize("arch", ["llama", "qwen2", "qwen3"])
@pytest.mark.parametrize("outtype", ["f32", "f16"])
def test_logits_match_transformers(arch, outtype, tokenizer_dir, tmp_path):
    model, tok = tiny_checkpoint(arch, tokenizer_dir, tmp_path / "ckpt")
    gguf_path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", outtype)
    for prompt in PROMPTS:
        ids = tok(prompt).input_ids
        with torch.no_grad():
            ref = model(torch.tensor([ids])).logits[0].float().numpy()
        ours = llama_logits(gguf_path, ids)
        assert (ours.argmax(-1) == ref.argmax(-1)).all(), prompt
        assert np.abs(ours - ref).max() < TOLERANCE[outtype], prompt


def test_tokenization_is_identical(tokenizer_dir, tmp_path):
    import llama_cpp

    _, tok = tiny_checkpoint("qwen2", tokenizer_dir, tmp_path / "ckpt")
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f16")
    llm = llama_cpp.Llama(str(path), n_ctx=256, vocab_only=True, verbose=False)
    for text in (MIXED, "  leading spaces\n\n\ttabs", "naïve café — ünïcode"):
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == tok(text).input_ids


def test_think_template_opens_thinking(tokenizer_dir, tmp_path):
    from localthink.engine.protocol import ThinkTags
    from localthink.engine.template import template_for
    from localthink.models.gguf_file import read_gguf_info

    tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    info = read_gguf_info(
        convert_checkpoint(tmp_path / "ckpt", tmp_path / "t.gguf", "f16", think_template=True)
    )
    assert template_for(info.chat_template, "", "").opens_thinking(ThinkTags())


@pytest.mark.parametrize("qtype", ["Q8_0", "Q4_K_M"])
def test_quantized_files_load_and_generate(qtype, tokenizer_dir, tmp_path):
    from localthink.engine.llama import LlamaEngine
    from localthink.engine.protocol import Done, Message, SamplingParams

    tiny_checkpoint("qwen2", tokenizer_dir, tmp_path / "ckpt", hidden=256)  # K-quants: rows of 256
    f16 = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m-f16.gguf", "f16")
    result = quantize(f16, tmp_path / f"m-{qtype}.gguf", qtype)
    assert result.bytes_after < result.bytes_before
    engine = LlamaEngine(result.path)
    assert engine.info.quant == qtype
    done = list(engine.stream([Message("user", "hi")], SamplingParams(max_tokens=8)))[-1]
    assert isinstance(done, Done) and done.stats.gen_tokens > 0
    engine.close()
    with pytest.raises(ConversionError, match="exists"):
        quantize(f16, result.path, qtype)
    with pytest.raises(ConversionError, match="unsupported"):
        quantize(f16, tmp_path / "x.gguf", "Q9_Z")


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

    env = {**os.environ, "LOCALTHINK_HOME": str(tmp_path / "home")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "localthink",
            "distill",
            "convert",
            str(bad),
            "-o",
            str(tmp_path / "x.gguf"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
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
