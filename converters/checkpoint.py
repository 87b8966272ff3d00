"""Read a Hugging Face checkpoint folder: config.json and *.safetensors, as numpy arrays."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from localthink.errors import LocalthinkError


class CheckpointError(LocalthinkError):
    pass


def read_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.exists():
        raise CheckpointError(f"{folder}: no config.json (not a Hugging Face checkpoint)")
    return json.loads(path.read_text(encoding="utf-8"))


def _header(path: Path) -> tuple[dict, int]:
    """The safetensors header (name → dtype, shape, offsets) and where the data starts."""
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    header.pop("__metadata__", None)
    return header, 8 + size


def _raw_tensors(path: Path, header: dict, start: int) -> Iterator[tuple[str, np.ndarray]]:
    """numpy has no bfloat16, so safetensors' numpy loader refuses such files: read the raw
    layout (8-byte header size, JSON header, data) and widen bf16 to float32 by bit shift."""
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=start)
    kinds = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}
    for name, info in header.items():
        if info["dtype"] not in kinds:
            raise CheckpointError(
                f"{path}: tensor {name} is {info['dtype']} (F32, F16 and BF16 are supported)"
            )
        begin, end = info["data_offsets"]
        raw = np.frombuffer(data[begin:end], dtype=kinds[info["dtype"]]).reshape(info["shape"])
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        yield name, raw.astype(np.float32)


def read_tensors(folder: Path) -> Iterator[tuple[str, np.ndarray]]:
    """Every tensor of the checkpoint as float32, each exactly once."""
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise CheckpointError(f"{folder}: no *.safetensors files (save with safe_serialization)")
    for path in files:
        header, start = _header(path)
        # Decided from the header before anything is yielded: a file can mix dtypes (bf16
        # weights, f32 norms), and falling back midway would yield its first tensors twice.
        if any(info["dtype"] == "BF16" for info in header.values()):
            yield from _raw_tensors(path, header, start)
            continue
        with safe_open(str(path), framework="np") as f:
            for name in f.keys():  # noqa: SIM118 (safe_open is not a dict)
                yield name, f.get_tensor(name).astype(np.float32)
