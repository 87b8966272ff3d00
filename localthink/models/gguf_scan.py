"""A lazy GGUF header scanner.

Written by hand because gguf-py's GGUFReader builds every metadata array
eagerly (2.9 s for SmolLM2's 49k-token vocabulary here, several seconds more
for Qwen's 152k), and the chat app reads headers at startup. This scanner keeps
scalars and strings, skips arrays by walking their lengths, and reads only the
array items asked for. Type codes and block sizes come from gguf-py's constants.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

_SCALARS = {
    GGUFValueType.UINT8: "B",
    GGUFValueType.INT8: "b",
    GGUFValueType.UINT16: "H",
    GGUFValueType.INT16: "h",
    GGUFValueType.UINT32: "I",
    GGUFValueType.INT32: "i",
    GGUFValueType.FLOAT32: "f",
    GGUFValueType.BOOL: "?",
    GGUFValueType.UINT64: "Q",
    GGUFValueType.INT64: "q",
    GGUFValueType.FLOAT64: "d",
}


class GGUFFormatError(ValueError):
    """The bytes do not follow the GGUF layout."""


@dataclass(frozen=True)
class ArrayRef:
    """Where an array value sits in the file, to read single items later."""

    item_type: int
    count: int
    offset: int


@dataclass(frozen=True)
class TensorRef:
    name: str
    n_elements: int
    n_bytes: int
    offset: int  # absolute, in the file


@dataclass
class GGUFHeader:
    version: int
    fields: dict
    tensors: list[TensorRef]
    data_end: int  # file size the tensors need


class _Cursor:
    def __init__(self, buf) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise GGUFFormatError("header runs past the end of the file")
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.unpack("Q")
        if self.pos + n > len(self.buf):
            raise GGUFFormatError("string runs past the end of the file")
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.unpack("Q")
        self.pos += n

    def value(self, vtype: int):
        vtype = GGUFValueType(vtype)
        if vtype == GGUFValueType.STRING:
            return self.string()
        if vtype == GGUFValueType.ARRAY:
            item_type, count = GGUFValueType(self.unpack("I")), self.unpack("Q")
            ref = ArrayRef(int(item_type), count, self.pos)
            if item_type == GGUFValueType.STRING:
                for _ in range(count):
                    self.skip_string()
            elif item_type == GGUFValueType.ARRAY:
                raise GGUFFormatError("nested arrays are not supported")
            else:
                self.pos += count * struct.calcsize("<" + _SCALARS[item_type])
            if self.pos > len(self.buf):
                raise GGUFFormatError("array runs past the end of the file")
            return ref
        return self.unpack(_SCALARS[vtype])


def scan_gguf(path: Path) -> GGUFHeader:
    """Read a GGUF's metadata and tensor table; raise GGUFFormatError on damage."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf)
        if bytes(buf[:4]) != b"GGUF":
            raise GGUFFormatError("bad magic")
        cur.pos = 4
        version = cur.unpack("I")
        if version not in (2, 3):
            raise GGUFFormatError(f"unsupported GGUF version {version}")
        n_tensors, n_kv = cur.unpack("Q"), cur.unpack("Q")
        fields: dict = {}
        try:
            for _ in range(n_kv):
                key = cur.string()
                fields[key] = cur.value(cur.unpack("I"))
            raw_tensors = []
            for _ in range(n_tensors):
                name = cur.string()
                dims = [cur.unpack("Q") for _ in range(cur.unpack("I"))]
                ttype, offset = cur.unpack("I"), cur.unpack("Q")
                raw_tensors.append((name, dims, GGMLQuantizationType(ttype), offset))
        except (ValueError, KeyError) as exc:
            raise GGUFFormatError(str(exc) or "bad value type") from None
        align = fields.get("general.alignment", 32)
        data_start = -(-cur.pos // align) * align
        tensors, data_end = [], data_start
        for name, dims, ttype, offset in raw_tensors:
            n = 1
            for d in dims:
                n *= d
            block, block_bytes = GGML_QUANT_SIZES[ttype]
            n_bytes = n // block * block_bytes
            tensors.append(TensorRef(name, n, n_bytes, data_start + offset))
            data_end = max(data_end, data_start + offset + n_bytes)
        return GGUFHeader(version, fields, tensors, data_end)


def read_array_item(path: Path, ref: ArrayRef, index: int):
    """One item of an array field (used for token texts by id)."""
    if not 0 <= index < ref.count:
        raise IndexError(index)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf)
        cur.pos = ref.offset
        if ref.item_type == GGUFValueType.STRING:
            for _ in range(index):
                cur.skip_string()
            return cur.string()
        fmt = _SCALARS[GGUFValueType(ref.item_type)]
        cur.pos += index * struct.calcsize("<" + fmt)
        return cur.unpack(fmt)
