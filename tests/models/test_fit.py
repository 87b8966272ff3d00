"""Hardware fit on the real SmolLM2-135M GGUF, with RAM and VRAM amounts passed in."""

import os
import stat
from collections import defaultdict

import pytest

from localthink.models import fit
from localthink.models.fit import (
    GPU_RESERVE_BYTES,
    fit_warning,
    gpu_layers_that_fit,
    gpu_memory_bytes,
    layer_sizes,
    memory_bytes,
    needed_bytes,
    offload_supported,
    pick_quant,
)
from localthink.models.registry import ModelEntry, QuantFile

GB = 10**9
N_CTX = 2048


@pytest.fixture(scope="module")
def reference(smollm2_path):
    """Per-block bytes and KV cost read independently, with gguf-py's own GGUFReader."""
    import gguf

    reader = gguf.GGUFReader(smollm2_path)
    blocks = defaultdict(int)
    other = 0
    for t in reader.tensors:
        if t.name.startswith("blk."):
            blocks[int(t.name.split(".")[1])] += int(t.n_bytes)
        else:
            other += int(t.n_bytes)
    field = reader.get_field
    n_head = field("llama.attention.head_count").contents()
    head_dim = field("llama.embedding_length").contents() // n_head
    kv = field("llama.attention.head_count_kv").contents() * head_dim * 2 * 2  # K+V, f16
    return [blocks[i] for i in range(len(blocks))], other, kv


def vram_for_last(layers: list[int], kv: int, n: int, n_ctx: int = N_CTX) -> int:
    return GPU_RESERVE_BYTES + sum(layers[len(layers) - n :]) + n * kv * n_ctx


def test_layer_sizes_match_the_tensor_table(smollm2_path, reference):
    layers, other, kv = reference
    sizes = layer_sizes(smollm2_path)
    assert sizes.block_count == 30 == len(layers)
    assert sizes.layers == layers
    assert sizes.other == other > 0  # the token embedding, tied to the output
    assert sizes.kv_per_token == [kv] * 30 and kv == 3 * 64 * 2 * 2
    assert sizes.n_vocab == 49152
    assert sum(layers) + other <= smollm2_path.stat().st_size


def test_everything_fits_in_lots_of_vram(smollm2_path):
    assert gpu_layers_that_fit(smollm2_path, 80 * GB, N_CTX) == -1


def test_half_the_vram_offloads_as_many_blocks_as_it_holds(smollm2_path, reference):
    layers, _, kv = reference
    vram = vram_for_last(layers, kv, 15)
    assert gpu_layers_that_fit(smollm2_path, vram, N_CTX) == 15
    assert gpu_layers_that_fit(smollm2_path, vram - 1, N_CTX) == 14
    assert gpu_layers_that_fit(smollm2_path, vram_for_last(layers, kv, 16) - 1, N_CTX) == 15


def test_all_blocks_but_not_the_output_layer(smollm2_path, reference):
    layers, _, kv = reference
    assert gpu_layers_that_fit(smollm2_path, vram_for_last(layers, kv, 30), N_CTX) == 30


def test_longer_context_leaves_room_for_fewer_blocks(smollm2_path, reference):
    layers, _, kv = reference
    vram = vram_for_last(layers, kv, 15)
    n = gpu_layers_that_fit(smollm2_path, vram, 32768)
    assert 0 < n < 15
    assert vram_for_last(layers, kv, n, 32768) <= vram < vram_for_last(layers, kv, n + 1, 32768)


def test_too_little_vram_offloads_nothing(smollm2_path, reference):
    layers, _, kv = reference
    assert gpu_layers_that_fit(smollm2_path, vram_for_last(layers, kv, 1) - 1, N_CTX) == 0
    assert gpu_layers_that_fit(smollm2_path, 0, N_CTX) == 0


def machine(monkeypatch, *, offload: bool, vram: int | None, free_ram: int) -> None:
    monkeypatch.setattr(fit, "offload_supported", lambda: offload)
    monkeypatch.setattr(fit, "gpu_memory_bytes", lambda: vram)
    monkeypatch.setattr(fit, "memory_bytes", lambda: (64 * GB, free_ram))
    monkeypatch.setattr(fit, "unified_memory", lambda: False)


def test_cpu_build_warns_by_ram_whatever_the_vram(monkeypatch, smollm2_path):
    size = smollm2_path.stat().st_size
    machine(monkeypatch, offload=False, vram=80 * GB, free_ram=needed_bytes(size) - 1)
    warning = fit_warning(size, smollm2_path)
    assert warning is not None and "needs about" in warning and "RAM is free" in warning
    assert f"{needed_bytes(size) / 1e9:.1f} GB" in warning
    assert "offloading" not in warning
    assert fit_warning(size) == warning  # the same without the GGUF's block sizes
    machine(monkeypatch, offload=False, vram=None, free_ram=needed_bytes(size))
    assert fit_warning(size, smollm2_path) is None


