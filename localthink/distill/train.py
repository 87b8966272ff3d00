"""Supervised fine-tuning of the student on verified traces: one readable loop.

Written as a plain torch loop (after nanoGPT) rather than TRL's SFTTrainer: the whole
job is tokenise with the chat template, mask the prompt, step AdamW, checkpoint, and a
loop shows exactly that. Under `accelerate launch` the same loop runs data-parallel
through accelerate's Accelerator (several GPUs, DeepSpeed/FSDP by its config).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from localthink.distill.checkpoint import check_output, check_room, recover, save_error, staged
from localthink.distill.gpu import adamw, expandable_memory, use_liger
from localthink.errors import LocalthinkError

THINK_OPEN = "<think>"
THINK_TEMPLATE_SUFFIX = "{% if add_generation_prompt %}" + THINK_OPEN + "\n{% endif %}"


@dataclass
class TrainConfig:
    epochs: float = 2.0
    lr: float = 1e-5
    batch_size: int = 4  # per process and micro-batch
    grad_accum: int = 1  # micro-batches summed into each optimizer step
    max_len: int = 4096
    warmup: int = 10
    save_every: int = 50
    seed: int = 0
    max_steps: int | None = None
    lora: bool = False  # train low-rank adapters only; merged into the weights before saving
    lora_rank: int = 16
    lora_alpha: int = 32
    compile: bool = False  # torch.compile the student (accelerate's dynamo backend, inductor)


LORA_LR = 2e-4  # adapters start at zero and are few: they need a larger step than full weights


def train_config(**given) -> TrainConfig:
    """A TrainConfig from the settings given, LoRA's defaults filled in when it is on
    (learning rate 2e-4, alpha twice the rank), for the CLI and recipes alike."""
    given = {k: v for k, v in given.items() if v is not None}  # None: not given
    if given.get("lora"):
        given.setdefault("lr", LORA_LR)
        given.setdefault("lora_alpha", 2 * given.get("lora_rank", TrainConfig.lora_rank))
    return TrainConfig(**given)


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]  # -100 where the loss is off (everything but the assistant reply)


def _source(spec: str) -> dict:
    path = Path(spec)
    if path.suffix == ".gguf":
        if not path.exists():
            raise LocalthinkError(f"{spec}: no such file")
        return {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name}
    if not (path / "config.json").exists():
        raise LocalthinkError(f"{spec}: not a Hugging Face model folder or a .gguf file")
    return {"pretrained_model_name_or_path": str(path)}


def load_tokenizer(spec: str):
    """The student's tokenizer alone: quick, so the data is checked before the weights load."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(**_source(spec))
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_student(spec: str, tok=None):
    """A Hugging Face folder, or a GGUF that transformers dequantises (`gguf_file=`)."""
    from transformers import AutoModelForCausalLM

    tok = tok or load_tokenizer(spec)
    model = AutoModelForCausalLM.from_pretrained(**_source(spec), dtype="float32")
    if getattr(model, "hf_quantizer", None) is not None:  # GGUF-loaded: now plain float weights
        model.hf_quantizer = None
        model.config.quantization_config = None
        model.is_quantized = False
    return model, tok


def with_lora(model, cfg: TrainConfig):
    """Wrap every linear layer but the output head in LoRA adapters (peft)."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise LocalthinkError("--lora needs peft: pip install 'localthink[distill]'") from None
    config = LoraConfig(
        r=cfg.lora_rank,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def encode(tok, messages: list[dict], max_len: int) -> Example | None:
    """Chat-template the example; labels cover the assistant turn only. None if too long."""
    prompt = tok.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    reply = messages[-1]["content"]
    if prompt.rstrip().endswith(THINK_OPEN) and reply.lstrip().startswith(THINK_OPEN):
        # The template opens the thinking itself (R1 distills, a student this command saved):
        # keeping the reply's own tag would teach the student to open it twice.
        reply = reply.lstrip()[len(THINK_OPEN) :].lstrip("\n")
    full = prompt + reply + (tok.eos_token or "")
    prompt_ids = tok(prompt, add_special_tokens=False).input_ids
    ids = tok(full, add_special_tokens=False).input_ids
    if len(ids) > max_len:
        return None
    n = len(prompt_ids)
    return Example(ids, [-100] * n + ids[n:])


def sft_problem(row) -> str | None:
    """What makes a line unusable for training, or None: a chat that ends in the reply."""
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        return 'not an SFT record ({"messages": [...]})'
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            return "every message needs a role: system, user or assistant"
        if not isinstance(m.get("content"), str):
            return "every message needs its content as text"
    if messages[-1]["role"] != "assistant" or len(messages) < 2:
        return "the last message must be the assistant's reply, after a question"
    return None


def read_sft(path: Path, tok, max_len: int) -> tuple[list[Example], int]:
    """Examples from SFT JSONL; a bad line stops the run before the student loads."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalthinkError(f"{path}: cannot read ({exc})") from None
    examples, dropped = [], 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        problem = "not JSON" if row is None else sft_problem(row)
        if problem:
            raise LocalthinkError(f"{path}:{number}: {problem}")
        ex = encode(tok, row["messages"], max_len)
        if ex is None:
            dropped += 1
        else:
            examples.append(ex)
    if not examples and not dropped:
        raise LocalthinkError(f"{path}: no SFT examples")
    if not examples:
        raise LocalthinkError(f"{path}: no examples fit in --max-len {max_len}")
    return examples, dropped


