"""Run under torchrun by test_grpo_processes.py: GRPO steps in this process, then its weights.

argv: student, output folder, steps, weights file prefix ('-' for none), then 'resume' or not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from localthink.distill.grpo import GRPOConfig, grpo
from localthink.distill.tasks import Task

TASKS = [Task(f"a{i}", f"Compute {i} + {i}.", str(2 * i)) for i in range(2, 8)]

student, out, steps, prefix, *rest = sys.argv[1:]
cfg = GRPOConfig(
    steps=int(steps),
    group=2,
    prompts_per_step=2,  # one prompt, one whole group, per process
    max_new_tokens=8,
    lr=1e-4,
    save_every=1,
    rewards=["tests.distill.grpo_rewards:length", "accuracy"],
)
run = grpo(TASKS, student, Path(out), cfg, resume=rest == ["resume"])
torch.save(run["model"].state_dict(), f"{prefix}{os.environ['RANK']}.pt")
print(f"rank {os.environ['RANK']} steps {run['steps']} processes {run['processes']}", flush=True)
