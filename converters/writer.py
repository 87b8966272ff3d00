"""Glue: checkpoint folder + architecture module + tokenizer → one GGUF file."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np

from converters import checkpoint, gemma3, llama, qwen2, qwen3
from converters.tokenizer import write_tokenizer
from localthink.errors import LocalthinkError

MODULES = (llama, qwen2, qwen3, gemma3)
ARCHITECTURES = {cls: module for module in MODULES for cls in module.HF_CLASSES}
OUTTYPES = ("f32", "f16", "bf16")


class ConversionError(LocalthinkError):
    pass


def _encode(data: np.ndarray, outtype: str, name: str):
    """(array, raw dtype) for the writer: 1-D tensors (norms, biases) stay float32."""
    import gguf

    if data.ndim == 1 or outtype == "f32" or name == "token_embd.weight" and outtype == "f32":
        return data.astype(np.float32), gguf.GGMLQuantizationType.F32
    if outtype == "f16":
        return data.astype(np.float16), gguf.GGMLQuantizationType.F16
    return gguf.quants.quantize(
        data, gguf.GGMLQuantizationType.BF16
    ), gguf.GGMLQuantizationType.BF16


def convert_checkpoint(
    src: str | Path,
    dst: str | Path,
    outtype: str = "f16",
    think_template: bool = False,
    force: bool = False,
) -> Path:
    """Write `dst` (through a temp file renamed at the end: never a partial GGUF)."""
    import gguf

    src, dst = Path(src), Path(dst)
    if outtype not in OUTTYPES:
        raise ConversionError(f"--outtype {outtype}: expected one of {', '.join(OUTTYPES)}")
    if dst.exists() and not force:
        raise ConversionError(f"{dst} exists (use --force to overwrite)")
    config = checkpoint.read_config(src)
    # checkpoints written without `architectures` still name their model_type
    by_type = {t: m.HF_CLASSES[0] for m in MODULES for t in getattr(m, "MODEL_TYPES", (m.ARCH,))}
    arch_names = config.get("architectures") or [by_type.get(config.get("model_type", ""), "")]
    arch_names = [a for a in arch_names if a]
    module = next((ARCHITECTURES[a] for a in arch_names if a in ARCHITECTURES), None)
    if module is None:
        raise ConversionError(
            f"unsupported architecture {', '.join(arch_names) or '?'} "
            f"(supported: {', '.join(sorted(ARCHITECTURES))})"
        )
    config = getattr(module, "text_config", lambda c: c)(config)
    tmp = dst.with_name(dst.name + ".partial")
    try:
        w = gguf.GGUFWriter(str(tmp), module.ARCH)
        w.add_name(config.get("_name_or_path") or src.name)
        w.add_file_type({"f32": 0, "f16": 1, "bf16": 32}[outtype])
        module.write_metadata(w, config)
        write_tokenizer(w, src, config["vocab_size"], config.get("model_type", ""), think_template)
        names = set()
        mapped = (module.map_tensor(n, data, config) for n, data in checkpoint.read_tensors(src))
        extra = getattr(module, "extra_tensors", llama.extra_tensors)(config)
        for gguf_name, array in itertools.chain((m for m in mapped if m is not None), extra):
            array, raw_type = _encode(array, outtype, gguf_name)
            w.add_tensor(gguf_name, array, raw_dtype=raw_type)
            names.add(gguf_name)
        _check_complete(names, llama.required_tensors(config, module.LAYER))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(tmp, dst)
    except OSError as exc:
        raise ConversionError(f"cannot write {dst} ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def _check_complete(names: set[str], needed: set[str]) -> None:
    missing = sorted(needed - names)
    if "output.weight" in missing:  # named by its HF name: the one a save can drop
        raise ConversionError(
            "checkpoint is missing lm_head.weight (config.json says tie_word_embeddings false)"
        )
    if missing:
        raise ConversionError(f"checkpoint is missing {len(missing)} tensors (first: {missing[0]})")