def batches(examples: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Length-grouped batches (little padding), in shuffled order."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))
    groups = [[examples[i] for i in order[j : j + size]] for j in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def labelled(batch: list[Example]) -> int:
    """Tokens the loss counts in a batch: labelled ones after each example's first (a token
    is predicted from the ones before it)."""
    return sum(sum(x != -100 for x in e.labels[1:]) for e in batch)


def collate(batch: list[Example], pad_id: int):
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        mask[i, : len(e.input_ids)] = 1
    return ids, labels, mask


def train(
    sft: Path,
    student: str,
    out: Path,
    cfg: TrainConfig,
    resume: bool = False,
    on_step: Callable[[dict], None] | None = None,
) -> dict:
    """Fine-tune and save a Hugging Face folder (with a thinking chat template) to `out`."""
    import torch
    from accelerate import Accelerator

    expandable_memory()
    # an `accelerate config` that asks for torch.compile is honoured too (its environment)
    compile_with = {"dynamo_backend": "inductor"} if cfg.compile else {}
    accelerator = Accelerator(
        mixed_precision="bf16" if torch.cuda.is_available() else "no",
        gradient_accumulation_steps=cfg.grad_accum,
        **compile_with,
    )
    check_output(out, resume)
    tok = load_tokenizer(student)
    examples, dropped = read_sft(sft, tok, cfg.max_len)  # a bad file fails before the load
    ckpt = out / "checkpoint"
    if resume and (ckpt / "state.json").exists():  # a mismatch fails before the load too
        check_same_setup(ckpt, json.loads((ckpt / "state.json").read_text()).get("config", {}), cfg)
    compiled = accelerator.state.dynamo_plugin.backend.value != "NO"
    if cfg.compile and not compiled:  # accelerate's state is per process, set up once
        raise LocalthinkError(
            "--compile: accelerate was already set up without torch.compile in this process; "
            "train in a new process"
        )
    model, tok = load_student(student, tok)
    # Liger's kernels before LoRA wraps the model (the patch knows the plain model types);
    # not under torch.compile, which cannot trace them, nor under DeepSpeed ZeRO-3, which
    # gathers the output head's weight only for its module's own call (the fused loss reads it)
    zero3 = accelerator.distributed_type == "DEEPSPEED" and (
        accelerator.state.deepspeed_plugin.zero_stage == 3
    )
    liger = not (compiled or zero3) and use_liger(model)
    if cfg.lora:
        model = with_lora(model, cfg)
    check_room(out, model, resume)
    trainable = [p for p in model.parameters() if p.requires_grad]
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    # Under `accelerate launch`, every process takes its own batch of each step (the batch
    # size is per process), so N GPUs go through an epoch in 1/N of the steps; with
    # --grad-accum K, a step takes K batches on every process.
    shards, rank, accum = accelerator.num_processes, accelerator.process_index, cfg.grad_accum
    per_epoch = math.ceil(len(examples) / (cfg.batch_size * shards * accum))
    total = cfg.max_steps or max(1, int(per_epoch * cfg.epochs))
    optimizer = adamw(trainable, cfg.lr)
    model, optimizer = accelerator.prepare(model, optimizer)
    step = 0
    if accelerator.is_main_process:
        recover(ckpt)
    accelerator.wait_for_everyone()
    if resume and (ckpt / "state.json").exists():
        accelerator.load_state(str(ckpt))
        step = json.loads((ckpt / "state.json").read_text())["step"]
    start = step  # a resumed schedule starts where it stopped (warm-up, then cosine)
    for group in optimizer.param_groups:
        group["initial_lr"] = cfg.lr  # the base the schedule scales, not the restored lr
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            min(1.0, (start + s + 1) / max(1, cfg.warmup))
            * 0.5
            * (1 + math.cos(math.pi * min(start + s, total) / total))
        ),
    )
    model.train()
    history, started, seen_tokens = [], time.perf_counter(), 0
    epoch_batches = math.ceil(len(examples) / cfg.batch_size)
    plan = [  # the same on every process: same seed
        b
        for _ in range(math.ceil(total * shards * accum / epoch_batches) + 1)
        for b in batches(examples, cfg.batch_size, rng)
    ]
    while step < total:
        losses, tokens = [], 0
        # The step's loss is the mean over every labelled token it sees, on all processes and
        # micro-batches (as transformers' Trainer does), not a mean of per-batch means that
        # would weigh a short example's tokens more. The plan is the same everywhere, so each
        # process counts them all without asking the others. Each micro-batch's summed loss
        # is divided by count / (accum × processes): accelerate divides by `accum` again
        # (DeepSpeed by itself) and the processes' gradients are averaged.
        counted = sum(
            labelled(plan[(step * accum + micro) * shards + r])
            for micro in range(accum)
            for r in range(shards)
        )
        per = torch.tensor(max(1, counted) / (accum * shards), device=accelerator.device)
        for micro in range(accum):
            batch = plan[(step * accum + micro) * shards + rank]
            ids, labels, mask = (t.to(accelerator.device) for t in collate(batch, tok.pad_token_id))
            # gradients are exchanged between processes on a step's last micro-batch only
            with accelerator.accumulate(model):
                loss = model(
                    input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=per
                ).loss
                accelerator.backward(loss)
            losses.append(loss.detach())
            tokens += mask.sum()
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        seen_tokens += int(accelerator.reduce(tokens, "sum"))  # all processes' tokens
        record = {
            "step": step,
            "total": total,
            # the token mean over the whole step (see `per` above)
            "loss": float(accelerator.reduce(sum(losses) / accum, "mean")),
            "lr": schedule.get_last_lr()[0],
            "tokens_per_s": seen_tokens / (time.perf_counter() - started),
        }
        history.append(record)
        if on_step:
            on_step(record)
        if step % cfg.save_every == 0 or step == total:
            main = accelerator.is_main_process
            with staged(ckpt, main) as tmp:
                accelerator.wait_for_everyone()  # the killed save's leftovers are gone
                accelerator.save_state(str(tmp))
                if main:
                    state = {"step": step, "config": asdict(cfg)}
                    (tmp / "state.json").write_text(json.dumps(state))
                accelerator.wait_for_everyone()  # all processes saved before the swap
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        if cfg.lora:  # a plain checkpoint: the converter and chat know nothing of adapters
            unwrapped = unwrapped.merge_and_unload()
        save_student(unwrapped, tok, out, ckpt)
    return {
        "steps": step,
        "examples": len(examples),
        "dropped_too_long": dropped,
        "trainable_params": sum(p.numel() for p in trainable),
        "history": history,
        "processes": shards,
        "kernels": "liger" if liger else "transformers",
    }


