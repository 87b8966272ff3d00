"""Keep llama.cpp's own log lines off the user's terminal unless LOCALTHINK_DEBUG is set.

Written by hand because llama-cpp-python 0.3.36 filters by an older ggml level enum: its
verbose=False hides llama.cpp's errors and lets its warnings through (a Gemma 3 model
printed "llama_kv_cache_iswa: using full-size SWA cache" under every `ask`).
"""

from __future__ import annotations

import ctypes
import os
import sys

_callback = None  # held here: ctypes must keep the function alive while llama.cpp calls it


def quiet_llama_logs() -> None:
    """Drop llama.cpp's logs, or with LOCALTHINK_DEBUG (set before the first call) write
    them all to stderr."""
    global _callback
    if _callback is not None:
        return
    import llama_cpp

    if os.environ.get("LOCALTHINK_DEBUG"):

        @llama_cpp.llama_log_callback
        def route(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            sys.stderr.write(text.decode("utf-8", errors="replace"))

        _callback = route
    else:
        # A C function, not a Python one: a Python callback takes the GIL for each line, so
        # llama.cpp loading in a thread (the converter's probe) waited on whatever held it
        # (transformers parsing JSON) and the two ran one after the other. llama.cpp has no
        # no-op logger to name; llama_max_devices takes no arguments and reads none, and
        # every C calling convention we run on (x86-64 SysV and Windows, AArch64) lets a
        # caller pass arguments that the callee ignores.
        from llama_cpp import llama_cpp as lib

        _callback = ctypes.cast(lib._lib.llama_max_devices, llama_cpp.llama_log_callback)
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
