"""Every curated entry is complete and well formed; the user registry overlays it."""

import re

import pytest

from localthink.config import paths
from localthink.errors import LocalthinkError
from localthink.models.gguf_file import FILE_TYPES
from localthink.models.registry import SAMPLING_KEYS, curated_registry_path, load_registry
from localthink.models.user_registry import forget, import_gguf

CURATED = {name: e for name, e in load_registry().items() if not e.user}
REQUIRED = [
    *(f"r1-distill-qwen-{size}" for size in ("1.5b", "7b", "14b", "32b")),
    "r1-distill-llama-8b",
    *(f"qwen3-{size}" for size in ("0.6b", "1.7b", "4b", "8b")),
    "deepscaler-1.5b",
    "openr1-distill-7b",
    "qwq-32b",
    "smollm2-135m",
]


def test_registry_has_the_promised_models():
    assert set(REQUIRED) <= set(CURATED)


@pytest.mark.parametrize("name", sorted(CURATED))
def test_entry_is_complete(name):
    e = CURATED[name]
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name)
    assert e.family and e.params and e.license and e.about and e.context_length >= 2048
    assert bool(e.repo) != bool(e.bundled), "a model comes from the Hub or from a package"
    if e.repo:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", e.repo)
    assert e.default_quant in e.quants
    for quant, q in e.quants.items():
        assert quant in FILE_TYPES.values()
        assert q.file.endswith(".gguf") and q.size_gb > 0
        assert not q.sha256 or re.fullmatch(r"[0-9a-f]{64}", q.sha256)
    assert e.tags.open.startswith("<") and e.tags.close.startswith("</")
    assert set(e.sampling) <= set(SAMPLING_KEYS)
    assert 0 < e.sampling["temperature"] <= 1.5 and 0 < e.sampling["top_p"] <= 1


def test_r1_distills_advise_no_system_prompt():
    assert not CURATED["r1-distill-qwen-7b"].system_prompt
    assert CURATED["r1-distill-qwen-7b"].sampling["temperature"] == 0.6


def test_bundled_test_model_checksum_is_the_real_file(smollm2_path):
    from localthink.models.hub import sha256_of

    assert sha256_of(smollm2_path) == CURATED["smollm2-135m"].quant(None).sha256


def test_import_and_forget_leave_curated_file_and_gguf_alone(think_gguf):
    before = curated_registry_path().read_bytes()
    row = import_gguf(think_gguf, "mine")
    assert row["architecture"] == "llama" and row["quant"] == "Q4_1" and row["chat_template"]
    entry = load_registry()["mine"]
    assert entry.user and entry.quant(None).path == str(think_gguf)
    assert forget("mine") == think_gguf
    assert "mine" not in load_registry() and think_gguf.exists()
    assert curated_registry_path().read_bytes() == before
    assert not paths().user_registry_path.read_text().strip()


def test_import_refuses_bad_files_and_curated_names(tmp_path, think_gguf):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"nope")
    with pytest.raises(LocalthinkError, match="not a GGUF"):
        import_gguf(junk)
    with pytest.raises(LocalthinkError, match="curated model name"):
        import_gguf(think_gguf, "qwen3-4b")
