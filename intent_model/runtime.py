"""What the process runs on: the cores it may use, memory handed back, time per stage.

One place for the few things that touch the process rather than the data, so
that no stage reads the machine on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def release_free_memory() -> None:
    """Hand memory that was freed back to the operating system, where the C library can.

    glibc keeps freed blocks in its heap for reuse; after a chunk of ten
    million events has been turned into features, most of it is free but still
    counted in the process's resident memory, and the next chunk's arrays do
    not always fit the holes. ``malloc_trim`` returns it (the remedy Dask
    documents for the same symptom). Elsewhere this does nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


class StageTimes:
    """Seconds spent in each stage of a run, in the order the stages first ran.

    Examples
    --------
    >>> times = StageTimes()
    >>> with times.stage("read"):
    ...     pass
    >>> list(times.seconds)
    ['read']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the time spent inside the block to stage ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def line(self) -> str:
        """``time per stage: read 1.2 s, features 3.4 s, ... (total 9.9 s)``."""
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        return f"time per stage: {parts} (total {sum(self.seconds.values()):.1f} s)"

    def metrics(self) -> dict[str, float]:
        """The stages as MLflow metric names: ``time_<stage>_s``."""
        return {
            f"time_{re.sub(r'[^0-9A-Za-z]+', '_', name).strip('_')}_s": seconds
            for name, seconds in self.seconds.items()
        }


def resolve_jobs(jobs: int | None) -> int:
    """Cores to work on: ``jobs`` when given (>= 1), else every core this process may use."""
    return max(1, jobs) if jobs else available_cores()


@contextlib.contextmanager
def thread_budget(jobs: int | None) -> Iterator[int]:
    """Run the block with at most ``jobs`` threads in every native thread pool (OpenMP,
    BLAS), and yield the number of cores the block may use.

    The one place that sets thread pools. A stage that splits its own work
    (feature chunks in threads, model fits in processes) sizes it with the
    yielded number and gives each piece one thread, so pools never nest:
    scikit-learn's gradient boosting otherwise starts an OpenMP thread per core
    in every fit, and on a shared machine those threads wait for each other.
    """
    from threadpoolctl import threadpool_limits

    cores = resolve_jobs(jobs)
    with threadpool_limits(limits=cores):
        yield cores


# Every native thread pool of a worker process at one thread: the worker is one of
# the run's cores, and its tasks are one-thread fits.
_ONE_THREAD = dict.fromkeys(
    ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"), "1"
)


def in_a_thread(task: Callable[..., Any], *args: Any) -> Future:
    """``task(*args)`` started in a thread of its own, which ends when the task does."""
    thread = ThreadPoolExecutor(1, thread_name_prefix="intent-model-background")
    try:
        return thread.submit(task, *args)
    finally:
        thread.shutdown(wait=False)


def worker_processes(jobs: int) -> Executor | None:
    """The reusable pool of ``jobs - 1`` one-thread worker processes that, with this
    process, run ``jobs`` tasks at once (see :func:`run_here_and_in_workers`); None for
    one job.

    The pool outlives the call: a worker takes about a second of CPU to start
    (Python, numpy, scikit-learn), so every later call with the same ``jobs`` finds
    it started. It is the process-wide executor that joblib's ``Parallel`` runs on
    too, made by joblib's own factory: another kind of executor in its place would
    be reused by the next ``Parallel`` and fail there. A ``Parallel`` with other
    workers replaces it, and the next call here replaces that one.
    """
    if jobs <= 1:
        return None
    from joblib.executor import get_memmapping_executor

    # No memory-mapping (max_nbytes=None): the tasks sent here carry small tables, and
    # a mapped copy would outlive the call in the pool's temporary folder.
    return get_memmapping_executor(jobs - 1, timeout=300, env=_ONE_THREAD, max_nbytes=None)


def run_here_and_in_workers(tasks: Sequence[Callable[[], Any]], jobs: int) -> list[Any]:
    """Every task's result, in order; ``jobs`` at once: this process runs tasks in one
    thread while the ``jobs - 1`` processes of :func:`worker_processes` run the others.

    Each side takes the next task when it is free, so tasks of unequal length still
    end together. This process would only wait for the workers otherwise, and each
    worker it replaces is a second of start-up CPU saved, which on a small table is
    a large share of a training run. Tasks must pickle (module-level functions and
    their arguments, e.g. :func:`functools.partial`); every argument is sent with
    each task, so this suits tasks whose data are a few megabytes.
    """
    pool = worker_processes(jobs)
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for number in range(len(tasks)):
        pending.put(number)
    results: list[Any] = [None] * len(tasks)
    failures: list[BaseException] = []

    def next_task() -> int | None:
        if failures:
            return None
        try:
            return pending.get_nowait()
        except queue.Empty:
            return None

    def feed_one_worker() -> None:
        while (number := next_task()) is not None:
            try:
                results[number] = pool.submit(tasks[number]).result()
            except BaseException as error:  # re-raised in the caller, after the join
                failures.append(error)

    feeders = [
        threading.Thread(target=feed_one_worker, name=f"intent-model-worker-{k}", daemon=True)
        for k in range(jobs - 1 if pool is not None else 0)
    ]
    for feeder in feeders:
        feeder.start()
    try:
        with thread_budget(1):
            while (number := next_task()) is not None:
                results[number] = tasks[number]()
    except BaseException as error:
        failures.append(error)
    for feeder in feeders:
        feeder.join()
    if failures:
        raise failures[0]
    return results
