"""Watches Celery events the way Flower and `celery events` do — Celery 5.2.6's own
`app.events.Receiver` feeding `celery.events.state.State` — and prints, as JSON, what State made
of one worker (and of a client's task-sent events).

Prints "ready" once its event queue is bound (nothing sent after that is missed), then runs until
that worker's worker-offline arrived or EVENTS_SECONDS passed, and prints one JSON line.

Environment:
  EVENTS_BROKER_URL   amqp://…
  EVENTS_HOSTNAME     the worker's node name, e.g. nest-events-1a2b@host
  EVENTS_CLIENT       the client's node name (gen<pid>@host), whose task-sent events count too
  EVENTS_SECONDS      longest run (default 60)
"""
import json
import os
import threading
import time

from celery import Celery
from celery.events.state import State
from celery.utils.time import utcoffset

app = Celery("event_monitor", broker=os.environ["EVENTS_BROKER_URL"])
worker_name = os.environ["EVENTS_HOSTNAME"]
ours = {worker_name, os.environ.get("EVENTS_CLIENT", "")}
state = State()
report = {"python_utcoffset": utcoffset(), "events": [], "worker_snapshots": [], "max_lag_seconds": 0.0}

TASK_FIELDS = (
    "name", "state", "args", "kwargs", "result", "exception", "traceback", "retries", "eta", "expires",
    "runtime", "root_id", "parent_id", "exchange", "routing_key",
    "sent", "received", "started", "succeeded", "failed", "retried", "revoked", "rejected",
)


def snapshot(event):
    """What a monitor would show about the worker right after this event."""
    worker = state.workers.get(worker_name)
    return {
        "after": event["type"],
        "alive_workers": sorted(w.hostname for w in state.alive_workers()),
        "alive": bool(worker and worker.alive),
        "active": worker and worker.active,
        "processed": worker and worker.processed,
        "freq": worker and worker.freq,
        "loadavg": worker and worker.loadavg,
        "sw_ident": worker and worker.sw_ident,
        "sw_ver": worker and worker.sw_ver,
        "sw_sys": worker and worker.sw_sys,
    }


def on_event(event):
    state.event(event)
    if event.get("hostname") not in ours:
        return
    report["events"].append(event["type"])
    lag = event["local_received"] - event["timestamp"]
    report["max_lag_seconds"] = max(report["max_lag_seconds"], lag)
    if event["type"].startswith("worker-"):
        report["worker_snapshots"].append(snapshot(event))
    if event["type"] == "worker-offline" and event["hostname"] == worker_name:
        receiver.should_stop = True


def task_report(task):
    described = {field: getattr(task, field, None) for field in TASK_FIELDS}
    described["worker"] = task.worker.hostname if task.worker else None
    described["client"] = task.client
    return described


with app.connection() as connection:
    receiver = app.events.Receiver(connection, handlers={"*": on_event})
    # Bound before "ready", so every event sent afterwards waits in the queue for us.
    receiver.queue(connection.default_channel).declare()
    print("ready", flush=True)
    timer = threading.Timer(float(os.environ.get("EVENTS_SECONDS", "60")), lambda: setattr(receiver, "should_stop", True))
    timer.daemon = True
    timer.start()
    for _ in receiver.itercapture(limit=None, timeout=None, wakeup=False):
        pass

report["tasks"] = {
    uuid: task_report(task)
    for uuid, task in state.tasks.items()
    if (task.worker and task.worker.hostname in ours) or task.client in ours
}
report["alive_workers_at_end"] = sorted(w.hostname for w in state.alive_workers())
print(json.dumps(report, default=str), flush=True)
