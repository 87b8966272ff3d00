"""HF checkpoint → GGUF converters, one module per architecture (see the converters issue).

Nothing is converted here yet; this package ships in the wheel so converters can be added
without a packaging change.
"""
