"""SFT on the real SmolLM2 student (loaded from its GGUF through transformers), on CPU."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import asdict

import pytest

from tests.run_cli import can_mount_tmpfs, localthink, on_small_disk

pytest.importorskip("torch")
pytest.importorskip("transformers")

from localthink.distill.train import TrainConfig, encode, load_student, train  # noqa: E402
from localthink.errors import LocalthinkError  # noqa: E402

SUFFIX = "\\nPlease reason step by step, and put your final answer within \\\\boxed{}."


def sft_lines(n: int = 4) -> str:
    rows = []
    for a, b in [(2, 3), (4, 4), (1, 6), (3, 3)][:n]:
        rows.append(
            json.dumps(
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": f"What is {a}+{b}?{json.loads(chr(34) + SUFFIX + chr(34))}",
                        },
                        {
                            "role": "assistant",
                            "content": f"<think>\n{a} plus {b} is {a + b}.\n</think>\n\n"
                            f"\\boxed{{{a + b}}}",
                        },
                    ]
                }
            )
        )
    return "\n".join(rows) + "\n"


def test_only_assistant_tokens_carry_labels(smollm2_path):
    _, tok = load_student(str(smollm2_path))
    messages = json.loads(sft_lines(1))["messages"]
    ex = encode(tok, messages, 4096)
    labelled = [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != -100]
    assert tok.decode(labelled).startswith("<think>\n2 plus 3 is 5.\n</think>")
    prompt_part = tok.decode(
        [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab == -100]
    )
    assert "What is 2+3?" in prompt_part and "<think>" not in prompt_part
    assert encode(tok, messages, 10) is None  # too long for --max-len: dropped


def test_loss_goes_down_resume_continues_and_student_thinks(smollm2_path, tmp_path, isolated_home):
    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines())
    out = tmp_path / "student"
    cfg = TrainConfig(lr=1e-4, batch_size=4, warmup=1, save_every=1, max_steps=2)
    first = train(sft, str(smollm2_path), out, cfg)
    assert [h["step"] for h in first["history"]] == [1, 2]
    resumed = train(
        sft, str(smollm2_path), out, TrainConfig(**{**cfg.__dict__, "max_steps": 4}), resume=True
    )
    assert [h["step"] for h in resumed["history"]] == [3, 4]  # continued from the saved step
    # a checkpoint's weights are named after how it was trained: compiled, they are not
    with pytest.raises(LocalthinkError, match="saved without --compile, resumed with --compile"):
        train(sft, str(smollm2_path), out, TrainConfig(**{**asdict(cfg), "compile": True}), True)
    # accelerate was set up without torch.compile in this process: --compile is refused, not
    # silently ignored (the CLI runs each training in its own process)
    with pytest.raises(LocalthinkError, match="already set up without torch.compile"):
        train(
            sft,
            str(smollm2_path),
            tmp_path / "new",
            TrainConfig(**{**asdict(cfg), "compile": True}),
        )
    # the learning rate picks up the schedule at step 3 of 4, not from its start
    cosine_at_3_of_4 = 0.5 * (1 + math.cos(math.pi * 3 / 4))
    assert resumed["history"][0]["lr"] == pytest.approx(1e-4 * cosine_at_3_of_4)
    losses = [h["loss"] for h in first["history"] + resumed["history"]]
    assert losses[-1] < losses[0] * 0.8
    # the saved student converts, registers and thinks when asked
    env = {**os.environ, "LOCALTHINK_HOME": str(isolated_home)}

    def lt(*args):
        r = localthink(*args, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stdout

    lt("distill", "convert", str(out), "-o", str(tmp_path / "s.gguf"), "--outtype", "f16")
    lt("distill", "register", str(tmp_path / "s.gguf"), "--name", "tiny-thinker")
    reply = json.loads(
        lt(
            "ask",
            "--json",
            "-m",
            "tiny-thinker",
            "--temperature",
            "0",
            "--max-tokens",
            "24",
            "What is 2+3?",
        )
    )
    assert reply["thinking"] and reply["stats"]["thinking_tokens"] > 0


def test_lora_trains_few_parameters_and_saves_merged_plain_weights(smollm2_path, tmp_path):
    pytest.importorskip("peft")
    from safetensors.torch import load_file

    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines())
    out = tmp_path / "lora-student"
    cfg = TrainConfig(lr=2e-3, batch_size=4, warmup=1, save_every=10, max_steps=3, lora=True)
    result = train(sft, str(smollm2_path), out, cfg)
    base, _ = load_student(str(smollm2_path))
    total = sum(p.numel() for p in base.parameters())
    assert 0 < result["trainable_params"] < total * 0.1
    losses = [h["loss"] for h in result["history"]]
    assert losses[-1] < losses[0]
    saved = load_file(str(out / "model.safetensors"))
    assert not any("lora" in k for k in saved)  # merged: a plain checkpoint
    state = base.state_dict()
    changed = [k for k in saved if k in state and not torch_equal(saved[k], state[k])]
    assert any("q_proj" in k for k in changed)
    assert not any("embed_tokens" in k or "norm" in k for k in changed)  # only adapted layers
    # the merged student loads as an ordinary Hugging Face model
    model, _ = load_student(str(out))
    assert sum(p.numel() for p in model.parameters()) == total


def torch_equal(a, b) -> bool:
    import torch

    return torch.equal(a.to(b.dtype), b)


def test_a_failed_save_keeps_the_last_checkpoint_and_resume_finishes(smollm2_path, tmp_path):
    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines())
    out = tmp_path / "student"
    args = ("distill", "train", str(sft), "--student", str(smollm2_path), "-o", str(out))
    steps = ("--save-every", "2", "--lr", "1e-4")
    r = localthink(*args, *steps, "--max-steps", "2", timeout=600)
    assert r.returncode == 0, r.stderr
    ckpt = out / "checkpoint"
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in ckpt.iterdir()}
    # the step-4 save fails partway: the weights (~540 MB) fit under the cap, the optimizer
    # state (~1.1 GB) does not, so the new checkpoint is half written when it fails
    r = localthink(*args, *steps, "--max-steps", "4", "--resume", max_file_bytes=600 << 20)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "Removed shared tensor" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]  # after transformers' GGUF loading bars
    assert line.startswith(f"localthink: error: cannot save a checkpoint in {out} (")
    assert line.endswith(f"the last checkpoint ({ckpt}) is kept")
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in ckpt.iterdir()} == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("checkpoint")) == [
        "checkpoint"
    ]
    r = localthink(*args, *steps, "--max-steps", "4", "--resume", timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("trained 4 steps")
    assert json.loads((ckpt / "state.json").read_text())["step"] == 4


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs unshare and tmpfs mounts")
def test_a_run_the_disk_cannot_hold_is_refused_before_it_trains(smollm2_path, tmp_path):
    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines())
    disk = tmp_path / "disk"
    disk.mkdir()
    train = f"{sys.executable} -m localthink distill train {sft} --student {smollm2_path}"
    script = f"mount -t tmpfs -o size=1g tmpfs {disk} && {train} -o {disk}/student"
    r = on_small_disk(script)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    # SmolLM2-135M in float32: 0.50 GiB of weights, 1.00 GiB of AdamW moments (the sizes
    # the real checkpoint has, see the failed-save test): 2 checkpoints + the student
    assert r.stderr.strip().splitlines()[-1] == (
        f"localthink: error: {disk}/student: training needs about 3.5 GiB on disk "
        "(checkpoints of 1.5 GiB, two at a time while one is swapped in, and the student); "
        "1.0 GiB free"
    )


def test_processes_under_accelerate_take_their_own_batches_and_resume(smollm2_path, tmp_path):
    """Two CPU processes through torchrun: what `accelerate launch` runs on several GPUs."""
    sft = tmp_path / "sft.jsonl"
    # 4 examples, one much longer: each token of the step weighs the same on every process
    sft.write_text(
        sft_lines().replace("4 plus 4 is 8.", "4 plus 4: four on from 4 is 5, 6, 7, 8. " * 3)
    )
    out = tmp_path / "student"
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    args = ["-m", "localthink", "distill", "train", str(sft), "--student", str(smollm2_path)]
    args += ["-o", str(out), "--batch-size", "1", "--grad-accum", "2", "--epochs", "2"]
    args += ["--save-every", "1"]
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}

    def run(*more):
        r = subprocess.run(
            [*launch, *args, *more], env=env, capture_output=True, text=True, timeout=600
        )
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout.splitlines()

    # 2 processes × 2 micro-batches of 1 example a step: an epoch of 4 examples is one step
    [line] = run("--max-steps", "1")  # one process reports
    assert line.startswith("trained 1 steps on 2 processes (134.5M trainable parameters)")
    # the step's loss is that of all 4 examples in one batch in one process
    alone = train(
        sft, str(smollm2_path), tmp_path / "alone", TrainConfig(batch_size=4, max_steps=1)
    )
    assert re.search(r"final loss (\S+) ", line)[1] == f"{alone['history'][0]['loss']:.3f}"
    ckpt = out / "checkpoint"
    assert {"random_states_0.pkl", "random_states_1.pkl"} <= {p.name for p in ckpt.iterdir()}
    [line] = run("--resume")  # 2 epochs = 2 steps: one more
    assert line.startswith("trained 2 steps on 2 processes")
    assert json.loads((ckpt / "state.json").read_text())["step"] == 2
    assert (out / "model.safetensors").exists()


def test_a_bad_sft_file_fails_before_the_weights_load(smollm2_path, tmp_path):
    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines(1) + '{"prompt": "not chat messages"}\n')
    r = localthink(
        "distill", "train", str(sft), "--student", str(smollm2_path), "-o", str(tmp_path / "s")
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f'localthink: error: {sft}:2: not an SFT record ({{"messages": [...]}})'
    )
    assert "Loading weights" not in r.stderr  # the tokenizer alone was read


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_accumulated_micro_batches_step_like_one_batch(smollm2_path, tmp_path):
    """Two micro-batches of one example make the same step as one batch of two, also when
    the examples differ in length: every labelled token of the step weighs the same."""
    sft = tmp_path / "sft.jsonl"
    short, long = (
        sft_lines(1),
        sft_lines(1).replace(
            "2 plus 3 is 5.", "2 plus 3: count three on from 2, that is 3, 4, 5. So 2 plus 3 is 5."
        ),
    )
    sft.write_text(short + long)
    _, tok = load_student(str(smollm2_path))
    a, b = (encode(tok, json.loads(line)["messages"], 4096) for line in (short, long))
    # a mean of the two micro-batches' means would weigh the short one's tokens more
    assert sum(x != -100 for x in b.labels) > sum(x != -100 for x in a.labels) + 10
    base = TrainConfig(lr=1e-4, warmup=1, max_steps=1)
    one = train(
        sft, str(smollm2_path), tmp_path / "one", TrainConfig(**{**asdict(base), "batch_size": 2})
    )
    acc = train(
        sft,
        str(smollm2_path),
        tmp_path / "acc",
        TrainConfig(**{**asdict(base), "batch_size": 1, "grad_accum": 2}),
    )
    assert one["steps"] == acc["steps"] == 1
    assert acc["history"][0]["loss"] == pytest.approx(one["history"][0]["loss"], rel=1e-4)
    w1, w2 = weights(tmp_path / "one"), weights(tmp_path / "acc")
    name = "model.layers.0.mlp.down_proj.weight"
    start = load_student(str(smollm2_path))[0].state_dict()[name]
    moved = (w1[name] - start).abs()
    assert moved.max() > 5e-5  # the step changed the weights: the comparison means something
    # AdamW's first step is about ±lr per weight; only weights whose gradient is ~0 may differ
    for key in w1:
        differ = ((w1[key] - w2[key]).abs() > 5e-5).float().mean()
        assert differ < 1e-3, key


def test_compiled_training_matches_eager_and_saves_plain_weights(smollm2_path, tmp_path):
    sft = tmp_path / "sft.jsonl"
    sft.write_text(sft_lines())
    eager = train(
        sft, str(smollm2_path), tmp_path / "eager", TrainConfig(lr=1e-3, batch_size=2, max_steps=2)
    )
    r = localthink(
        *("distill", "train", str(sft), "--student", str(smollm2_path), "-o"),
        *(str(tmp_path / "compiled"), "--lr", "1e-3", "--batch-size", "2", "--max-steps", "2"),
        "--compile",
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert "torch.compile compiles the student on the first step" in r.stderr
    final = float(re.search(r"final loss ([0-9.]+)", r.stdout).group(1))
    assert final == pytest.approx(eager["history"][-1]["loss"], abs=2e-3)
    w1, w2 = weights(tmp_path / "eager"), weights(tmp_path / "compiled")
    assert w1.keys() == w2.keys()  # no torch.compile wrapper names in the saved student
    for key in w1:  # as above: AdamW moves each weight by about ±lr a step
        assert ((w1[key] - w2[key]).abs() > 5e-5).float().mean() < 1e-3, key


@pytest.mark.parametrize(
    "flag", ["--batch-size", "--grad-accum", "--max-len", "--save-every", "--max-steps"]
)
def test_counts_below_one_are_usage_errors(tmp_path, flag):
    r = localthink("distill", "train", "x.jsonl", "--student", "s", "-o", "o", flag, "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"argument {flag}: '0' is not a whole number of at least 1" in r.stderr


def test_a_template_that_opens_thinking_is_not_taught_a_second_tag(smollm2_path):
    """A student whose template opens <think> itself (R1 distills, a student `distill train`
    saved) must learn to continue the open thought, not to write `<think>` again."""
    from localthink.distill.train import THINK_TEMPLATE_SUFFIX

    _, tok = load_student(str(smollm2_path))
    tok.chat_template = tok.chat_template + THINK_TEMPLATE_SUFFIX
    ex = encode(tok, json.loads(sft_lines(1))["messages"], 4096)
    text = tok.decode(ex.input_ids)
    assert text.count("<think>") == 1
    labelled = tok.decode(
        [t for t, lab in zip(ex.input_ids, ex.labels, strict=True) if lab != -100]
    )
    assert labelled.startswith("2 plus 3 is 5.\n</think>")