# settings a checkpoint cannot be resumed under another value of: they change the names or
# shapes of what it holds (compiled models' weights are saved under the compiler's wrapper)
SAME_ON_RESUME = {"lora": "--lora", "lora_rank": "--lora-rank", "compile": "--compile"}


def check_same_setup(ckpt: Path, saved: dict, cfg: TrainConfig) -> None:
    def setting(flag: str, value) -> str:
        return {True: f"with {flag}", False: f"without {flag}"}.get(value, f"with {flag} {value}")

    for key, flag in SAME_ON_RESUME.items():
        before, now = saved.get(key, getattr(TrainConfig(), key)), getattr(cfg, key)
        if before != now:
            raise LocalthinkError(
                f"{ckpt}: saved {setting(flag, before)}, resumed {setting(flag, now)}; resume "
                "with the same setting, or train into a new folder"
            )


def save_student(model, tok, out: Path, ckpt: Path) -> None:
    """The trained student as a plain Hugging Face folder, its chat template opening <think>.

    A failed save (a full disk) is one line, and the checkpoint stays for `--resume`.
    """
    from safetensors import SafetensorError

    template = tok.chat_template or ""
    if THINK_TEMPLATE_SUFFIX not in template:
        tok.chat_template = template + THINK_TEMPLATE_SUFFIX
    try:
        model.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
    except (OSError, RuntimeError, SafetensorError) as exc:
        raise save_error(f"cannot save the student in {out}", exc, ckpt) from None
