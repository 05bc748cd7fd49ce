import { INestApplicationContext, Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { CeleryTask } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { runPython } from '../support/python-celery';
import { deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

/** test/python/djproj: a Django 3.2 project configured as the Celery docs' "First steps with Django" show. */
const DJANGO_PROJECT = join(__dirname, '..', 'python', 'djproj');

@Injectable()
class NestTasks {
  @CeleryTask({ name: 'tasks.fail' })
  fail(message: string): never {
    throw new Error(message);
  }
}

/** Runs Python inside the Django project (django.setup(), its Celery app loaded), with the given settings. */
function inDjango(script: string, settings: Record<string, string>): Promise<string> {
  return runPython(
    `
import os, django
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djproj.settings')
django.setup()
from djproj.celery import app
${script}`,
    { env: settings, pythonPath: [DJANGO_PROJECT], timeoutMs: 60_000 },
  );
}

/**
 * Exactly the setting our users' Django projects have (kombu fills in the guest password and the
 * `/` vhost), on both sides; a RABBITMQ_URL override (another broker) is used as given instead.
 */
const BROKER_URL = process.env.RABBITMQ_URL ? RABBITMQ_URL : 'amqp://guest@localhost';

describe('a Django project beside our worker, both on amqp://guest@localhost', () => {
  const queue = uniqueName('it-django');
  let app: INestApplicationContext;

  beforeAll(async () => {
    app = await startCeleryApp({ broker: BROKER_URL, backend: 'rpc://', defaultQueue: queue }, [NestTasks]);
  });

  afterAll(async () => {
    await app?.close();
    await deleteQueues(queue);
  });

  it('gets the error of an rpc:// chain whose first step fails on our worker, instead of waiting for ever', async () => {
    // The issue's own snippet: Celery marks the chain's remaining steps FAILURE and sends that to
    // their reply_to, so .get() on the chain (its last step) raises. With a Python worker it always did.
    const output = await inDjango(
      `
import json
from celery import chain, signature
result = chain(signature('tasks.fail', ('boom',)), signature('djapp.tasks.double')).apply_async()
try:
    result.get(timeout=15)
    print(json.dumps({'raised': None}))
except Exception as error:
    print(json.dumps({'raised': type(error).__name__, 'message': str(error), 'state': result.state}))
`,
      { DJANGO_CELERY_BROKER_URL: BROKER_URL, DJANGO_CELERY_RESULT_BACKEND: 'rpc://', DJANGO_CELERY_TASK_DEFAULT_QUEUE: queue },
    );
    expect(JSON.parse(output)).toMatchObject({ raised: expect.not.stringMatching(/^(TimeoutError|None)$/), message: 'boom', state: 'FAILURE' });
  });
});
