"""`localthink ask` end to end, as a user runs it: a real process, real model."""

import json
import os
import subprocess
import sys

import pytest

from tests.run_cli import localthink

JSON_STATS = {
    "prompt_tokens",
    "thinking_tokens",
    "answer_tokens",
    "ttft_s",
    "thinking_s",
    "answer_s",
    "gen_tokens_per_s",
    "prompt_tokens_per_s",
    "stop_reason",
    "threads",
}


def test_json_contract_on_template_opened_thinking(think_gguf, isolated_home):
    r = localthink(
        "ask",
        "--json",
        "--model",
        str(think_gguf),
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "What is 3+5?",
        home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model"] == "smollm2-think"
    assert out["thinking"] == "3 plus 5 is 8." and out["answer"] == "The answer is 8."
    assert set(out["stats"]) >= JSON_STATS
    assert out["stats"]["thinking_tokens"] > 0 and out["stats"]["answer_tokens"] > 0
    assert out["stats"]["stop_reason"] == "done"
    assert out["stats"]["threads"] >= 1  # the count the engine settled on


def test_default_model_is_announced_on_stderr_and_stdin_is_read(isolated_home):
    r = localthink(
        "ask", "-", "--max-tokens", "8", "--seed", "1", stdin="Say hi.\n", home=isolated_home
    )
    assert r.returncode == 0, r.stderr
    assert "using smollm2-135m" in r.stderr
    assert r.stdout.strip()
    assert "tok/s" in r.stderr.splitlines()[-1]


def test_hide_thinking_prints_only_the_answer(think_gguf, isolated_home):
    r = localthink(
        "ask",
        "--hide-thinking",
        "-m",
        str(think_gguf),
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "What is 2+3?",
        home=isolated_home,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "The answer is 5."


def test_streamed_output_shows_thinking_then_answer(think_gguf, isolated_home):
    r = localthink(
        "ask",
        "-m",
        str(think_gguf),
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "What is 2+3?",
        home=isolated_home,
    )
    assert r.stdout.strip() == "2 plus 3 is 5.\n\nThe answer is 5."
    assert r.stderr.splitlines()[-1].startswith("thought ")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("/no/such/model.gguf", "no such file"),
        ("no-such-model", "unknown model"),
        ("qwen3-4b", "not downloaded"),
    ],
)
def test_bad_model_is_one_line_exit_2(model, message, isolated_home):
    r = localthink("ask", "-m", model, "hi", home=isolated_home)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and message in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("damage", ["not-gguf", "truncated", "empty"])
def test_damaged_file_is_one_line_exit_2(damage, smollm2_path, tmp_path, isolated_home):
    path = tmp_path / "m.gguf"
    data = {
        "not-gguf": b"hello world",
        "empty": b"",
        "truncated": smollm2_path.read_bytes()[:3_000_000],
    }[damage]
    path.write_bytes(data)
    r = localthink("ask", "-m", str(path), "hi", home=isolated_home)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_prompt_longer_than_context_is_exit_2(isolated_home):
    r = localthink("ask", "--ctx", "64", "word " * 300, home=isolated_home)
    assert r.returncode == 2
    assert "raise --ctx" in r.stderr.splitlines()[-1] and "Traceback" not in r.stderr


def test_empty_question_is_exit_2(isolated_home):
    r = localthink("ask", "-", stdin="  \n", home=isolated_home)
    assert r.returncode == 2 and "empty" in r.stderr


def test_killed_generation_keeps_partial_reply_and_exits_2(isolated_home):
    import signal
    import time

    env = {**os.environ, "LOCALTHINK_HOME": str(isolated_home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localthink",
            "ask",
            "--json",
            "--max-tokens",
            "100000",
            "--ctx",
            "8192",
            "Write a very long essay about the sea.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(6)  # load (~1 s) and some generation
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("localthink: error: generation stopped")
    reply = json.loads(out)
    assert reply["stats"]["stop_reason"] == "stopped"
    assert reply["stats"]["answer_tokens"] > 0


def test_llama_cpp_loads_before_numpy(smollm2_path, isolated_home):
    """On a CUDA build, llama.cpp's model load crashed when numpy's libraries were loaded
    first (seen on an H100; benchmarks/results/cuda/README.md): the ask path must load
    llama.cpp's libraries (llama_cpp.llama_cpp) before anything imports numpy."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    r = localthink("ask", "--model", str(smollm2_path), "--max-tokens", "1", "hi", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    # one line per module, printed as its import completes: a module's own imports first
    done = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if "|" in line]
    assert "llama_cpp.llama_cpp" in done and "numpy" in done
    assert done.index("llama_cpp.llama_cpp") < done.index("numpy")


@pytest.mark.parametrize(
    "flags",
    [
        ["--ctx", "0"],
        ["--max-tokens", "0"],
        ["--threads", "-1"],
        ["--think-budget", "-5"],
        ["--min-think", "0"],
        ["--runs", "0"],
    ],  # fmt: skip
)
def test_counts_out_of_range_are_usage_errors(flags, isolated_home):
    r = localthink("ask", *flags, "hi", home=isolated_home)
    assert r.returncode == 2 and flags[0] in r.stderr
    assert r.stderr.startswith("localthink ask: error: argument ") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr


def test_config_toml_sets_the_context_and_a_flag_overrides_it(isolated_home):
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("ctx = 64\n")
    long_question = "word " * 300
    r = localthink("ask", "--max-tokens", "2", long_question, home=isolated_home)
    assert r.returncode == 2 and "raise --ctx" in r.stderr  # 64 tokens from config.toml
    r = localthink("ask", "--ctx", "1024", "--max-tokens", "2", long_question, home=isolated_home)
    assert r.returncode == 0, r.stderr
    config.write_text("threads = 0\n")
    r = localthink("ask", "hi", home=isolated_home)
    assert r.returncode == 2 and "config.toml: threads must be" in r.stderr


def test_a_gguf_without_a_chat_template_is_noted(smollm2_path, tmp_path, isolated_home):
    from localthink.models.gguf_file import copy_gguf

    bare = tmp_path / "bare.gguf"
    copy_gguf(smollm2_path, bare, remove=("tokenizer.chat_template",))
    r = localthink("ask", "-m", str(bare), "--max-tokens", "2", "hi", home=isolated_home)
    assert r.returncode == 0, r.stderr
    assert "note: bare has no chat template; using fallback (ChatML)" in r.stderr
