import { CeleryClient, TaskFailedError, defineTask } from '../../lib';
import { MathTasks } from './tasks/math.tasks';

const add = defineTask<MathTasks['add']>('tasks.add');
const xsum = defineTask<MathTasks['xsum']>('tasks.xsum');
const TIMEOUT = { timeout: 10_000 };

/**
 * The demo's environment: the in-process broker and results unless CELERY_BROKER_URL /
 * CELERY_RESULT_BACKEND name servers, so `npm run demo` needs none. (The app itself refuses to
 * start without a broker: an unset variable must not quietly mean "in-process".)
 */
export function demoEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, CELERY_BROKER_URL: env.CELERY_BROKER_URL || 'memory://', CELERY_RESULT_BACKEND: env.CELERY_RESULT_BACKEND || 'memory://' };
}

/** One demo line: what was called and what came back. */
export type DemoPrinter = (call: string, outcome: unknown) => void;

/** The demo's main job: sends the sample tasks through the worker and prints their results. */
export async function runDemo(celery: CeleryClient, print: DemoPrinter): Promise<void> {
  print('tasks.add(2, 2)', await (await celery.send(add, [2, 2])).get(TIMEOUT));
  print('tasks.mul(6, 7)', await (await celery.send('tasks.mul', [6, 7])).get(TIMEOUT));
  print('tasks.xsum([1..10])', await (await celery.send(xsum, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])).get(TIMEOUT));
  const value = { hello: 'wörld 🌍', numbers: [1, 2.5, null], nested: { ok: true } };
  print('tasks.echo(value=…)', await (await celery.send('tasks.echo', [], { kwargs: { value } })).get(TIMEOUT));
  print('tasks.sleep(0.2)', await (await celery.send('tasks.sleep', [0.2])).get(TIMEOUT));
  try {
    await (await celery.send('tasks.fail', ['on purpose'])).get(TIMEOUT);
    print('tasks.fail("on purpose")', 'unexpectedly succeeded');
  } catch (error) {
    if (!(error instanceof TaskFailedError)) throw error;
    print('tasks.fail("on purpose")', `${error.state}: ${error.excType}: ${error.excMessage.join(', ')}`);
  }
  const sent = await Promise.all(Array.from({ length: 20 }, (_, index) => celery.send(add, [index, index])));
  print('20 × tasks.add(i, i)', await Promise.all(sent.map((result) => result.get(TIMEOUT))));
}
