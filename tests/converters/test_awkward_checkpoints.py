"""Checkpoints as real saves leave them: already thinking, untied, mixed dtypes, few files."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from converters import ConversionError, convert_checkpoint  # noqa: E402
from converters.checkpoint import read_tensors  # noqa: E402
from localthink.errors import LocalthinkError  # noqa: E402
from tests.converters.tiny import tiny_checkpoint  # noqa: E402

# what `distill train` adds to the template of the student it saves
THINK_SUFFIX = "{% if add_generation_prompt %}<think>\n{% endif %}"


def _field(path, key):
    import gguf

    field = gguf.GGUFReader(path).fields.get(key)
    return None if field is None else field.contents()


def _generation_prompt(path) -> str:
    from localthink.engine.protocol import Message
    from localthink.engine.template import ChatTemplate

    return ChatTemplate(_field(path, "tokenizer.chat_template")).render([Message("user", "hi")])


@pytest.mark.parametrize("saved_thinking", [False, True])
def test_think_template_opens_think_exactly_once(saved_thinking, tokenizer_dir, tmp_path):
    _, tok = tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    if saved_thinking:  # as `distill train` saves its student
        tok.chat_template += THINK_SUFFIX
        tok.save_pretrained(tmp_path / "ckpt")
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "t.gguf", "f16", think_template=True)
    prompt = _generation_prompt(path)
    assert prompt.rstrip().endswith("<think>") and prompt.count("<think>") == 1, prompt


def test_untied_checkpoint_without_lm_head_is_refused(tokenizer_dir, tmp_path):
    from safetensors.numpy import load_file, save_file

    tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")  # tie_word_embeddings false
    weights = tmp_path / "ckpt" / "model.safetensors"
    tensors = load_file(weights)
    del tensors["lm_head.weight"]
    save_file(tensors, weights, metadata={"format": "pt"})
    with pytest.raises(ConversionError, match="missing lm_head.weight") as err:
        convert_checkpoint(tmp_path / "ckpt", tmp_path / "x.gguf")
    assert "\n" not in str(err.value)
    assert not list(tmp_path.glob("*.gguf*"))

    # tied, the same tensors are a complete model: llama.cpp reuses the embeddings
    config_path = tmp_path / "ckpt" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "tie_word_embeddings": True}))
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "tied.gguf")
    assert _field(path, "general.architecture") == "llama"


def test_mixed_f32_and_bf16_file_yields_each_tensor_once(tokenizer_dir, tmp_path):
    """bf16 weights with f32 norms (and an f32 tensor first), as mixed-precision saves leave."""
    from safetensors.torch import save_file

    model, _ = tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    state = {
        name: t.detach().contiguous()
        if "norm" in name or name == "lm_head.weight"
        else t.detach().to(torch.bfloat16).contiguous()
        for name, t in model.state_dict().items()
    }
    dtypes = {t.dtype for t in state.values()}
    assert dtypes == {torch.float32, torch.bfloat16}
    save_file(state, str(tmp_path / "ckpt" / "model.safetensors"), metadata={"format": "pt"})

    names = [name for name, _ in read_tensors(tmp_path / "ckpt")]
    assert sorted(names) == sorted(state)  # each once
    for name, array in read_tensors(tmp_path / "ckpt"):
        np.testing.assert_array_equal(array, state[name].float().numpy())
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", "f32")
    assert _field(path, "general.architecture") == "llama"


def test_special_ids_come_from_generation_config_without_tokenizer_config(tokenizer_dir, tmp_path):
    tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    (tmp_path / "ckpt" / "tokenizer_config.json").unlink()
    generation = tmp_path / "ckpt" / "generation_config.json"
    # Llama 3 style: a list of end tokens; the first is the eos
    generation.write_text(json.dumps({"bos_token_id": 1, "eos_token_id": [2, 0]}))
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf")
    assert _field(path, "tokenizer.ggml.bos_token_id") == 1
    assert _field(path, "tokenizer.ggml.eos_token_id") == 2

    # generation_config.json missing too: config.json still numbers them
    generation.unlink()
    config_path = tmp_path / "ckpt" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "eos_token_id": 0}))
    path = convert_checkpoint(tmp_path / "ckpt", tmp_path / "m.gguf", force=True)
    assert _field(path, "tokenizer.ggml.eos_token_id") == 0


def test_no_eos_anywhere_is_a_one_line_error(tokenizer_dir, tmp_path):
    tiny_checkpoint("llama", tokenizer_dir, tmp_path / "ckpt")
    (tmp_path / "ckpt" / "tokenizer_config.json").unlink()
    (tmp_path / "ckpt" / "generation_config.json").unlink()
    config_path = tmp_path / "ckpt" / "config.json"
    config = json.loads(config_path.read_text())
    del config["eos_token_id"]
    config_path.write_text(json.dumps(config))
    with pytest.raises(LocalthinkError) as err:
        convert_checkpoint(tmp_path / "ckpt", tmp_path / "x.gguf")
    message = str(err.value)
    assert "\n" not in message
    assert "no eos token in tokenizer_config.json, generation_config.json or config.json" in message
    assert not list(tmp_path.glob("*.gguf*"))


def test_a_bpe_vocabulary_without_merges_loads_and_tokenizes_as_transformers(tmp_path):
    """Every byte its own token (a made-up tokenizer, as the benchmarks use): llama.cpp
    refused the GGUF ("cannot find tokenizer merges") until the converter wrote one."""
    import llama_cpp
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.save_pretrained(tmp_path / "tok")
    tiny_checkpoint("qwen2", tmp_path / "tok", tmp_path / "ckpt")
    gguf_path = tmp_path / "bytes.gguf"
    convert_checkpoint(tmp_path / "ckpt", gguf_path, "f32")
    llm = llama_cpp.Llama(str(gguf_path), vocab_only=True, verbose=False)
    text = "héllo wörld, 17*23 = 391 ✓"
    ids = llm.tokenize(text.encode(), add_bos=False, special=False)
    assert ids == tok(text, add_special_tokens=False).input_ids
    assert len(ids) == len(text.encode())  # one token per byte: the merge never applies
