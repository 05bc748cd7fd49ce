"""A real Celery 5.2.6 app that the TypeScript interop tests run as a worker (`celery -A interop_tasks worker`).

It defines the sample app's tasks under the same names (so either worker can serve a shared
queue) and tasks only Python has. Configured by environment, set by test/support/python-worker.ts:
  INTEROP_BROKER_URL       amqp://…
  INTEROP_RESULT_BACKEND   rpc:// or db+postgresql://…
  INTEROP_RESULT_EXTENDED  1 to write name/args/kwargs/worker/queue with each result
  INTEROP_MAX_PRIORITY     declare the task queues with x-max-priority (as our side must too)
  INTEROP_DEFAULT_QUEUE    where tasks go when the caller names no queue
  INTEROP_PARENT_PID       the test process: the worker kills itself when that process is gone
  INTEROP_TRANSPORT_OPTIONS  broker_transport_options as JSON (SQS: region, visibility_timeout…)

Python client scripts import it too, to call the tasks the Celery way (`add.apply_async(...)`).
"""
import ctypes
import ctypes.util
import json
import os
import signal
import time

from celery import Celery, signals

import payments

app = Celery("interop_tasks", broker=os.environ.get("INTEROP_BROKER_URL"), backend=os.environ.get("INTEROP_RESULT_BACKEND"))
app.conf.task_default_queue = os.environ.get("INTEROP_DEFAULT_QUEUE") or "celery"
app.conf.result_extended = os.environ.get("INTEROP_RESULT_EXTENDED") == "1"
if os.environ.get("INTEROP_TRANSPORT_OPTIONS"):
    app.conf.broker_transport_options = json.loads(os.environ["INTEROP_TRANSPORT_OPTIONS"])
# Quorum task queues behind topic exchanges (INTEROP_QUORUM=1): what makes Celery 5.5+ send
# countdowns through native delayed delivery (celery_delayed_27) and declare its delay levels,
# classic like ours. Celery 5.2 knows only the exchange type: its queues stay classic.
if os.environ.get("INTEROP_QUORUM"):
    app.conf.task_default_queue_type = "quorum"
    app.conf.task_default_exchange_type = "topic"
    app.conf.broker_native_delayed_delivery_queue_type = "classic"

if os.environ.get("INTEROP_MAX_PRIORITY"):
    app.conf.task_queue_max_priority = int(os.environ["INTEROP_MAX_PRIORITY"])
# One message at a time per process: with a queue shared with our worker, neither side hoards it.
app.conf.worker_prefetch_multiplier = 1


# The sample app's tasks (sample-app/src/tasks), with the same names and results.


@app.task(name="tasks.add")
def add(x, y):
    return x + y


@app.task(name="tasks.mul")
def mul(x, y):
    return x * y


@app.task(name="tasks.xsum")
def xsum(numbers):
    return sum(numbers)


@app.task(name="tasks.echo")
def echo(value):
    return value


@app.task(name="tasks.fail")
def fail(message):
    raise ValueError(message)


# Tasks only Python has: our client can reach them only through the broker.


@app.task(name="py.upper")
def upper(text):
    return text.upper()


@app.task(name="py.divide")
def divide(a, b):
    return a / b


@app.task(name="py.decline")
def decline(reason, code):
    """Fails with an exception of the app's own (payments.PaymentDeclined), as a Nest task can too."""
    raise payments.PaymentDeclined(reason, code)


@app.task(name="py.whoami", bind=True)
def whoami(self):
    return self.request.hostname


@app.task(name="py.stamps", bind=True)
def stamps(self, *_previous):
    """The stamps this task arrived with: Celery 5.3+'s request.stamped_headers / stamps (5.2 shows
    the same headers as plain application headers, None when absent)."""
    return {
        "stamped_headers": getattr(self.request, "stamped_headers", None),
        "stamps": getattr(self.request, "stamps", None),
    }


@app.task(name="py.replace_with_nest", bind=True)
def replace_with_nest(self, nest_queue):
    """Replaces itself (Task.replace) with a chain of two Nest tasks on nest_queue."""
    from celery import chain

    replacement = chain(
        app.signature("st.nesting", args=(None,), queue=nest_queue),
        app.signature("st.nesting", queue=nest_queue),
    )
    return self.replace(replacement)


@app.task(name="py.roundtrip")
def roundtrip(value):
    return value


@app.task(name="py.traceparent", bind=True)
def traceparent(self):
    """The W3C trace context the message carried, read as opentelemetry-instrumentation-celery
    reads it in task_prerun (its CeleryGetter: getattr(task.request, 'traceparent'))."""
    return getattr(self.request, "traceparent", None)


@app.task(name="py.arguments")
def arguments(*args, **kwargs):
    """What the worker received, as it received it: positional and keyword arguments alike."""
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="py.progress", bind=True)
def progress(self, total, pause):
    """Reports each step as Django's celery-progress does (update_state PROGRESS), pausing between them."""
    from celery_progress.backend import ProgressRecorder

    recorder = ProgressRecorder(self)
    for step in range(1, total + 1):
        recorder.set_progress(step, total, "step %d" % step)
        time.sleep(pause)
    return total


@signals.worker_init.connect
def worker_dies_with_the_test_process(**_):
    """A test process killed without running its exit handlers must not leave this worker behind."""
    parent = os.environ.get("INTEROP_PARENT_PID")
    if parent:
        _die_with_parent()
        if os.getppid() != int(parent):
            os._exit(1)  # the test process died before the death signal was armed


@signals.worker_process_init.connect
def pool_process_dies_with_the_worker(**_):
    if os.environ.get("INTEROP_PARENT_PID"):
        _die_with_parent()


def _die_with_parent():
    """Linux's PR_SET_PDEATHSIG: the kernel SIGKILLs this process when its parent dies.

    Chosen over a thread polling the parent, which holds up Celery's warm shutdown by seconds.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


PR_SET_PDEATHSIG = 1


@app.task(name="xl.bounce", bind=True)
def bounce(self, python_queue, nest_queue, hops):
    """Retries into the Nest worker's queue until `hops` tries happened: the count must carry over."""
    if self.request.retries >= hops:
        return {"retries": self.request.retries, "by": "python"}
    # Not 0: Celery stores RETRY only after publishing the retry, so a retry that runs (and stores
    # SUCCESS) at once elsewhere can be overwritten by this RETRY — the same race exists Python to Python.
    raise self.retry(queue=nest_queue, countdown=0.5)


# Message signing (celery.security, what celery[auth] installs), when INTEROP_SECURITY_KEY,
# INTEROP_SECURITY_CERTIFICATE and INTEROP_SECURITY_CERT_STORE are set: tasks are sent with the
# auth serializer and only signed ones are accepted. Results stay JSON (result_serializer), so
# result_accept_content must still allow JSON, or AsyncResult.get() would refuse them.
if os.environ.get("INTEROP_SECURITY_CERT_STORE"):
    app.conf.update(
        security_key=os.environ["INTEROP_SECURITY_KEY"],
        security_certificate=os.environ["INTEROP_SECURITY_CERTIFICATE"],
        security_cert_store=os.environ["INTEROP_SECURITY_CERT_STORE"],
        security_digest="sha256",
        task_serializer="auth",
        accept_content=["auth"],
        result_accept_content=["json"],
    )
    import cryptography_compat
    cryptography_compat.install()
    app.setup_security()
