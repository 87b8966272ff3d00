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
    """Route llama.cpp's logs through us: dropped, or all of them with LOCALTHINK_DEBUG."""
    global _callback
    if _callback is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def route(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if os.environ.get("LOCALTHINK_DEBUG"):
            sys.stderr.write(text.decode("utf-8", errors="replace"))

    _callback = route
    llama_cpp.llama_log_set(route, ctypes.c_void_p(0))
