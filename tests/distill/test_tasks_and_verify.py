import json
import re

import pytest

from localthink.distill import countdown
from localthink.distill.tasks import generate_tasks, read_tasks, write_tasks
from localthink.distill.verify import Filters, answer_is_correct, reject_reason, verify_traces
from localthink.errors import LocalthinkError
from localthink.verify import extract_answer, is_correct


def test_generators_are_deterministic_and_split_is_fixed():
    a = generate_tasks("arithmetic", 300, seed=1)
    b = generate_tasks("arithmetic", 300, seed=1)
    assert a == b and len({t.question for t in a}) == 300
    assert 10 < sum(t.split == "test" for t in a) < 60  # about 10 %
    assert generate_tasks("arithmetic", 5, seed=2) != a[:5]


def test_easiest_arithmetic_is_finite_and_says_so():
    tasks = generate_tasks("arithmetic", 500, seed=1, difficulty=0)
    assert all(len(t.question.split()) == 4 for t in tasks)  # "Compute a op b."
    with pytest.raises(LocalthinkError, match="only 1083 distinct"):
        generate_tasks("arithmetic", 2000, seed=1, difficulty=0)
    with pytest.raises(LocalthinkError, match="too low"):
        generate_tasks("linear", 5, seed=1, difficulty=0)


def test_generated_answers_are_right():
    for t in generate_tasks("arithmetic", 50, seed=3, difficulty=2):
        expr = re.match(r"Compute (.*)\.", t.question).group(1).replace("×", "*")
        assert int(t.answer) == eval(expr)  # our own generated text, not model output
    for t in generate_tasks("linear", 50, seed=3):
        a, sign, b, c = re.match(
            r"Solve for x: (-?\d+)x ([+-]) (\d+) = (-?\d+)\.", t.question
        ).groups()
        x = int(t.answer)
        assert int(a) * x + (int(b) if sign == "+" else -int(b)) == int(c)
    for t in generate_tasks("countdown", 20, seed=3):
        assert t.kind == "countdown" and 0 < int(t.answer) <= 1000
        assert countdown.numbers_in_question(t.question)


def test_bad_task_lines_are_reported_and_skipped(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    write_tasks(generate_tasks("linear", 2, 1), path)
    with path.open("a") as f:
        f.write("{oops\n" + json.dumps({"id": "x", "question": "q"}) + "\n")
    tasks = read_tasks(path)
    err = capsys.readouterr().err
    assert (
        len(tasks) == 2
        and "t.jsonl:3: skipped" in err
        and "t.jsonl:4: skipped (missing answer)" in err
    )
    path.write_text("nothing\n")
    with pytest.raises(LocalthinkError, match="no valid tasks"):
        read_tasks(path)


@pytest.mark.parametrize(
    ("reply", "reference", "ok"),
    [
        ("so the result is \\boxed{391}", "391", True),
        ("The final answer is: 391.", "391", True),
        ("17*23 = 391", "391", True),
        ("\\boxed{\\frac{3}{4}}", "0.75", True),
        ("\\boxed{x = -2}", "-2", True),
        ("Answer: 390", "391", False),
        ("I am not sure.", "391", False),
        ("\\boxed{1,000}", "1000", True),
        ("\\boxed{\\dfrac{1}{2}}", "1/2", True),
        # an unevaluated expression is not a numeric answer (GRPO learned to game this)
        ("\\boxed{17 \\times 23}", "391", False),
        ("The answer: 17 * 23", "391", False),
        ("\\boxed{2+2}", "4", False),
        ("\\boxed{x^2 + 1}", "1 + x^2", True),  # symbolic references still compare
    ],
)
def test_math_answers_in_many_formats(reply, reference, ok):
    assert is_correct(reply, reference) is ok


def test_countdown_checker_is_safe_and_strict():
    q = "Using the numbers [3, 4, 5], each at most once, and + - × ÷, make 23."
    assert answer_is_correct("countdown", q, "\\boxed{3 + 4 × 5}", "23")
    assert answer_is_correct("countdown", q, "Answer: 4 × 5 + 3 = 23", "23")
    assert not answer_is_correct("countdown", q, "\\boxed{3 + 4 × 5 + 5}", "28")  # 5 used twice
    assert not answer_is_correct("countdown", q, "\\boxed{6 × 4 - 1}", "23")  # 6 and 1 not given
    assert not answer_is_correct("countdown", q, "\\boxed{__import__('os').system('true')}", "0")
    with pytest.raises(countdown.BadExpression):
        countdown.evaluate("(lambda: 1)()")
    assert extract_answer("answer: 4 × 5 + 3") == "4 × 5 + 3"


def _trace(**kw):
    rec = {
        "task_id": "t1",
        "sample": 0,
        "kind": "math",
        "question": "What is 2+2?",
        "reference": "4",
        "thinking": "2 and 2 make 4.",
        "answer": "\\boxed{4}",
        "thinking_closed": True,
        "finish_reason": "stop",
    }
    return {**rec, **kw}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"thinking": ""}, "no thinking"),
        ({"thinking_closed": False}, "thinking not closed"),
        ({"finish_reason": "length"}, "answer cut off"),
        ({"thinking": "x" * 50}, "too long"),
        ({"thinking": "我们来计算二加二等于四。"}, "language mixing"),
        ({"answer": "\\boxed{5}"}, "wrong answer"),
    ],
)
def test_rejection_filters(change, reason):
    assert reject_reason(_trace(**change), Filters(max_thinking_chars=40)) == reason


