"""Hugging Face checkpoint → GGUF, one module per architecture (llama, qwen2, qwen3, gemma3).

Importable without torch: tensors are read with the `safetensors` library into numpy and
written with gguf-py's writer. A new architecture is one new module with the same four
names as `converters/llama.py` (ARCH, HF_CLASSES, write_metadata, map_tensor).
"""

from converters.writer import ARCHITECTURES, ConversionError, convert_checkpoint

__all__ = ["ARCHITECTURES", "ConversionError", "convert_checkpoint"]
