"""`distill grpo`: R1-Zero-style reinforcement learning with rule-based rewards.

One loop, read top to bottom: sample a group of completions per task, score them with the
rewards, turn rewards into group-relative advantages, step the policy on the clipped
objective (grpo_objective.py), log, checkpoint. CUDA when present, else CPU.

Under `accelerate launch` (or torchrun) the same loop runs data-parallel: every process
holds the whole policy, takes its share of the step's prompts and generates their whole
groups (advantages compare within a group, so a group never spans processes), and the
processes' gradients are summed before the one optimizer step they all take alike. The
global batch (prompts × group) is the one the flags name, whatever the number of processes.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from localthink.distill.checkpoint import check_output, check_room, recover, staged
from localthink.distill.gpu import adamw
from localthink.distill.grpo_objective import (
    LOSSES,
    group_advantages,
    group_share,
    policy_loss,
    token_logprobs,
)
from localthink.distill.grpo_rollout import autocast, generate, rollout_policy, score, sync_weights
from localthink.distill.rewards import parse_rewards
from localthink.distill.tasks import Task
from localthink.distill.train import load_student, save_student
from localthink.errors import LocalthinkError


@dataclass
class GRPOConfig:
    steps: int = 200
    group: int = 8
    prompts_per_step: int = 4  # over all processes together
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


def processes():
    """accelerate's view of this process (one, or one of `accelerate launch`'s); data
    parallel only: DeepSpeed and FSDP split the weights, and every process here needs them
    whole to generate."""
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    state = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))
    if state.distributed_type.value in ("DEEPSPEED", "FSDP"):
        raise LocalthinkError(
            f"distill grpo runs data-parallel (a whole policy per process), not under "
            f"{state.distributed_type.value}: launch it without that accelerate config"
        )
    return state


def all_of(value, state) -> list:
    """`value` from every process, in process order (a list of one in a single process)."""
    from accelerate.utils import gather_object

    return gather_object([value]) if state.num_processes > 1 else [value]


def sum_gradients(params, state) -> None:
    """Each process holds the gradient of its own groups' share of the step's loss: summed,
    they are the gradient of the whole batch, the same on every process. (One sum after
    the step's backward passes, not DDP's hooks: processes skip different groups, so they
    run different numbers of backward passes.)"""
    import torch

    for p in params:
        if p.grad is None:  # every group of this process skipped: its share is zero
            p.grad = torch.zeros_like(p)
        if state.num_processes > 1:
            torch.distributed.all_reduce(p.grad)


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


def summary(parts: list[dict], step: int, cfg: GRPOConfig) -> dict:
    """The step's log record over every process's groups."""
    texts = [v for p in parts for v in p["total"]]
    n = len(texts)
    mean = lambda key: sum(v for p in parts for v in p[key]) / max(1, n)  # noqa: E731
    losses = [v for p in parts for v in p["losses"]]
    kls = [v for p in parts for v in p["kls"]]
    tokens = sum(p["tokens"] for p in parts)
    gen_s = max(p["gen_s"] for p in parts)  # the step waits for the slowest process
    return {
        "step": step,
        "total": cfg.steps,
        "reward": mean("total"),
        **{f"reward_{k}": mean(f"reward_{k}") for k in parts[0]["rewards"]},
        "accuracy": mean("accuracy"),
        "format_rate": mean("format"),
        "completion_tokens": tokens / max(1, n),
        "zero_std_groups": sum(p["zero_std"] for p in parts) / max(1, n // cfg.group),
        "loss": sum(losses) / len(losses),
        "kl": sum(kls) / len(kls) if kls else None,
        "gen_s": gen_s,
        "rollout_tokens": tokens,
        "rollout_tokens_per_s": tokens / gen_s,
        "processes": len(parts),
    }


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
    state = processes()
    rank, world, main = state.process_index, state.num_processes, state.is_main_process
    prompts = min(cfg.prompts_per_step, len(train_tasks))
    if prompts < world:
        raise LocalthinkError(
            f"{prompts} prompts a step cannot be shared by {world} processes (each takes whole "
            "groups): raise --prompts-per-step or launch fewer processes"
        )
    check_output(out, resume)
    ckpt, log_path = out / "checkpoint", out / "grpo_log.jsonl"
    step = 0
    if main:
        recover(ckpt)
    state.wait_for_everyone()
    if resume and (ckpt / "state.json").exists():
        saved = json.loads((ckpt / "state.json").read_text())
        check_same_settings(ckpt, saved.get("config", {}), cfg)
        step = saved["step"]
    device = state.device
    model, tok = load_student(str(ckpt) if step else student)
    check_room(out, model, resume=bool(step))
    model.to(device)
    ref = None
    if cfg.beta > 0:
        ref, _ = load_student(student)
        ref.to(device).eval().requires_grad_(False)
    rollout = rollout_policy(model)  # on CUDA a bfloat16 copy, synced after every step
    params = list(model.parameters())
    optimizer = adamw(params, cfg.lr)
    if step:
        # read onto the CPU: load_state_dict moves it to the parameters' device
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location="cpu"))
    history = read_log(log_path, step) if step and main else []
    if not step and main:
        log_path.write_text("")
    while step < cfg.steps:
        started = time.perf_counter()
        batch = random.Random(f"{cfg.seed}:{step}").sample(train_tasks, prompts)
        mine = batch[rank::world]  # whole groups: this process's prompts, all their samples
        torch.manual_seed((cfg.seed * 1_000_003 + step) * world + rank)  # same after a resume
        sync_weights(rollout, model)
        rollout.eval()
        seqs, attn, prompt_len, mask, texts = generate(rollout, tok, mine, cfg.group, cfg)
        gen_s = time.perf_counter() - started
        s = score(texts, mine, cfg.group, rewards)
        r = torch.tensor(s["total"], device=device).view(len(mine), cfg.group)
        adv = group_advantages(r, scale=cfg.loss != "dr_grpo").flatten()
        tokens = int(mask.sum())
        step_tokens = sum(all_of(tokens, state))  # dapo's mean is over the whole step's
        model.train()
        old, kls, losses = [None] * len(mine), [], []
        for _ in range(cfg.updates_per_batch):
            for g in range(len(mine)):  # one group per forward: bounded memory
                rows = slice(g * cfg.group, (g + 1) * cfg.group)
                if ref is None and not adv[rows].any():
                    # a group whose completions all scored alike has zero advantages, so zero
                    # loss and gradient: skip its forward and backward (most groups, early on)
                    losses.append(0.0)
                    continue
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
                share = group_share(mask, rows, cfg.loss, len(batch), step_tokens)
                (loss * share).backward()
                losses.append(float(loss.detach()))
                if kl is not None:
                    kls.append(float(kl.detach()))
            # a step whose groups all tied steps on the zero gradient they would have given
            sum_gradients(params, state)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad()
        step += 1
        zero_std = int((r.std(dim=1) == 0).sum())
        mine_stats = {"gen_s": gen_s, "tokens": tokens, "losses": losses, "kls": kls,
                      "zero_std": zero_std, "rewards": list(s["per_reward"]),
                      **{f"reward_{k}": v for k, v in s["per_reward"].items()},
                      **{k: s[k] for k in ("total", "accuracy", "format")}}  # fmt: skip
        record = summary(all_of(mine_stats, state), step, cfg)
        record["step_s"] = time.perf_counter() - started
        if main:
            history.append(record)
            with log_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        if step % cfg.save_every == 0 or step == cfg.steps:
            if main:  # every process holds the same weights and optimizer state
                save_checkpoint(model, tok, optimizer, ckpt, step, cfg)
            state.wait_for_everyone()
        if on_step and main:  # after the checkpoint: a callback that stops the run loses nothing
            on_step(record)
    state.wait_for_everyone()
    if main:
        save_student(model, tok, out, ckpt)
    return {"steps": step, "history": history, "model": model, "tokenizer": tok,
            "processes": world, "main": main}  # fmt: skip
