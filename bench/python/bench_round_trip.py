"""Sends one no-op task at a time and waits for it with get() (Celery's defaults); prints the latencies in ms as JSON."""
import json
import sys
import time

from bench_tasks import noop

queue, count, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
latencies = []
for index in range(warmup + count):
    started = time.perf_counter()
    noop.apply_async(queue=queue).get(timeout=30)
    if index >= warmup:
        latencies.append((time.perf_counter() - started) * 1000)
print(json.dumps({"latenciesMs": latencies}))