def test_partial_offload_is_reported_and_ram_counts_only_the_cpu_side(
    monkeypatch, smollm2_path, reference
):
    layers, _, kv = reference
    size = smollm2_path.stat().st_size
    vram = vram_for_last(layers, kv, 15)
    # Enough RAM for what stays on the CPU, not for the whole file.
    cpu_side = size - sum(layers[15:])
    machine(monkeypatch, offload=True, vram=vram, free_ram=needed_bytes(cpu_side))
    warning = fit_warning(size, smollm2_path, n_ctx=N_CTX)
    assert (
        warning == f"offloading 15/30 layers ({vram / 1e9:.1f} GB of {vram / 1e9:.1f} GB VRAM free)"
    )
    machine(monkeypatch, offload=True, vram=vram, free_ram=needed_bytes(cpu_side) - 1)
    warning = fit_warning(size, smollm2_path, n_ctx=N_CTX)
    assert warning.startswith("offloading 15/30 layers") and "the part on the CPU needs" in warning


def test_the_users_gpu_layers_are_taken_as_given(monkeypatch, smollm2_path, reference):
    layers, _, _ = reference
    size = smollm2_path.stat().st_size
    cpu_side = size - sum(layers[20:])
    machine(monkeypatch, offload=True, vram=0, free_ram=needed_bytes(cpu_side))
    assert fit_warning(size, smollm2_path, n_ctx=N_CTX, n_gpu_layers=10) is None


def test_no_block_fits_says_so(monkeypatch, smollm2_path):
    size = smollm2_path.stat().st_size
    machine(monkeypatch, offload=True, vram=GPU_RESERVE_BYTES, free_ram=64 * GB)
    assert fit_warning(size, smollm2_path) == (
        f"no layer fits in {GPU_RESERVE_BYTES / 1e9:.1f} GB of free VRAM; running on the CPU"
    )


def test_whole_model_on_the_gpu_needs_no_warning_even_with_little_ram(monkeypatch, smollm2_path):
    size = smollm2_path.stat().st_size
    machine(monkeypatch, offload=True, vram=80 * GB, free_ram=0)
    assert fit_warning(size, smollm2_path) is None
    machine(monkeypatch, offload=True, vram=None, free_ram=0)  # llama.cpp offloads all
    assert fit_warning(size, smollm2_path) is None


def test_unified_memory_checks_ram_for_the_whole_file(monkeypatch, smollm2_path):
    size = smollm2_path.stat().st_size
    machine(monkeypatch, offload=True, vram=80 * GB, free_ram=needed_bytes(size) - 1)
    monkeypatch.setattr(fit, "unified_memory", lambda: True)
    assert fit_warning(size, smollm2_path).startswith("this model needs about")


def entry(default: str) -> ModelEntry:
    quants = {
        q: QuantFile(q, f"m.{q}.gguf", size_gb=gb)
        for q, gb in [("Q4_K_M", 1.0), ("Q6_K", 2.0), ("Q8_0", 4.0)]
    }
    return ModelEntry("m", quants, default)


def test_pick_quant_falls_back_to_the_largest_that_fits():
    assert pick_quant(entry("Q8_0"), needed_bytes(2 * GB)).quant == "Q6_K"
    assert pick_quant(entry("Q8_0"), needed_bytes(2 * GB) - 1).quant == "Q4_K_M"
    assert pick_quant(entry("Q8_0"), needed_bytes(4 * GB)).quant == "Q8_0"
    assert pick_quant(entry("Q4_K_M"), 100 * GB).quant == "Q4_K_M"  # the default wins
    assert pick_quant(entry("Q8_0"), 0).quant == "Q4_K_M"  # nothing fits: the smallest


def test_memory_bytes_reads_this_machine():
    total, available = memory_bytes()
    assert 0 < available <= total
    assert total == pytest.approx(
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), rel=0.05
    )


def fake_nvidia_smi(tmp_path, output: str):
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(tmp_path)


def test_gpu_memory_from_nvidia_smi(monkeypatch, tmp_path):
    monkeypatch.setattr(fit.platform, "system", lambda: "Linux")
    monkeypatch.setenv("PATH", fake_nvidia_smi(tmp_path, "8110\\n2048\\n"))
    assert gpu_memory_bytes() == 8110 * 2**20  # the first GPU's free memory
    monkeypatch.setenv("PATH", fake_nvidia_smi(tmp_path, "[N/A]\\n"))
    assert gpu_memory_bytes() is None
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert gpu_memory_bytes() is None


def test_apple_silicon_gets_three_quarters_of_unified_memory(monkeypatch):
    monkeypatch.setattr(fit.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(fit.platform, "machine", lambda: "arm64")
    monkeypatch.setattr(fit, "memory_bytes", lambda: (16 * GB, 3 * GB))
    assert gpu_memory_bytes() == 12 * GB


def test_offload_support_follows_the_backend_libraries(monkeypatch, tmp_path):
    import llama_cpp

    assert offload_supported() == llama_cpp.llama_supports_gpu_offload()
    (tmp_path / "libggml-cuda.so").write_bytes(b"")
    monkeypatch.setenv("LLAMA_CPP_LIB_PATH", str(tmp_path))
    assert offload_supported()
