"""`distill grpo`: R1-Zero-style reinforcement learning with rule-based rewards.

One loop, read top to bottom: sample a group of completions per task, score them with the
rewards, turn rewards into group-relative advantages, step the policy on the clipped
objective (grpo_objective.py), log, checkpoint. CUDA when present, else CPU.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from localthink.distill.checkpoint import check_output, check_room, recover, staged
from localthink.distill.gpu import adamw
from localthink.distill.grpo_objective import (
    LOSSES,
    completion_mask,
    group_advantages,
    group_share,
    policy_loss,
    token_logprobs,
)
from localthink.distill.rewards import accuracy, format_reward, parse_completion, parse_rewards
from localthink.distill.tasks import Task
from localthink.distill.train import load_student, save_student
from localthink.errors import LocalthinkError

# The policy is told the format once; the prompt then opens <think> for it (R1-Zero).
FORMAT_HINT = "Think first, then close your thinking with </think> and give the answer."


@dataclass
class GRPOConfig:
    steps: int = 200
    group: int = 8
    prompts_per_step: int = 4
    lr: float = 1e-6
    beta: float = 0.0
    loss: str = "grpo"
    clip_eps: float = 0.2
    updates_per_batch: int = 1  # > 1 reuses each batch, and the ratio clip starts to bite
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    save_every: int = 25
    seed: int = 0
    rewards: list[str] = field(default_factory=lambda: ["accuracy", "format=0.5"])


# what a resume may change: how long to run and how often to save; anything else would
# silently mix two experiments in one policy and one log
FREE_ON_RESUME = {"steps", "save_every"}


def check_same_settings(ckpt: Path, saved: dict, cfg: GRPOConfig) -> None:
    now = asdict(cfg)
    changed = [k for k in now if k not in FREE_ON_RESUME and k in saved and saved[k] != now[k]]
    if changed:
        was = ", ".join(f"--{k.replace('_', '-')} {saved[k]}" for k in changed)
        is_ = ", ".join(f"--{k.replace('_', '-')} {now[k]}" for k in changed)
        raise LocalthinkError(
            f"{ckpt}: saved with {was}, resumed with {is_}; resume with the same settings, "
            "or train into a new folder"
        )


def build_prompt(tok, task: Task) -> str:
    messages = [{"role": "user", "content": f"{task.prompt()}\n{FORMAT_HINT}"}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text if text.rstrip().endswith("<think>") else text + "<think>\n"


def eos_ids(model, tok) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    ids.add(tok.eos_token_id)
    return sorted(i for i in ids if i is not None)


def generate(model, tok, tasks: list[Task], n: int, cfg: GRPOConfig, sample: bool = True):
    """n completions per task in one batch (left-padded prompts): ids, attention, widths."""
    import torch

    tok.padding_side = "left"
    enc = tok([build_prompt(tok, t) for t in tasks], return_tensors="pt", padding=True,
              add_special_tokens=False).to(model.device)  # fmt: skip
    ids = enc.input_ids.repeat_interleave(n, 0)
    attn = enc.attention_mask.repeat_interleave(n, 0)
    eos = eos_ids(model, tok)
    options = {"do_sample": True, "temperature": cfg.temperature, "top_p": cfg.top_p,
               "top_k": 0} if sample else {"do_sample": False}  # fmt: skip
    with torch.no_grad(), autocast(model):
        out = model.generate(
            input_ids=ids,
            attention_mask=attn,
            max_new_tokens=cfg.max_new_tokens,
            eos_token_id=eos,
            pad_token_id=tok.pad_token_id,
            **options,
        )
    prompt_len = ids.shape[1]
    completions = out[:, prompt_len:]
    mask = completion_mask(completions, set(eos))
    texts = [
        tok.decode(c[: int(m.sum())], skip_special_tokens=True)
        for c, m in zip(completions, mask, strict=True)
    ]
    return out, torch.cat([attn, mask], dim=1), prompt_len, mask, texts


def autocast(model):
    import torch

    if model.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def score(texts: list[str], tasks: list[Task], n: int, rewards) -> dict:
    """Weighted total reward per completion, plus each reward and the built-in figures."""
    per_reward = {name: [] for name in rewards}
    total, acc, fmt = [], [], []
    for i, text in enumerate(texts):
        task = tasks[i // n]
        r = 0.0
        for name, (fn, weight) in rewards.items():
            value = float(fn(text, task))
            per_reward[name].append(value)
            r += weight * value
        total.append(r)
        acc.append(accuracy(text, task))
        fmt.append(float(format_reward(text, task) == 1.0))
    return {"total": total, "per_reward": per_reward, "accuracy": acc, "format": fmt}


def evaluate_policy(model, tok, tasks: list[Task], cfg: GRPOConfig, batch: int = 64) -> dict:
    """Greedy held-out accuracy, format rate and mean completion length (tokens)."""
    acc, fmt, lengths, closed, examples = [], [], [], [], []
    model.eval()
    for i in range(0, len(tasks), batch):
        chunk = tasks[i : i + batch]
        _, _, _, mask, texts = generate(model, tok, chunk, 1, cfg, sample=False)
        s = score(texts, chunk, 1, {})
        acc += s["accuracy"]
        fmt += s["format"]
        lengths += mask.sum(1).tolist()
        closed += [parse_completion(t).closed for t in texts]
        pairs = zip(chunk, texts, strict=True)
        examples += [{"question": t.question, "completion": x} for t, x in pairs][:3]
    n = max(1, len(tasks))
    return {
        "accuracy": sum(acc) / n,
        "format_rate": sum(fmt) / n,
        "completion_tokens": sum(lengths) / n,
        "thinking_closed": sum(closed) / n,
        "examples": examples[:3],  # to read, not only count: did it solve or game the reward?
    }


def save_checkpoint(model, tok, optimizer, ckpt: Path, step: int, cfg: GRPOConfig) -> None:
    """Written beside the old one and swapped in, so a kill mid-save keeps the last good one."""
    import torch

    with staged(ckpt) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        (tmp / "state.json").write_text(json.dumps({"step": step, "config": asdict(cfg)}))


def read_log(path: Path, upto: int) -> list[dict]:
    """Logged steps up to the checkpoint; later ones (lost with the run) are dropped."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["step"] <= upto]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def grpo(
    tasks: list[Task],
    student: str,
    out: Path,
    cfg: GRPOConfig,
    resume: bool = False,
    on_step: Callable[[dict], None] | None = None,
) -> dict:
    """Run GRPO from `student` and save the policy as a Hugging Face folder in `out`."""
    import torch

    if cfg.loss not in LOSSES:
        raise LocalthinkError(f"unknown --loss {cfg.loss!r} (have: {', '.join(LOSSES)})")
    if cfg.group < 2:
        raise LocalthinkError("--group must be at least 2 (advantages compare within a group)")
    rewards = parse_rewards(cfg.rewards)
    train_tasks = [t for t in tasks if t.split == "train"] or tasks
    check_output(out, resume)
    ckpt, log_path = out / "checkpoint", out / "grpo_log.jsonl"
    step = 0
    recover(ckpt)
    if resume and (ckpt / "state.json").exists():
        state = json.loads((ckpt / "state.json").read_text())
        check_same_settings(ckpt, state.get("config", {}), cfg)
        step = state["step"]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tok = load_student(str(ckpt) if step else student)
    check_room(out, model, resume=bool(step))
    model.to(device)
    ref = None
    if cfg.beta > 0:
        ref, _ = load_student(student)
        ref.to(device).eval().requires_grad_(False)
    optimizer = adamw(model.parameters(), cfg.lr)
    if step:
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location=device))
    history = read_log(log_path, step) if step else []
    if not step:
        log_path.write_text("")
    while step < cfg.steps:
        started = time.perf_counter()
        batch = random.Random(f"{cfg.seed}:{step}").sample(
            train_tasks, min(cfg.prompts_per_step, len(train_tasks))
        )
        torch.manual_seed(cfg.seed * 1_000_003 + step)  # same samples after a resume
        model.eval()
        seqs, attn, prompt_len, mask, texts = generate(model, tok, batch, cfg.group, cfg)
        gen_s = time.perf_counter() - started
        s = score(texts, batch, cfg.group, rewards)
        r = torch.tensor(s["total"], device=device).view(len(batch), cfg.group)
        adv = group_advantages(r, scale=cfg.loss != "dr_grpo").flatten()
        model.train()
        old, kls, losses = [None] * len(batch), [], []
        for _ in range(cfg.updates_per_batch):
            ran = False
            for g in range(len(batch)):  # one group per forward: bounded memory
                rows = slice(g * cfg.group, (g + 1) * cfg.group)
                if ref is None and not adv[rows].any():
                    # a group whose completions all scored alike has zero advantages, so zero
                    # loss and gradient: skip its forward and backward (most groups, early on)
                    losses.append(0.0)
                    continue
                ran = True
                with autocast(model):
                    logp = token_logprobs(model, seqs[rows], attn[rows], prompt_len)
                    ref_logp = None
                    if ref is not None:
                        with torch.no_grad():
                            ref_logp = token_logprobs(ref, seqs[rows], attn[rows], prompt_len)
                if old[g] is None:
                    old[g] = logp.detach()
                loss, kl = policy_loss(
                    logp, old[g], adv[rows], mask[rows], cfg.loss, cfg.clip_eps, cfg.beta,
                    ref_logp, cfg.max_new_tokens,
                )  # fmt: skip
                (loss * group_share(mask, rows, cfg.loss, len(batch))).backward()
                losses.append(float(loss.detach()))
                if kl is not None:
                    kls.append(float(kl.detach()))
            if not ran:  # every group skipped: step on the zero gradient they would have given
                for p in model.parameters():
                    p.grad = torch.zeros_like(p)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
        step += 1
        n = len(texts)
        record = {
            "step": step,
            "total": cfg.steps,
            "reward": sum(s["total"]) / n,
            **{f"reward_{k}": sum(v) / n for k, v in s["per_reward"].items()},
            "accuracy": sum(s["accuracy"]) / n,
            "format_rate": sum(s["format"]) / n,
            "completion_tokens": float(mask.sum()) / n,
            "zero_std_groups": float((r.std(dim=1) == 0).float().mean()),
            "loss": sum(losses) / len(losses),
            "kl": sum(kls) / len(kls) if kls else None,
            "gen_s": gen_s,
            "step_s": time.perf_counter() - started,
        }
        history.append(record)
        with log_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if step % cfg.save_every == 0 or step == cfg.steps:
            save_checkpoint(model, tok, optimizer, ckpt, step, cfg)
        if on_step:  # after the checkpoint: a callback that stops the run loses nothing
            on_step(record)
    save_student(model, tok, out, ckpt)
    return {"steps": step, "history": history, "model": model, "tokenizer": tok}
