"""Throughput and model FLOPs utilisation of `localthink distill train` on a CUDA GPU.

Runs the real training loop (localthink.distill.train.train: accelerate bf16 mixed
precision, float32 master weights, AdamW, labels on the assistant turn only) on a
Qwen2.5-1.5B-shaped student with random weights (speed does not depend on the values)
and a made-up byte-level tokenizer (no downloads). Every example is the same length, so
a batch is `--batch` × `--seq` real tokens with no padding.

    python benchmarks/train_mfu.py [--size 1.5b] [--seq 2048] [--batch 8] [--grad-accum 1]
                                   [--steps 20] [--compile] [--no-liger]

MFU = 6 × parameters × tokens/s ÷ peak dense bf16 FLOP/s (989 TFLOP/s for an H100 SXM).
Writes benchmarks/results/train_mfu_<kernels>_<eager|compile>_b<batch>x<accum>_s<seq>.json
(under $OUT when it is set). On a machine without CUDA it runs (slowly) as a smoke test.
Under `accelerate launch --num_processes N` it measures N GPUs (tokens/s of all of them,
MFU against N × peak); run it once alone first, so the student is built by one process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import time
from pathlib import Path

PEAK = {"H100": 989e12, "H200": 989e12}
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class Enough(Exception):
    """Raised from the step callback: the timed steps are done (nothing is saved)."""


def build_student(folder: Path, size: str) -> None:
    """A random Qwen2-shaped student and a byte-level tokenizer with no merges, so that
    every letter is one token, as a Hugging Face folder."""
    import torch
    from shapes import qwen2_config  # benchmarks/ is on sys.path when run as a script
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2ForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(qwen2_config(size)).to(torch.bfloat16)
    model.save_pretrained(folder)
    del model
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|im_end|>"
    )
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.chat_template = TEMPLATE
    tok.save_pretrained(folder)


def write_sft(path: Path, student: Path, rows: int, seq: int) -> None:
    """`rows` examples of exactly `seq` tokens each: a quarter prompt, the rest the reply."""
    from localthink.distill.train import encode, load_tokenizer

    tok = load_tokenizer(str(student))
    rng = random.Random(1)

    def messages(user: int, reply: int) -> list[dict]:
        text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(user + reply))
        return [
            {"role": "user", "content": text[:user]},
            {"role": "assistant", "content": text[user:]},
        ]

    frame = len(encode(tok, messages(0, 0), seq).input_ids)  # template tokens around the text
    tmp = path.with_name(f"{path.name}.{os.getpid()}")  # every process writes the same file
    with tmp.open("w") as f:
        for _ in range(rows):
            m = messages(seq // 4, seq - seq // 4 - frame)
            assert len(encode(tok, m, seq).input_ids) == seq
            f.write(json.dumps({"messages": m}) + "\n")
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1.5b")
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--no-liger", action="store_true", help="plain transformers kernels")
    ap.add_argument("--work", default="/tmp/train_mfu", help="student folder and data go here")
    args = ap.parse_args()

    import torch

    from localthink.distill import train as train_module
    from localthink.distill.gpu import expandable_memory
    from localthink.distill.train import TrainConfig

    expandable_memory()  # as train() does, before building the student takes GPU memory
    work = Path(args.work)
    student = work / f"student-{args.size}"
    if not (student / "config.json").exists():
        student.mkdir(parents=True, exist_ok=True)
        build_student(student, args.size)
    sft = work / f"sft-{args.seq}.jsonl"
    rows = args.batch * args.grad_accum * (args.warmup + args.steps + 1)
    write_sft(sft, student, rows, args.seq)
    train_module.check_room = lambda *a: None  # the run stops before it would save

    times: list[float] = []
    kernels: list[str] = []  # which kernels train() ended up with

    def on_step(record: dict) -> None:  # the loop has synced with the GPU (it read the loss)
        times.append(time.perf_counter())
        if record["step"] == args.warmup + args.steps:
            raise Enough

    cfg = TrainConfig(
        epochs=1,
        batch_size=args.batch,
        grad_accum=args.grad_accum,
        max_len=args.seq,
        warmup=1,
        save_every=10**9,
        max_steps=args.warmup + args.steps + 1,
        compile=args.compile,
    )
    use_liger = train_module.use_liger

    def use_liger_noted(model) -> bool:
        used = not args.no_liger and use_liger(model)
        kernels.append("liger" if used else "hf")
        return used

    train_module.use_liger = use_liger_noted
    torch.manual_seed(0)
    with contextlib.suppress(Enough):
        train_module.train(sft, str(student), work / "out", cfg, on_step=on_step)
    steps = [b - a for a, b in zip(times[args.warmup - 1 :], times[args.warmup :], strict=False)]
    config = json.loads((student / "config.json").read_text())
    from transformers import Qwen2Config, Qwen2ForCausalLM

    with torch.device("meta"):
        params = sum(p.numel() for p in Qwen2ForCausalLM(Qwen2Config(**config)).parameters())
    processes = int(os.environ.get("WORLD_SIZE", "1"))  # under `accelerate launch`
    if os.environ.get("RANK", "0") != "0":
        return
    tokens_per_s = processes * args.batch * args.grad_accum * args.seq / (sum(steps) / len(steps))
    cuda = torch.cuda.is_available()
    name = torch.cuda.get_device_name() if cuda else "cpu"
    peak = next((v for k, v in PEAK.items() if k in name), 989e12)
    kernel_name = kernels[0] if kernels else "hf"
    result = {
        "benchmark": "train_mfu",
        "runs": "localthink.distill.train.train",
        "device": name,
        "size": args.size,
        "params": params,
        "seq": args.seq,
        "batch": args.batch,
        "grad_accum": args.grad_accum,
        "timed_steps": len(steps),
        "kernels": kernel_name,
        "compile": args.compile,
        "tokens_per_s": tokens_per_s,
        "processes": processes,
        "mfu": 6 * params * tokens_per_s / (peak * processes),
        "peak_flops": peak,
        "max_memory_gb": torch.cuda.max_memory_allocated() / 1e9 if cuda else None,
        "torch": torch.__version__,
        "step_s": steps,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "step_s"}, indent=2))
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else Path(__file__).parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    mode = "compile" if args.compile else "eager"
    gpus = f"_{processes}gpu" if processes > 1 else ""
    name = f"train_mfu_{kernel_name}_{mode}_b{args.batch}x{args.grad_accum}_s{args.seq}{gpus}.json"
    (out / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
