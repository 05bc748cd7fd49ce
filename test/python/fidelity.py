"""Python's half of the data-fidelity tests (test/integration/data-fidelity.spec.ts).

Python sends generated values to our worker's `tasks.echo` and checks that what comes back is
what it sent, by Python's own notion of equality made strict: types must match (True is not 1,
a list is not a dict) except int and float, which compare by value because JavaScript has one
number type: a float 1.0 reaches our worker as the number 1 and comes back as the int 1.
Dict key order is not compared: JavaScript objects put integer-like keys first.
"""
import json
import time

from celery.exceptions import TimeoutError

from interop_tasks import echo

FLOAT_TAG = "__float__"


def python_value(node):
    """The value a test describes in JSON: {"__float__": "1.0"} is a float (JSON from JS cannot say 1.0)."""
    if isinstance(node, list):
        return [python_value(item) for item in node]
    if isinstance(node, dict):
        if set(node) == {FLOAT_TAG}:
            return float(node[FLOAT_TAG])
        return {key: python_value(item) for key, item in node.items()}
    return node


def difference(sent, received, path="$"):
    """The path of the first place `received` differs from `sent`, or None."""
    if isinstance(sent, bool) or isinstance(received, bool):
        same = type(sent) is type(received) and sent == received
    elif isinstance(sent, (int, float)) and isinstance(received, (int, float)):
        same = sent == received
    elif type(sent) is not type(received):
        same = False
    elif isinstance(sent, list):
        if len(sent) != len(received):
            return path
        for index, (left, right) in enumerate(zip(sent, received)):
            found = difference(left, right, "%s[%d]" % (path, index))
            if found:
                return found
        return None
    elif isinstance(sent, dict):
        if set(sent) != set(received):
            return path + " (keys)"
        for key in sent:
            found = difference(sent[key], received[key], "%s[%r]" % (path, key))
            if found:
                return found
        return None
    else:
        same = sent == received
    return None if same else path


def echo_batches(path, timeout=10):
    """Sends each batch in the JSON file at `path` to tasks.echo (as args, then as kwargs in turn)
    and returns the mismatches: [{"batch", "path", "sent", "received"}], empty when all came back.
    A result still missing `timeout` seconds after sending is a mismatch too, not a crash."""
    with open(path, encoding="utf-8") as file:
        batches = [python_value(batch) for batch in json.load(file)]
    results = [
        echo.apply_async((batch,)) if index % 2 == 0 else echo.apply_async(kwargs={"value": batch})
        for index, batch in enumerate(batches)
    ]
    deadline = time.monotonic() + timeout
    mismatches = []
    for index, (batch, result) in enumerate(zip(batches, results)):
        try:
            received = result.get(timeout=max(deadline - time.monotonic(), 0.5))
        except TimeoutError:
            mismatches.append({"batch": index, "path": "$", "sent": ascii(batch), "received": "nothing: still %s" % result.state})
            continue
        found = difference(batch, received)
        if found:
            mismatches.append({"batch": index, "path": found, "sent": ascii(batch), "received": ascii(received)})
    return mismatches
