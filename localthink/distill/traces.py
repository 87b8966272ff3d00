"""Collect teacher traces into an append-only JSONL that a re-run resumes."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path

from localthink.distill.tasks import Task
from localthink.distill.teachers import Cancelled, Teacher, TeacherUnavailable
from localthink.distill.verify import BAD_TARGET, NO_NUMBERS, answer_is_correct, countdown_problem
from localthink.engine.protocol import SamplingParams
from localthink.errors import LocalthinkError


class TraceWriter:
    """One JSON record per line, flushed as written; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done = self._recover()
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def _recover(self) -> set[tuple[str, int]]:
        """Keys already written; a half-written last line (killed mid-write) is cut off."""
        if not self.path.exists():
            return set()
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with self.path.open("r+b") as f:
                f.truncate(end)
        done = set()
        for line in data[:end].splitlines():
            try:
                row = json.loads(line)
                done.add((str(row["task_id"]), int(row["sample"])))
            except (ValueError, KeyError, TypeError):
                raise LocalthinkError(f"{self.path}: not a traces file (unreadable line)") from None
        return done

    def write(self, record: dict) -> bool:
        """Append one record; False (nothing written) once the writer is closed."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            if self._file.closed:  # the run stopped while this sample was out
                return False
            try:
                self._file.write(line)
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as exc:  # a full disk: what is written stays; resume cuts the rest
                raise LocalthinkError(
                    f"{self.path}: cannot write ({exc.strerror or exc}); "
                    f"{len(self.done)} samples kept, run again to resume"
                ) from None
            self.done.add((record["task_id"], record["sample"]))
        return True

    def close(self) -> None:
        """Waits for a write in progress, so the file never ends in half a line."""
        with self._lock, contextlib.suppress(OSError):  # the unwritten tail of a failed write
            self._file.close()


class TracesInterrupted(KeyboardInterrupt):
    """Ctrl-C: queued samples are dropped, written ones kept; the message says how many."""


# How long Ctrl-C waits for workers to notice: a local GGUF stops within a token, and
# must stop before the interpreter frees the model. A slow HTTP reply is abandoned.
STOP_GRACE_S = 2.0


def checkable(tasks: list[Task]) -> list[Task]:
    """The tasks whose answers can be checked; each other one is reported on stderr."""
    keep, unlisted = [], []
    for t in tasks:
        problem = countdown_problem(t.question, t.answer) if t.kind == "countdown" else None
        if problem == BAD_TARGET:
            print(
                f"localthink: task {t.id}: skipped (countdown target {t.answer!r} is not a "
                "whole number)",
                file=sys.stderr,
            )
        elif problem == NO_NUMBERS:
            unlisted.append(t.id)
        else:
            keep.append(t)
    if unlisted:  # once: a file phrased its own way usually has it on every line
        print(
            f"localthink: warning: {len(unlisted)} countdown tasks skipped: their questions do "
            f"not list the numbers as [a, b, c] (first: {unlisted[0]})",
            file=sys.stderr,
        )
    return keep


def run_traces(
    tasks: list[Task],
    teacher: Teacher,
    out: Path,
    samples: int,
    params: SamplingParams,
    concurrency: int = 1,
    seed: int = 0,
    on_record=None,
) -> tuple[int, int]:
    """Ask the teacher `samples` times per task; return (written now, skipped as done).

    Ctrl-C raises TracesInterrupted once every record so far is whole on disk.
    """
    if samples < 1 or concurrency < 1:
        raise LocalthinkError("samples and concurrency must be at least 1")
    tasks = checkable(tasks)
    writer = TraceWriter(out)
    pending = deque((t, i) for t in tasks for i in range(samples) if (t.id, i) not in writer.done)
    skipped = len(tasks) * samples - len(pending)
    stop = threading.Event()
    errors: list[BaseException] = []

    def one(task: Task, index: int) -> None:
        s = teacher.sample(task.prompt(), params, seed + index, cancel=stop)
        record = {
            "task_id": task.id,
            "sample": index,
            "teacher": teacher.name,
            "kind": task.kind,
            "question": task.question,
            "reference": task.answer,
            "params": {**asdict(params), "seed": seed + index},
            **asdict(s),
            "correct": answer_is_correct(task.kind, task.question, s.answer, task.answer),
        }
        if writer.write(record) and on_record is not None:
            on_record(record)

    def work() -> None:
        while not stop.is_set():
            try:
                task, index = pending.popleft()
            except IndexError:
                return
            try:
                one(task, index)
            except Cancelled:
                return
            except BaseException as exc:  # the first failure stops the run; main raises it
                errors.append(exc)
                stop.set()
                return

    # daemon threads, not a ThreadPoolExecutor: its exit (and the interpreter's) would
    # wait out every request in flight, and Ctrl-C must not
    workers = [
        threading.Thread(target=work, daemon=True)
        for _ in range(min(concurrency, teacher.concurrency_limit or concurrency))
    ]
    written_before = len(writer.done)
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    except KeyboardInterrupt:
        stop.set()
        writer.close()
        deadline = time.monotonic() + STOP_GRACE_S
        for w in workers:
            w.join(max(0.0, deadline - time.monotonic()))
        raise TracesInterrupted(
            f"interrupted: {len(writer.done)} samples kept in {out}, run again to resume"
        ) from None
    finally:
        writer.close()
    if errors and isinstance(errors[0], TeacherUnavailable):
        raise TeacherUnavailable(
            f"{errors[0]}; {len(writer.done)} samples kept in {out}, run again to resume"
        ) from None
    if errors:
        raise errors[0]
    return len(writer.done) - written_before, skipped
