"""GRPO: rewards on hand-written completions, the objective by hand, and real steps on SmolLM2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from localthink.distill.grpo import GRPOConfig, grpo  # noqa: E402
from localthink.distill.grpo_objective import (  # noqa: E402
    completion_mask,
    group_advantages,
    group_share,
    policy_loss,
)
from localthink.distill.rewards import accuracy, format_reward, parse_rewards  # noqa: E402
from localthink.distill.tasks import Task  # noqa: E402
from localthink.distill.train import load_student  # noqa: E402
from localthink.errors import LocalthinkError  # noqa: E402

SUM = Task("t1", "Compute 17 × 19.", "323")


@pytest.mark.parametrize(
    ("completion", "acc", "fmt"),
    [
        ("17 × 19 = 323</think>\nThe answer is \\boxed{323}.", 1.0, 1.0),
        ("17 × 19 = 323</think>\nThe answer is 323.", 1.0, 0.5),  # right, not boxed
        ("17 × 19 = 320</think>\n\\boxed{320}", 0.0, 1.0),  # well formed, wrong
        ("17 × 19 = 323, so \\boxed{323}", 0.0, 0.0),  # never closed its thinking
        ("</think>\\boxed{323}", 1.0, 0.0),  # no thinking at all
        ("a</think>b</think>\\boxed{323}", 1.0, 0.0),  # closed twice: format says no
        ("easy</think>\\boxed{17 \\times 19}", 0.0, 1.0),  # the question copied back
    ],
)
def test_rewards_score_hand_written_completions(completion, acc, fmt):
    assert accuracy(completion, SUM) == acc
    assert format_reward(completion, SUM) == fmt


def test_reward_specs_take_weights_and_user_functions():
    rewards = parse_rewards(["accuracy", "format=0.25", "tests.distill.grpo_rewards:length"])
    assert rewards["format"][1] == 0.25 and rewards["accuracy"][1] == 1.0
    assert rewards["tests.distill.grpo_rewards:length"][0]("abcd", SUM) == pytest.approx(0.4)
    for bad in (["nope"], ["accuracy=x"], ["no.such.module:f"]):
        with pytest.raises(LocalthinkError):
            parse_rewards(bad)


def test_group_advantages_match_a_hand_computed_example():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5]])
    # group 1: mean 0.5, sample std sqrt(1/3) = 0.57735; group 2: all equal, no signal
    scaled = group_advantages(rewards)
    assert scaled[0].tolist() == pytest.approx([0.866, -0.866, -0.866, 0.866], abs=1e-3)
    assert scaled[1].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert group_advantages(rewards, scale=False)[0].tolist() == [0.5, -0.5, -0.5, 0.5]


def test_loss_variants_weigh_tokens_as_documented():
    logp = torch.zeros(2, 4)
    adv = torch.tensor([1.0, -1.0])
    mask = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0]])
    # ratio 1: per-token loss is -A; grpo averages per sequence, then over sequences
    grpo_loss, _ = policy_loss(logp, logp.detach(), adv, mask, "grpo")
    assert float(grpo_loss) == pytest.approx((-1 + 1) / 2)
    dapo_loss, _ = policy_loss(logp, logp.detach(), adv, mask, "dapo")
    assert float(dapo_loss) == pytest.approx((-4 + 1) / 5)
    dr, _ = policy_loss(logp, logp.detach(), adv, mask, "dr_grpo", max_new_tokens=8)
    assert float(dr) == pytest.approx((-4 + 1) / (2 * 8))
    # the clip: a ratio of e^1 on a positive advantage earns only 1 + eps
    clipped, _ = policy_loss(torch.ones(1, 1), torch.zeros(1, 1), torch.ones(1), torch.ones(1, 1))
    assert float(clipped) == pytest.approx(-1.2)
    # the KL term: zero at the reference, positive away from it
    _, kl0 = policy_loss(logp, logp.detach(), adv, mask, beta=0.1, ref_logp=torch.zeros(2, 4))
    _, kl1 = policy_loss(logp, logp.detach(), adv, mask, beta=0.1, ref_logp=torch.ones(2, 4))
    assert float(kl0) == 0.0 and float(kl1) > 0.5


@pytest.mark.parametrize("loss", ["grpo", "dapo", "dr_grpo"])
def test_groups_weighed_by_their_share_add_up_to_the_whole_batch(loss):
    """One forward per group (bounded memory) must give the gradient of the whole batch:
    before, dapo averaged tokens within each group and then the groups."""
    gen = torch.Generator().manual_seed(0)
    logp = torch.randn(6, 5, generator=gen)
    old = logp + 0.1 * torch.randn(6, 5, generator=gen)
    adv = torch.randn(6, generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0],
                         [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 0, 0, 0, 0]])  # fmt: skip
    whole, _ = policy_loss(logp, old, adv, mask, loss, max_new_tokens=5)
    parts = 0.0
    for g in range(3):
        rows = slice(2 * g, 2 * g + 2)
        part, _ = policy_loss(logp[rows], old[rows], adv[rows], mask[rows], loss, max_new_tokens=5)
        parts += part * group_share(mask, rows, loss, 3)
    assert float(parts) == pytest.approx(float(whole), rel=1e-6)


@pytest.mark.parametrize("loss", ["grpo", "dapo", "dr_grpo"])
def test_processes_holding_their_own_groups_add_up_to_the_whole_batch(loss):
    """Under accelerate each process sees only its groups' tokens: weighed by the step's
    group and token counts over all processes, their losses sum to the one-process loss
    (the gradients are summed, so the step is the same)."""
    gen = torch.Generator().manual_seed(1)
    logp = torch.randn(6, 5, generator=gen)
    old = logp + 0.1 * torch.randn(6, 5, generator=gen)
    adv = torch.randn(6, generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0],
                         [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 0, 0, 0, 0]])  # fmt: skip
    whole, _ = policy_loss(logp, old, adv, mask, loss, max_new_tokens=5)
    summed = 0.0
    for mine in (slice(0, 4), slice(4, 6)):  # process 0: groups 0 and 1; process 1: group 2
        m = mask[mine]
        for g in range(m.shape[0] // 2):
            rows = slice(2 * g, 2 * g + 2)
            args = (logp[mine][rows], old[mine][rows], adv[mine][rows], m[rows], loss)
            part, _ = policy_loss(*args, max_new_tokens=5)
            summed += part * group_share(m, rows, loss, 3, int(mask.sum()))
    assert float(summed) == pytest.approx(float(whole), rel=1e-6)


def test_completion_mask_stops_after_the_first_end_token():
    ids = torch.tensor([[5, 6, 2, 2, 2], [5, 6, 7, 8, 9], [2, 9, 9, 9, 9]])
    assert completion_mask(ids, {2}).tolist() == [
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1],
        [1, 0, 0, 0, 0],
    ]


def tiny(steps: int) -> GRPOConfig:
    # the length reward differs across any two samples, so every group carries signal
    return GRPOConfig(
        steps=steps,
        group=2,
        prompts_per_step=1,
        max_new_tokens=12,
        lr=1e-4,
        save_every=1,
        rewards=["tests.distill.grpo_rewards:length", "accuracy"],
    )


TASKS = [Task(f"a{i}", f"Compute {i} + {i}.", str(2 * i)) for i in range(2, 8)]


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_a_step_changes_the_weights_and_resume_matches_an_unbroken_run(smollm2_path, tmp_path):
    straight = grpo(TASKS, str(smollm2_path), tmp_path / "straight", tiny(2))
    assert [r["step"] for r in straight["history"]] == [1, 2]
    assert all(r["zero_std_groups"] < 1 for r in straight["history"])
    one = grpo(TASKS, str(smollm2_path), tmp_path / "broken", tiny(1))
    before = {k: v.clone() for k, v in one["model"].state_dict().items()}
    resumed = grpo(TASKS, str(smollm2_path), tmp_path / "broken", tiny(2), resume=True)
    assert [r["step"] for r in resumed["history"]] == [1, 2]  # step 1 read back from the log
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "broken")
    assert any(not torch.equal(before[k], b[k]) for k in b)  # step 2 moved the weights
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    log = (tmp_path / "broken" / "grpo_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == [1, 2]
    # more steps is a resume; another learning rate is another experiment, refused
    other = GRPOConfig(**{**asdict(tiny(3)), "lr": 1e-3})
    with pytest.raises(LocalthinkError, match="saved with --lr 0.0001, resumed with --lr 0.001"):
        grpo(TASKS, str(smollm2_path), tmp_path / "broken", other, resume=True)


def test_a_kl_term_to_the_frozen_student_is_measured_and_grows_from_zero(smollm2_path, tmp_path):
    cfg = GRPOConfig(**{**asdict(tiny(2)), "beta": 0.1})
    history = grpo(TASKS, str(smollm2_path), tmp_path / "kl", cfg)["history"]
    # the policy starts as the reference: a KL of zero, then the first update moves it away
    assert history[0]["kl"] == pytest.approx(0.0, abs=1e-3)
    assert history[1]["kl"] > history[0]["kl"]


def test_groups_that_all_tie_skip_the_forward_and_leave_the_weights(
    smollm2_path, tmp_path, monkeypatch
):
    from localthink.distill import grpo as grpo_module

    calls = []
    real = grpo_module.token_logprobs
    monkeypatch.setattr(
        grpo_module, "token_logprobs", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    cfg = tiny(1)
    cfg.rewards = ["tests.distill.grpo_rewards:constant"]
    run = grpo(TASKS, str(smollm2_path), tmp_path / "tie", cfg)
    assert run["history"][0]["zero_std_groups"] == 1.0 and run["history"][0]["loss"] == 0.0
    assert calls == []  # no forward for a group with nothing to learn
    start, _ = load_student(str(smollm2_path))
    after = run["model"].state_dict()
    assert all(torch.equal(v, after[k]) for k, v in start.state_dict().items())


def test_cli_trains_evaluates_plots_and_the_policy_converts(smollm2_path, tmp_path, isolated_home):
    tasks = tmp_path / "tasks.jsonl"
    rows = [{"id": t.id, "question": t.question, "answer": t.answer} for t in TASKS]
    rows += [{"id": "h1", "question": "Compute 3 + 4.", "answer": "7", "split": "test"}]
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "rl"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "localthink", "distill", "grpo", "--student", str(smollm2_path),
           "--tasks", str(tasks), "-o", str(out), "--steps", "1", "--group", "2",
           "--prompts-per-step", "1", "--max-new-tokens", "8", "--lr", "1e-4",
           "--reward", "tests.distill.grpo_rewards:length", "--eval", "1"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step    1/1 · reward" in done.stdout
    assert "held-out before: accuracy" in done.stdout and "held-out after" in done.stdout
    assert set(json.loads((out / "grpo_eval.json").read_text())) == {"before", "after"}
    assert "completion tokens" in (out / "grpo_curve.txt").read_text()
    assert "<think>" in (out / "chat_template.jinja").read_text()
    gguf = tmp_path / "rl.gguf"
    conv = subprocess.run(
        [sys.executable, "-m", "localthink", "distill", "convert", str(out), "-o", str(gguf)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert conv.returncode == 0, conv.stderr[-2000:]
    bad = subprocess.run(cmd[:-2] + ["--group", "1"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "--group must be at least 2" in bad.stderr
    assert "Traceback" not in bad.stderr
    zero = subprocess.run(cmd + ["--save-every", "0"], capture_output=True, text=True, env=env)
    assert zero.returncode == 2 and "--save-every" in zero.stderr
    assert "Traceback" not in zero.stderr
