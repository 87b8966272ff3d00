import pytest

from localthink.errors import BadGGUFError
from localthink.models.gguf_file import copy_gguf, read_gguf_info


def test_reads_smollm2_header(smollm2_path):
    info = read_gguf_info(smollm2_path)
    assert info.architecture == "llama"
    assert info.quant == "Q4_1"
    assert info.context_length == 8192
    assert info.eos_token == "<|im_end|>"
    assert "<|im_start|>assistant" in info.chat_template
    assert 130_000_000 < info.n_params < 140_000_000


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"", "empty"), (b"PK\x03\x04zipfile", "not a GGUF")],
)
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadGGUFError, match=message) as err:
        read_gguf_info(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("keep", [100, 5_000_000, 0.99])
def test_truncated_gguf_is_refused(smollm2_path, tmp_path, keep):
    data = smollm2_path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[:n])
    with pytest.raises(BadGGUFError, match="truncated"):
        read_gguf_info(path)


def test_copy_replaces_chat_template_and_keeps_tensors(smollm2_path, tmp_path):
    dst = tmp_path / "copy.gguf"
    copy_gguf(smollm2_path, dst, {"tokenizer.chat_template": "{{ messages[0].content }}"})
    info = read_gguf_info(dst)
    assert info.chat_template == "{{ messages[0].content }}"
    assert info.n_params == read_gguf_info(smollm2_path).n_params
