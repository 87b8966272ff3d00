"""Collect teacher traces into an append-only JSONL that a re-run resumes."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path

from localthink.distill.tasks import Task
from localthink.distill.teachers import Teacher, TeacherUnavailable
from localthink.distill.verify import answer_is_correct
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

    def write(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
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

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the unwritten tail of a failed write
            self._file.close()


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
    """Ask the teacher `samples` times per task; return (written now, skipped as done)."""
    writer = TraceWriter(out)
    todo = [(t, i) for t in tasks for i in range(samples) if (t.id, i) not in writer.done]
    skipped = len(tasks) * samples - len(todo)
    workers = min(concurrency, teacher.concurrency_limit or concurrency)
    stop = threading.Event()

    def one(task: Task, index: int) -> None:
        if stop.is_set():
            return
        s = teacher.sample(task.prompt(), params, seed + index)
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
        writer.write(record)
        if on_record is not None:
            on_record(record)

    written_before = len(writer.done)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(one, t, i) for t, i in todo]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                stop.set()
                for f in futures:
                    f.cancel()
                raise failed[0].exception()
    except TeacherUnavailable as exc:
        kept = len(writer.done)
        raise TeacherUnavailable(
            f"{exc}; {kept} samples kept in {out}, run again to resume"
        ) from None
    finally:
        writer.close()
    return len(writer.done) - written_before, skipped
