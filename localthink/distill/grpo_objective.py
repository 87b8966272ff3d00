"""The GRPO objective: group-relative advantages, clipped ratio, optional KL, three normalisations.

Written out in torch (after the DeepSeekMath/R1 papers and the Dr. GRPO paper) rather than
taken from TRL, which is not a dependency: the whole objective is the few lines below.

Loss variants (`--loss`):
  grpo     advantages scaled by the group's std; each completion's token losses averaged,
           then completions averaged (the original: long completions weigh less per token)
  dapo     std-scaled advantages; one mean over every token of the group (token level)
  dr_grpo  advantages not scaled by std; token losses summed and divided by a constant
           (completions × max new tokens), so neither length nor difficulty is reweighted
"""

from __future__ import annotations

LOSSES = ("grpo", "dapo", "dr_grpo")


def group_advantages(rewards, scale: bool = True, eps: float = 1e-4):
    """(reward - group mean), divided by the group's std when `scale`; rewards is [groups, G]."""
    mean = rewards.mean(dim=-1, keepdim=True)
    adv = rewards - mean
    if scale:
        adv = adv / (rewards.std(dim=-1, keepdim=True, unbiased=True) + eps)
    return adv


def token_logprobs(model, sequences, attention_mask, prompt_len: int):
    """log p(token) under `model` for every completion token: [G, T]."""
    import torch

    # positions count real tokens only, as generate() counts them for left-padded prompts
    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(
        input_ids=sequences, attention_mask=attention_mask, position_ids=positions
    ).logits
    logits = logits[:, prompt_len - 1 : -1].float()
    targets = sequences[:, prompt_len:]
    # gather then subtract logsumexp: the full [G, T, vocab] log_softmax is never stored
    picked = torch.gather(logits, -1, targets.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


def policy_loss(
    logp,
    old_logp,
    advantages,
    mask,
    loss: str = "grpo",
    clip_eps: float = 0.2,
    beta: float = 0.0,
    ref_logp=None,
    max_new_tokens: int | None = None,
):
    """Clipped surrogate (+ beta·KL to the reference): returns (loss, mean KL or None)."""
    import torch

    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - old_logp)
    adv = advantages.unsqueeze(-1)
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    per_token = -surrogate
    kl = None
    if beta > 0:
        # the k3 estimator of KL(policy || reference): unbiased and always >= 0
        diff = ref_logp - logp
        per_token_kl = torch.exp(diff) - diff - 1
        per_token = per_token + beta * per_token_kl
        kl = (per_token_kl * mask).sum() / mask.sum().clamp(min=1)
    if loss == "grpo":
        value = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).mean()
    elif loss == "dapo":
        value = (per_token * mask).sum() / mask.sum().clamp(min=1)
    elif loss == "dr_grpo":
        width = max_new_tokens or mask.shape[-1]
        value = (per_token * mask).sum() / (mask.shape[0] * width)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return value, kl


def group_share(mask, rows: slice, loss: str, groups: int, tokens: int | None = None) -> float:
    """The weight of one group's loss in the step, so the groups (one forward each, to bound
    memory) add up to the loss of the whole batch at once: equal shares, except for `dapo`,
    whose mean is over every token of the batch (a group's share is its share of tokens).
    `groups` and `tokens` count the whole step's, on every process (tokens: all of `mask`)."""
    if loss == "dapo":
        total = float(mask.sum()) if tokens is None else float(tokens)
        return float(mask[rows].sum()) / max(1.0, total)
    return 1 / groups


def completion_mask(completions, eos_ids: set[int]):
    """1 up to and including the first end-of-sequence token of each completion, else 0."""
    import torch

    is_eos = torch.zeros_like(completions, dtype=torch.bool)
    for e in eos_ids:
        is_eos |= completions == e
    # position of the first eos (or the full width when there is none)
    width = completions.shape[1]
    idx = torch.arange(width, device=completions.device).expand_as(completions)
    first = torch.where(is_eos, idx, torch.full_like(idx, width)).min(dim=1).values
    return (idx <= first.unsqueeze(1)).long()
