"""Read a Hugging Face checkpoint folder: config.json and *.safetensors, as numpy arrays."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from localthink.errors import LocalthinkError

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}  # bf16 read as its bits
ITEM_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1}
ITEM_BYTES |= {"U8": 1, "BOOL": 1}


class CheckpointError(LocalthinkError):
    pass


class ConversionError(LocalthinkError):
    pass


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_json(path: Path, optional: bool = False) -> dict:
    """A JSON object from the file ({} when `optional` and absent), or a one-line error."""
    if optional and not path.exists():
        return {}
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{path}: not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, found {_kind(data)}")
    return data


def read_config(folder: Path) -> dict:
    if not folder.exists():
        raise CheckpointError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a folder (give the checkpoint's folder)")
    path = folder / "config.json"
    if not path.exists():
        raise CheckpointError(f"{folder}: no config.json (not a Hugging Face checkpoint)")
    return read_json(path)


def check_number(
    config: dict, key: str, where: str, whole: bool = False, optional: bool = False
) -> None:
    """A value the converter does arithmetic with: a finite number above 0 (a whole one where
    `whole`); where `optional`, absent or null is fine."""
    if key not in config or config[key] is None:
        if optional:
            return
        raise CheckpointError(f"{where}: {key} is {'missing' if key not in config else 'null'}")
    value = config[key]
    ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if not ok or isinstance(value, bool) or not (math.isfinite(value) and value > 0):
        shown = json.dumps(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        kind = "a whole number" if whole else "a number"
        raise CheckpointError(f"{where}: {key} is {shown}, expected {kind} above 0")


def _kind(value) -> str:
    names = {list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def _header(path: Path) -> tuple[dict, int]:
    """The safetensors header (name → dtype, shape, offsets) and where the data starts,
    checked against the file's length: an interrupted download is a one-line error."""
    broken = CheckpointError(f"{path}: truncated or not a safetensors file")
    total = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise broken
        (size,) = struct.unpack("<Q", head)
        if size > total - 8:
            raise broken
        try:
            header = json.loads(f.read(size))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError both
            raise broken from None
    if not isinstance(header, dict):
        raise broken
    header.pop("__metadata__", None)
    need = 0
    for name, info in header.items():
        dtype = info.get("dtype") if isinstance(info, dict) else None
        if isinstance(dtype, str) and dtype not in ITEM_BYTES:
            raise CheckpointError(
                f"{path}: tensor {name} is {dtype} (F32, F16 and BF16 are supported)"
            )
        if not _entry_is_sound(info):
            raise broken
        need = max(need, info["data_offsets"][1])
    if need > total - 8 - size:
        raise CheckpointError(
            f"{path}: truncated (its header needs {need} bytes of data, "
            f"the file holds {total - 8 - size})"
        )
    return header, 8 + size


def _entry_is_sound(info) -> bool:
    """One header entry: a known dtype, a shape, and offsets that span exactly its bytes."""
    if not isinstance(info, dict) or info.get("dtype") not in ITEM_BYTES:
        return False
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not (isinstance(shape, list) and isinstance(offsets, list) and len(offsets) == 2):
        return False
    if not all(type(n) is int and n >= 0 for n in (*shape, *offsets)):
        return False
    begin, end = offsets
    return end - begin == math.prod(shape) * ITEM_BYTES[info["dtype"]]


def _raw_tensors(path: Path, header: dict, start: int) -> Iterator[tuple[str, np.ndarray]]:
    """numpy has no bfloat16, so safetensors' numpy loader refuses such files: read the raw
    layout (8-byte header size, JSON header, data) and widen bf16 to float32 by bit shift."""
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=start)
    for name, info in header.items():
        if info["dtype"] not in DTYPES:
            raise CheckpointError(
                f"{path}: tensor {name} is {info['dtype']} (F32, F16 and BF16 are supported)"
            )
        begin, end = info["data_offsets"]
        raw = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        yield name, raw.astype(np.float32)


def read_tensors(folder: Path) -> Iterator[tuple[str, np.ndarray]]:
    """Every tensor of the checkpoint as float32, each exactly once."""
    from safetensors import SafetensorError, safe_open

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
        try:
            with safe_open(str(path), framework="np") as f:
                for name in f.keys():  # noqa: SIM118 (safe_open is not a dict)
                    yield name, f.get_tensor(name).astype(np.float32)
        except SafetensorError as exc:  # what the header check above cannot see (overlaps)
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