def test_verify_writes_sft_records_and_drops_duplicates(tmp_path):
    src, dst = tmp_path / "traces.jsonl", tmp_path / "sft.jsonl"
    rows = [
        _trace(),
        _trace(sample=1),
        _trace(sample=2, answer="\\boxed{5}"),
        _trace(
            sample=3,
            task_id="t2",
            question="What is 1+2?",
            reference="3",
            thinking="One and two.",
            answer="\\boxed{3}",
        ),
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + "garbage\n")
    report = verify_traces(src, dst)
    assert (report.seen, report.kept) == (4, 2)
    assert dict(report.reasons) == {"duplicate": 1, "wrong answer": 1}
    out = [json.loads(line) for line in dst.read_text().splitlines()]
    assert [o["task_id"] for o in out] == ["t1", "t2"]
    user, assistant = out[0]["messages"]
    assert user["content"].endswith("put your final answer within \\boxed{}.")
    assert assistant["content"] == "<think>\n2 and 2 make 4.\n</think>\n\n\\boxed{4}"


def test_countdown_target_may_be_written_as_a_whole_float_and_a_bad_one_is_no_crash():
    q = "Using the numbers [3, 4, 5], each at most once, and + - × ÷, make 23."
    assert answer_is_correct("countdown", q, "\\boxed{3 + 4 × 5}", "23.0")
    assert answer_is_correct("countdown", q, "\\boxed{3 + 4 × 5}", " 23 ")
    for reference in ("twenty-three", "23.5", "", "1/0"):
        assert not answer_is_correct("countdown", q, "\\boxed{3 + 4 × 5}", reference)


def test_verify_rejects_unverifiable_countdown_lines_with_a_reason(tmp_path, capsys):
    q = "Using the numbers [3, 4, 5], each at most once, and + - × ÷, make 23."
    worded = "Make 23 from 3, 4 and 5, each at most once."
    rows = [
        _trace(sample=0, question=q, reference="23.0"),
        _trace(sample=1, question=q, reference="twenty-three"),
        _trace(sample=2, question=worded, reference="23"),
        _trace(sample=3, question=worded + " ", reference="23"),
    ]
    for row in rows:
        row.update(kind="countdown", answer="\\boxed{3 + 4 × 5}")
    src, dst = tmp_path / "traces.jsonl", tmp_path / "sft.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = verify_traces(src, dst)
    assert (report.seen, report.kept) == (4, 1)
    assert dict(report.reasons) == {
        "countdown target not a whole number": 1,
        "countdown numbers not found in the question": 2,
    }
    err = capsys.readouterr().err.splitlines()
    assert (
        f"localthink: {src}:2: rejected (countdown target 'twenty-three' is not a whole number)"
        in err
    )
    warnings = [line for line in err if "[a, b, c]" in line]
    assert warnings == [
        "localthink: warning: 2 countdown traces were rejected: their questions do not list "
        "the numbers as [a, b, c]"
    ]
