"""Read and rewrite GGUF metadata with gguf-py, before llama.cpp ever sees the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from localthink.errors import BadGGUFError
from localthink.models.gguf_scan import (
    ArrayRef,
    GGUFFormatError,
    GGUFHeader,
    read_array_item,
    scan_gguf,
)

GGUF_MAGIC = b"GGUF"

# general.file_type values from llama.cpp's llama_ftype, for display only.
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    28: "IQ4_XS",
    32: "BF16",
}


@dataclass(frozen=True)
class GGUFInfo:
    """What localthink needs to know about a GGUF without loading its weights."""

    path: Path
    size_bytes: int
    architecture: str
    name: str
    quant: str
    context_length: int
    chat_template: str | None
    bos_token: str
    eos_token: str
    n_params: int = 0
    metadata: dict = field(default_factory=dict, repr=False)


def _check_header(path: Path) -> int:
    if not path.exists():
        raise BadGGUFError(f"{path}: no such file")
    if not path.is_file():
        raise BadGGUFError(f"{path}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise BadGGUFError(f"{path}: file is empty")
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise BadGGUFError(f"{path}: not a GGUF file (bad magic)")
    return size


def _scan(path: Path) -> tuple[GGUFHeader, int]:
    size = _check_header(path)
    try:
        header = scan_gguf(path)
    except GGUFFormatError as exc:
        raise BadGGUFError(f"{path}: damaged or truncated GGUF ({exc})") from None
    if header.data_end > size:
        raise BadGGUFError(
            f"{path}: truncated GGUF ({size} bytes, its tensors need {header.data_end})"
        )
    return header, size


def read_gguf_info(path: str | Path) -> GGUFInfo:
    """Inspect a GGUF; raise BadGGUFError with one line if it is missing, empty or damaged."""
    path = Path(path)
    header, size = _scan(path)
    fields = header.fields
    arch = str(fields.get("general.architecture", ""))
    tokens = fields.get("tokenizer.ggml.tokens")

    def token_text(key: str) -> str:
        idx = fields.get(key)
        if not isinstance(idx, int) or not isinstance(tokens, ArrayRef):
            return ""
        try:
            return str(read_array_item(path, tokens, idx))
        except (IndexError, GGUFFormatError):
            return ""

    ftype = fields.get("general.file_type")
    template = fields.get("tokenizer.chat_template")
    return GGUFInfo(
        path=path,
        size_bytes=size,
        architecture=arch,
        name=str(fields.get("general.name") or path.stem),
        quant=FILE_TYPES.get(ftype, str(ftype) if ftype is not None else "?"),
        context_length=int(fields.get(f"{arch}.context_length", 0) or 0),
        chat_template=template if isinstance(template, str) else None,
        bos_token=token_text("tokenizer.ggml.bos_token_id"),
        eos_token=token_text("tokenizer.ggml.eos_token_id"),
        n_params=sum(t.n_elements for t in header.tensors),
        metadata={k: v for k, v in fields.items() if not isinstance(v, ArrayRef)},
    )


def copy_gguf(
    src: str | Path,
    dst: str | Path,
    set_strings: dict[str, str] | None = None,
    remove: tuple[str, ...] = (),
) -> None:
    """Copy a GGUF, replacing or removing metadata keys; tensors are copied as they are."""
    import gguf

    set_strings = dict(set_strings or {})
    _scan(Path(src))
    reader = gguf.GGUFReader(src)
    arch = str(reader.get_field("general.architecture").contents())
    writer = gguf.GGUFWriter(str(dst), arch=arch, endianess=reader.endianess)
    for f in reader.fields.values():
        if f.name == "general.architecture" or f.name.startswith("GGUF.") or f.name in remove:
            continue
        if f.name in set_strings:
            continue
        val_type = f.types[0]
        sub_type = f.types[-1] if val_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(f.name, f.contents(), val_type, sub_type=sub_type)
    for key, value in set_strings.items():
        writer.add_string(key, value)
    for t in reader.tensors:
        writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        writer.write_tensor_data(t.data, tensor_endianess=reader.endianess)
    writer.close()
