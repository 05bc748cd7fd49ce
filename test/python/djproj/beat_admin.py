"""What a Django admin does to periodic tasks, through django-celery-beat 2.4.0's models (the ORM
the admin site uses). One JSON command on argv[1]; prints a JSON answer.

  {"op": "migrate", "fake": bool}
  {"op": "create", "name", "task", "schedule": {"interval": [every, period]} | {"crontab": {...}} |
       {"clocked_in_seconds": n}, "args", "kwargs", "queue", "exchange", "routing_key", "priority",
       "headers", "one_off"}
  {"op": "update", "name", "fields": {...}}          # PeriodicTask.save(): signals fire as in the admin
  {"op": "stale-update", "name", "fields": {...}}    # the same, saved only once a beat recorded a run after the read
  {"op": "read"}                                     # every PeriodicTask: name, enabled, last_run_at, total_run_count
"""
import json
import os
import sys
import time
from datetime import timedelta

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djproj.beat_settings')
import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_celery_beat.models import (ClockedSchedule, CrontabSchedule,  # noqa: E402
                                       IntervalSchedule, PeriodicTask)

command = json.loads(sys.argv[1])
op = command['op']
if op == 'migrate':
    call_command('migrate', 'django_celery_beat', fake=command.get('fake', False), verbosity=0)
    print(json.dumps({'ok': True}))
elif op == 'create':
    schedule = command['schedule']
    fields = {}
    if 'interval' in schedule:
        every, period = schedule['interval']
        fields['interval'], _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    elif 'crontab' in schedule:
        fields['crontab'], _ = CrontabSchedule.objects.get_or_create(**schedule['crontab'])
    else:
        fields['clocked'] = ClockedSchedule.objects.create(clocked_time=timezone.now() + timedelta(seconds=schedule['clocked_in_seconds']))
    task = PeriodicTask.objects.create(
        name=command['name'], task=command['task'], args=json.dumps(command.get('args', [])),
        kwargs=json.dumps(command.get('kwargs', {})), queue=command.get('queue'), exchange=command.get('exchange'),
        routing_key=command.get('routing_key'), priority=command.get('priority'),
        headers=json.dumps(command.get('headers', {})), one_off=command.get('one_off', False), **fields)
    print(json.dumps({'id': task.id}))
elif op == 'update':
    task = PeriodicTask.objects.get(name=command['name'])
    for key, value in command['fields'].items():
        setattr(task, key, json.dumps(value) if key in ('args', 'kwargs', 'headers') else value)
    task.save()
    print(json.dumps({'ok': True}))
elif op == 'stale-update':
    # An admin's form open while the beat fires: the save carries the run columns read before.
    task = PeriodicTask.objects.get(name=command['name'])
    read = task.total_run_count
    deadline = time.monotonic() + 10
    while PeriodicTask.objects.filter(pk=task.pk, total_run_count=read).exists():
        if time.monotonic() > deadline:
            sys.exit('no run was recorded within 10 s of the read')
        time.sleep(0.02)
    recorded = PeriodicTask.objects.get(pk=task.pk)
    for key, value in command['fields'].items():
        setattr(task, key, json.dumps(value) if key in ('args', 'kwargs', 'headers') else value)
    task.save()
    print(json.dumps({'read': read, 'recorded': recorded.total_run_count,
                      'recorded_last_run_at': recorded.last_run_at.isoformat()}))
elif op == 'read':
    print(json.dumps([
        {'name': t.name, 'enabled': t.enabled, 'total_run_count': t.total_run_count,
         'last_run_at': t.last_run_at.isoformat() if t.last_run_at else None}
        for t in PeriodicTask.objects.order_by('name')
    ]))
