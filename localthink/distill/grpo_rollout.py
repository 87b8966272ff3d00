"""GRPO's rollouts: the prompt, one batched `generate` for every group of a step, the scores.

On a CUDA GPU the rollouts decode with a static KV cache, which transformers' `generate`
compiles (torch.compile, CUDA graphs): a small student's decoding step is otherwise bound
by Python and kernel launches, not by the GPU. The prompts are padded to a whole number of
`PROMPT_WIDTH_STEP` tokens so that the cache, and with it the compiled step, keeps its shape
from one step to the next. On CPU, and for the greedy held-out evaluation, plain `generate`.
"""

from __future__ import annotations

from contextlib import nullcontext

from localthink.distill.grpo_objective import completion_mask
from localthink.distill.rewards import accuracy, format_reward, parse_completion
from localthink.distill.tasks import Task

# The policy is told the format once; the prompt then opens <think> for it (R1-Zero).
FORMAT_HINT = "Think first, then close your thinking with </think> and give the answer."
PROMPT_WIDTH_STEP = 32  # prompt widths differ by a few tokens: one cache shape for most steps


def build_prompt(tok, task: Task) -> str:
    messages = [{"role": "user", "content": f"{task.prompt()}\n{FORMAT_HINT}"}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text if text.rstrip().endswith("<think>") else text + "<think>\n"


def eos_ids(model, tok) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    ids.add(tok.eos_token_id)
    return sorted(i for i in ids if i is not None)


def static_cache(model) -> bool:
    """Decode rollouts with a static, compiled KV cache: on CUDA only (compiling for the
    CPU costs more than it saves on a test's few steps)."""
    return model.device.type == "cuda"


def rollout_policy(model):
    """The model that samples the rollouts: with a static cache, a bfloat16 copy of the policy
    (what autocast computes, without casting every weight at every token, and a cache of
    the one dtype the compiled step expects); otherwise the policy itself."""
    if not static_cache(model):
        return model
    import copy

    import torch

    return copy.deepcopy(model).to(torch.bfloat16).eval().requires_grad_(False)


def sync_weights(rollout, model) -> None:
    """The policy's weights after a step into its rollout copy (in place: the compiled step
    keeps reading the same memory)."""
    import torch

    if rollout is not model:
        with torch.no_grad():
            for copy, weight in zip(rollout.parameters(), model.parameters(), strict=True):
                copy.copy_(weight)


def generate(model, tok, tasks: list[Task], n: int, cfg, sample: bool = True):
    """n completions per task in one batch (left-padded prompts): ids, attention, widths."""
    import torch

    fast = sample and static_cache(model)
    tok.padding_side = "left"
    enc = tok([build_prompt(tok, t) for t in tasks], return_tensors="pt", padding=True,
              pad_to_multiple_of=PROMPT_WIDTH_STEP if fast else None,
              add_special_tokens=False).to(model.device)  # fmt: skip
    ids = enc.input_ids.repeat_interleave(n, 0)
    attn = enc.attention_mask.repeat_interleave(n, 0)
    eos = eos_ids(model, tok)
    options = {"do_sample": True, "temperature": cfg.temperature, "top_p": cfg.top_p,
               "top_k": 0} if sample else {"do_sample": False}  # fmt: skip
    if fast:
        options["cache_implementation"] = "static"
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

    if model.device.type == "cuda" and model.dtype == torch.float32:
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


def evaluate_policy(model, tok, tasks: list[Task], cfg, batch: int = 64) -> dict:
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
