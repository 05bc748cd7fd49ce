"""The Celery 5.2.6 app of the benchmark: one no-op task, configured by environment.

  BENCH_BROKER_URL       amqp://...
  BENCH_RESULT_BACKEND   empty (no results), rpc:// or db+postgresql://...
  BENCH_IGNORE_RESULT    1: the task stores no result (Celery's ignore_result)
  BENCH_PARENT_PID       the benchmark process: the worker and its pool die with it

Everything else is Celery's default (prefetch multiplier 4, acks early, json), as a user gets it.
"""
import ctypes
import hashlib
import ctypes.util
import os
import signal

from celery import Celery, signals

app = Celery("bench_tasks", broker=os.environ["BENCH_BROKER_URL"], backend=os.environ.get("BENCH_RESULT_BACKEND") or None)
app.conf.broker_transport_options = {"confirm_publish": True}
app.conf.result_expires = None  # no celery.backend_cleanup beat entry needed
app.conf.database_short_lived_sessions = False


@app.task(name="bench.noop", ignore_result=os.environ.get("BENCH_IGNORE_RESULT") == "1")
def noop():
    return None


BLOCK = bytes(range(256)) * 256  # 64 KiB, the bytes bench/support/hash-work.ts hashes


@app.task(name="bench.hash", ignore_result=os.environ.get("BENCH_IGNORE_RESULT") == "1")
def hash_work(rounds):
    """The process-pool scenario's CPU-bound task: the same chained SHA-256 loop as hash-work.ts."""
    digest = bytes(32)
    for _ in range(rounds):
        h = hashlib.sha256(BLOCK)
        h.update(digest)
        digest = h.digest()
    return digest.hex()


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@signals.worker_init.connect
def worker_dies_with_the_benchmark(**_):
    parent = os.environ.get("BENCH_PARENT_PID")
    if parent:
        _die_with_parent()
        if os.getppid() != int(parent):
            os._exit(1)


@signals.worker_process_init.connect
def pool_process_dies_with_the_worker(**_):
    if os.environ.get("BENCH_PARENT_PID"):
        _die_with_parent()


@signals.worker_ready.connect
def say_ready(**_):
    # The worker runs at -l warning (Celery logs two INFO lines per task), so its own "ready." is not printed.
    print("BENCH-WORKER-READY", flush=True)
