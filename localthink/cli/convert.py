"""`localthink distill convert | quantize | register`: from a checkpoint to a model chat runs."""

from __future__ import annotations

import argparse
import time


def add_export_parsers(dsub) -> None:
    c = dsub.add_parser("convert", help="Hugging Face checkpoint folder → GGUF")
    c.add_argument("checkpoint")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--outtype", default="f16", choices=("f16", "bf16", "f32"))
    c.add_argument(
        "--think-template",
        action="store_true",
        help="make the chat template open <think> at the start of each reply",
    )
    c.add_argument("--force", action="store_true", help="overwrite the output")
    c.add_argument(
        "--pre",
        metavar="NAME",
        help="llama.cpp pre-tokenizer to write (llama-bpe, qwen2, smollm, gpt-2, …) even when "
        "its probe tokenizes differently from the checkpoint's tokenizer (then a warning)",
    )
    c.set_defaults(run=run_convert)

    q = dsub.add_parser("quantize", help="quantize a GGUF with llama.cpp (Q4_K_M, Q8_0, …)")
    q.add_argument("gguf")
    q.add_argument("-o", "--output", required=True)
    q.add_argument("--type", default="Q4_K_M")
    q.add_argument("--force", action="store_true")
    q.set_defaults(run=run_quantize)

    g = dsub.add_parser("register", help="name a GGUF so chat, ask and stats can use it")
    g.add_argument("gguf")
    g.add_argument("--name", required=True)
    g.set_defaults(run=run_register)


def run_convert(args: argparse.Namespace) -> int:
    from converters import convert_checkpoint

    started = time.perf_counter()
    out = convert_checkpoint(
        args.checkpoint, args.output, args.outtype, args.think_template, args.force, args.pre
    )
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from converters.quantize import quantize

    r = quantize(args.gguf, args.output, args.type, args.force)
    print(
        f"{r.path}: {r.bytes_before / 1e6:.1f} MB → {r.bytes_after / 1e6:.1f} MB "
        f"in {r.seconds:.1f} s"
    )
    return 0


def run_register(args: argparse.Namespace) -> int:
    from localthink.models.user_registry import import_gguf

    row = import_gguf(args.gguf, args.name, distilled=True)
    print(
        f"registered {row['name']} ({row['architecture']} {row['quant']}): "
        f"localthink --model {row['name']}"
    )
    return 0
