"""Glue: checkpoint folder + architecture module + tokenizer → one GGUF file."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from converters import checkpoint, gemma3, llama, probe, qwen2, qwen3
from converters.checkpoint import ConversionError
from converters.tokenizer import read_tokenizer, write_tokenizer

MODULES = (llama, qwen2, qwen3, gemma3)
ARCHITECTURES = {cls: module for module in MODULES for cls in module.HF_CLASSES}
OUTTYPES = ("f32", "f16", "bf16")
# what the converter reads from the checkpoint folder, besides its *.safetensors
INPUT_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
)


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
    pre: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Write `dst` (through a temp file renamed at the end: never a partial GGUF).

    llama.cpp's pre-tokenizer is the one whose GGUF tokenizes the probe texts as transformers
    does (converters/probe.py), proved on the file being written before its weights are;
    none is a PreTokenizerError, unless `pre` names one (--pre), when a difference goes to
    `warn` (stderr by default).
    """
    from converters.fast_writer import FastGGUFWriter

    if outtype not in OUTTYPES:
        raise ConversionError(f"--outtype {outtype}: expected one of {', '.join(OUTTYPES)}")
    if not str(src).strip():  # Path("") would quietly mean the current folder
        raise ConversionError("the checkpoint folder is an empty path")
    if not str(dst).strip():
        raise ConversionError("-o is an empty path: give the GGUF file to write")
    src, dst = Path(src), Path(dst)
    config = checkpoint.read_config(src)
    _check_output(src, dst, force)
    where = str(src / "config.json")
    module = _module_for(config, where)
    config = getattr(module, "text_config", lambda c, where: c)(config, where)
    getattr(module, "check_config", llama.check_config)(config, where)
    tok = read_tokenizer(src, config["vocab_size"])
    tensors = []
    name = config.get("_name_or_path")
    name = name if isinstance(name, str) and name else src.name
    tmp = dst.with_name(dst.name + ".partial")
    writer = None

    def layout(pre: str) -> None:
        """tmp holds the whole file but its tensor data (see FastGGUFWriter.write_layout)."""
        nonlocal writer
        if writer is not None:
            writer.close()
        writer = FastGGUFWriter(str(tmp), module.ARCH)
        writer.add_name(name)
        writer.add_file_type({"f32": 0, "f16": 1, "bf16": 32}[outtype])
        module.write_metadata(writer, config)
        write_tokenizer(writer, tok, pre, think_template)
        for gguf_name, array, raw_type in tensors:
            writer.add_tensor(gguf_name, array, raw_dtype=raw_type)
        writer.write_layout()

    try:
        tensors = _tensors(src, module, config, outtype, where)
        guess = probe.first_guess(tok, pre)
        layout(guess)
        probe.settle(tmp, tok, src, guess, pre, warn or _warn, layout)
        writer.write_tensor_data()
        writer.close()
        os.replace(tmp, dst)
    except OSError as exc:
        reading = exc.filename is not None and Path(exc.filename) != tmp  # an input
        what = f"cannot read {exc.filename}" if reading else f"cannot write {dst}"
        raise ConversionError(f"{what} ({exc.strerror or exc})") from None
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return dst


def _tensors(src: Path, module, config: dict, outtype: str, where: str) -> list:
    """(GGUF name, array, raw type) for every tensor, mapped, encoded and checked."""
    out, names = [], set()
    mapped = (module.map_tensor(n, data, config) for n, data in checkpoint.read_tensors(src))
    extra = getattr(module, "extra_tensors", llama.extra_tensors)(config)
    for gguf_name, array in itertools.chain((m for m in mapped if m is not None), extra):
        if gguf_name in names:
            raise ConversionError(
                f"{src}: more than one tensor makes {gguf_name} "
                "(the same tensor in two *.safetensors files?)"
            )
        if gguf_name == "token_embd.weight":
            _check_embedding(array.shape, config, where)
        out.append((gguf_name, *_encode(array, outtype, gguf_name)))
        names.add(gguf_name)
    _check_complete(names, llama.required_tensors(config, module.LAYER))
    return out


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _check_output(src: Path, dst: Path, force: bool) -> None:
    """A file to write, not a folder; never one of the checkpoint's own files, even with
    --force (`-o ckpt/model.safetensors --force` would replace the weights it converts)."""
    if dst.is_dir():
        raise ConversionError(f"-o {dst} is a folder: give the GGUF file to write")
    if not dst.parent.is_dir():
        raise ConversionError(f"-o {dst}: no folder {dst.parent}")
    if dst.parent.resolve() == src.resolve() and (
        dst.name in INPUT_FILES or dst.name.endswith(".safetensors")
    ):
        raise ConversionError(
            f"-o {dst} would {'replace' if dst.exists() else 'become'} one of the checkpoint's "
            "own files: write the GGUF elsewhere (--force does not allow this)"
        )
    if dst.exists() and not force:
        raise ConversionError(f"{dst} exists (use --force to overwrite)")


def _module_for(config: dict, where: str):
    """The architecture module, from `architectures` or else `model_type`."""
    arch_names, model_type = config.get("architectures"), config.get("model_type") or ""
    if arch_names is not None and not (
        isinstance(arch_names, list) and all(isinstance(a, str) for a in arch_names)
    ):
        raise ConversionError(f"{where}: architectures is not a list of class names")
    if not isinstance(model_type, str):
        raise ConversionError(f"{where}: model_type is not text")
    # checkpoints written without `architectures` still name their model_type
    by_type = {t: m.HF_CLASSES[0] for m in MODULES for t in getattr(m, "MODEL_TYPES", (m.ARCH,))}
    arch_names = [a for a in arch_names or [by_type.get(model_type, "")] if a]
    module = next((ARCHITECTURES[a] for a in arch_names if a in ARCHITECTURES), None)
    if module is None:
        raise ConversionError(
            f"unsupported architecture {', '.join(arch_names) or '?'} "
            f"(supported: {', '.join(sorted(ARCHITECTURES))})"
        )
    return module


def _check_embedding(shape: tuple, config: dict, where: str) -> None:
    """The embedding matrix is vocab_size × hidden_size: a config that disagrees would make
    a GGUF llama.cpp refuses to load (or, for a smaller vocab_size, one that drops tokens)."""
    if shape != (config["vocab_size"], config["hidden_size"]):
        raise ConversionError(
            f"{where}: vocab_size {config['vocab_size']} × hidden_size {config['hidden_size']} "
            f"disagrees with the embedding matrix, which is {' × '.join(map(str, shape))}"
        )


def _check_complete(names: set[str], needed: set[str]) -> None:
    missing = sorted(needed - names)
    if "output.weight" in missing:  # named by its HF name: the one a save can drop
        raise ConversionError(
            "checkpoint is missing lm_head.weight (config.json says tie_word_embeddings false)"
        )
    if missing:
        raise ConversionError(f"checkpoint is missing {len(missing)} tensors (first: {missing[0]})")
