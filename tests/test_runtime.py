"""The process-level helpers: tasks split between this process and worker processes."""

from __future__ import annotations

import os
import time
from functools import partial

import pytest

from intent_model.runtime import run_here_and_in_workers


def _process_after(seconds: float, number: int) -> tuple[int, int]:
    time.sleep(seconds)
    return number, os.getpid()


def _fail(message: str) -> None:
    raise ValueError(message)


def test_tasks_run_here_and_in_a_worker_and_come_back_in_order():
    # Unequal tasks: whichever side is free takes the next one.
    tasks = [partial(_process_after, 0.3 if n % 3 == 0 else 0.05, n) for n in range(12)]
    results = run_here_and_in_workers(tasks, jobs=2)
    assert [number for number, _ in results] == list(range(12))
    processes = {pid for _, pid in results}
    assert os.getpid() in processes
    assert len(processes) == 2


def test_one_job_runs_every_task_in_this_process():
    results = run_here_and_in_workers([partial(_process_after, 0.0, n) for n in range(4)], jobs=1)
    assert results == [(n, os.getpid()) for n in range(4)]


@pytest.mark.parametrize("failing", [0, 5])
def test_a_failing_task_raises_in_the_caller(failing):
    tasks = [partial(_process_after, 0.05, n) for n in range(6)]
    tasks[failing] = partial(_fail, f"task {failing} failed")
    with pytest.raises(ValueError, match=f"task {failing} failed"):
        run_here_and_in_workers(tasks, jobs=2)
