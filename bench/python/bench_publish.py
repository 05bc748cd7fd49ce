"""Publishes N no-op tasks with apply_async (confirm_publish on) and prints the elapsed seconds as JSON."""
import json
import sys
import time

from bench_tasks import noop

queue, count = sys.argv[1], int(sys.argv[2])
noop.apply_async(queue=queue)  # connection, channel and declarations out of the timing
started = time.perf_counter()
for _ in range(count - 1):
    noop.apply_async(queue=queue)
print(json.dumps({"seconds": time.perf_counter() - started, "count": count - 1}))
