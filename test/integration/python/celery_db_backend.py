"""Python Celery 5.2.6's own database backend, driven by the TypeScript integration tests.

Usage: celery_db_backend.py <db+postgresql://…> <extended: 0|1> <command> [json-argument]
Prints one JSON document on stdout. Commands:
  store-success {"task_id", "value"}     app.backend.store_result(task_id, value, SUCCESS)
  store-failure {"task_id", "message"}   store_result(task_id, ValueError(message), FAILURE)
  read {"task_id"}                        what AsyncResult(task_id) reports, and .get()'s outcome
  repickle {"task_id"}                    the result column re-pickled with protocol 5, as hex
  save-group {"group_id", "child_ids"}    GroupResult(...).save()
  restore-group {"group_id"}              GroupResult.restore(group_id) child ids
"""
import json
import pickle
import sys
import traceback

import sqlalchemy

from celery import Celery, states
from celery.result import AsyncResult, GroupResult


def main():
    url, extended, command = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
    argument = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    app = Celery("interop", backend=url, broker="memory://")
    app.conf.result_extended = extended
    backend = app.backend
    print(json.dumps(COMMANDS[command](app, backend, argument)))


def store_success(app, backend, argument):
    backend.store_result(argument["task_id"], decode_value(argument["value"]), states.SUCCESS)
    return {"stored": True}


def store_failure(app, backend, argument):
    try:
        raise ValueError(argument["message"])
    except ValueError as error:
        backend.store_result(argument["task_id"], error, states.FAILURE, traceback=traceback.format_exc())
    return {"stored": True}


def read(app, backend, argument):
    result = AsyncResult(argument["task_id"], app=app)
    meta = backend.get_task_meta(argument["task_id"])
    outcome = {"state": result.state, "result_repr": repr(result.result), "meta_keys": sorted(meta)}
    for key in ("name", "args", "kwargs", "worker", "retries", "queue"):
        if key in meta:
            outcome[key] = meta[key]
    if result.state in states.READY_STATES:
        try:
            outcome["get"] = repr(result.get(timeout=5, propagate=True))
        except Exception as error:  # the re-raised remote exception is what we compare
            outcome["raised_type"] = type(error).__module__ + "." + type(error).__qualname__
            outcome["raised_repr"] = repr(error)
    return outcome


def repickle(app, backend, argument):
    session = backend.ResultSession()
    try:
        row = session.execute(
            sqlalchemy.text("SELECT result FROM celery_taskmeta WHERE task_id = :task_id"),
            {"task_id": argument["task_id"]},
        ).fetchone()
    finally:
        session.close()
    value = pickle.loads(bytes(row[0]))
    return {"protocol5_hex": pickle.dumps(value, protocol=5).hex(), "repr": repr(value)}


def save_group(app, backend, argument):
    children = [AsyncResult(child_id, app=app) for child_id in argument["child_ids"]]
    GroupResult(argument["group_id"], children, app=app).save()
    return {"saved": True}


def restore_group(app, backend, argument):
    group = GroupResult.restore(argument["group_id"], app=app)
    return {"child_ids": None if group is None else [child.id for child in group.results]}


def decode_value(value):
    """JSON cannot say "tuple" or "big int": {"__tuple__": [...]} and {"__int__": "…"} can."""
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(decode_value(item) for item in value["__tuple__"])
        if set(value) == {"__int__"}:
            return int(value["__int__"])
        return {key: decode_value(item) for key, item in value.items()}
    return value


COMMANDS = {
    "store-success": store_success,
    "store-failure": store_failure,
    "read": read,
    "repickle": repickle,
    "save-group": save_group,
    "restore-group": restore_group,
}

if __name__ == "__main__":
    main()
