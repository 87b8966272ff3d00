"""gguf-py's writer, packing long arrays (token lists, merges, types) in one go.

gguf-py packs an array item by item: a 150k-token vocabulary took 1.5 s, and a conversion
now writes its tokenizer twice (the probe's GGUF, then the real one). Same bytes, ~10× faster.
"""

from __future__ import annotations

import struct

import gguf
import numpy as np

T = gguf.GGUFValueType


def _same_type(values, kind: type) -> bool:
    return all(type(v) is kind for v in values)  # `is`: a bool is no int here, as in gguf-py


class FastGGUFWriter(gguf.GGUFWriter):
    def _pack_val(self, val, vtype, add_vtype: bool, sub_type=None) -> bytes:
        little = self.endianess == gguf.GGUFEndian.LITTLE
        if vtype != T.ARRAY or sub_type is not None or not little or not isinstance(val, list):
            return super()._pack_val(val, vtype, add_vtype, sub_type)
        if val and _same_type(val, str):
            encoded = [v.encode("utf-8") for v in val]
            body = b"".join(struct.pack("<Q", len(e)) + e for e in encoded)
            item = T.STRING
        elif val and _same_type(val, int):  # gguf-py's type for a Python int
            body, item = np.asarray(val, dtype="<i4").tobytes(), T.INT32
        elif val and _same_type(val, float):
            body, item = np.asarray(val, dtype="<f4").tobytes(), T.FLOAT32
        else:  # empty (gguf-py refuses it, with its message) or mixed
            return super()._pack_val(val, vtype, add_vtype, sub_type)
        head = struct.pack("<I", T.ARRAY) if add_vtype else b""
        return head + struct.pack("<IQ", item, len(val)) + body
