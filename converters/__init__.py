"""Hugging Face checkpoint → GGUF, one module per architecture (llama, qwen2, qwen3, gemma3).

Importable without torch: tensors are read with the `safetensors` library into numpy and
written with gguf-py's writer. A new architecture is one new module with the same four
names as `converters/llama.py` (ARCH, HF_CLASSES, write_metadata, map_tensor), and where it
needs them: MODEL_TYPES (config model_type values), text_config (to unnest a multimodal
config), extra_tensors (computed ones), check_config (keys beyond llama's, checked before
anything is written). Every tensor its LAYER map names must be present.
"""

from converters.writer import ARCHITECTURES, ConversionError, convert_checkpoint

__all__ = ["ARCHITECTURES", "ConversionError", "convert_checkpoint"]
