import type { ExchangeType } from '../../broker/broker.interface';
import type { CeleryQueueOptions } from '../../broker/celery-queue';
import { ControlArguments, ControlCommand, nok, ok, requireArguments } from '../control-command';

const EXCHANGE_TYPES: readonly string[] = ['direct', 'topic', 'fanout', 'headers'] satisfies ExchangeType[];

/**
 * Celery's queue commands (`celery control add_consumer|cancel_consumer`,
 * `app.control.add_consumer()`, Flower's queue buttons), with the arguments and replies of
 * Celery 5.2.6 (celery/worker/control.py): `{'ok': 'add consumer <queue>'}` also when the queue
 * was consumed already, `{'ok': 'no longer consuming from <queue>'}` also when it was not. Celery
 * replies first and changes its consumer afterwards; these reply once it is done, so a task sent
 * after the reply is consumed, and a declaration the broker refuses is replied as an error.
 */
export const CONSUMER_COMMANDS: Record<string, ControlCommand> = {
  add_consumer: async ({ worker }, args) => {
    requireArguments('add_consumer', args, ['queue']);
    const queue = String(args.queue);
    const requested = requestedQueue(args);
    if (typeof requested === 'string') return nok(`add_consumer of "${queue}" is not supported here: ${requested}`);
    await worker.addConsumer(queue, requested);
    return ok(`add consumer ${queue}`);
  },

  cancel_consumer: async ({ worker }, args) => {
    requireArguments('cancel_consumer', args, ['queue']);
    const queue = String(args.queue);
    await worker.cancelConsumer(queue);
    return ok(`no longer consuming from ${queue}`);
  },
};

/**
 * The declaration an add_consumer request asks for a queue the app does not know, read as Celery
 * reads it (`Consumer.add_task_queue` → `Queues.select_add` → kombu `Queue.from_dict`): exchange
 * named like the queue unless given, type `direct` unless given, binding key `binding_key` or
 * `routing_key` or the queue name, and the queue's own flags and arguments; other keys are ignored
 * as `from_dict` ignores them. An empty exchange name counts as none given (Celery would take the
 * default queue's exchange). Returns why when it asks for an exchange this module cannot declare.
 */
function requestedQueue(args: ControlArguments): CeleryQueueOptions | string {
  const exchangeType = given(args.exchange_type);
  if (exchangeType !== undefined && !EXCHANGE_TYPES.includes(String(exchangeType))) {
    return `exchange_type ${JSON.stringify(exchangeType)} is not one of ${EXCHANGE_TYPES.join(', ')}`;
  }
  // kombu's `durable` and `auto_delete` set the exchange's flags too; ours is always durable, never auto-deleted.
  const exchangeDurable = given(args.exchange_durable) ?? given(args.durable);
  const exchangeAutoDelete = given(args.exchange_auto_delete) ?? given(args.auto_delete);
  if ((exchangeDurable !== undefined && !exchangeDurable) || exchangeAutoDelete) {
    return 'only durable, not auto-deleted exchanges are declared (as Celery declares task exchanges by default); configure the queue in the `queues` option instead';
  }
  const exchange = given(args.exchange);
  const routingKey = given(args.binding_key) || given(args.routing_key);
  const durable = given(args.queue_durable) ?? given(args.durable);
  const autoDelete = given(args.queue_auto_delete) ?? given(args.auto_delete);
  const exclusive = given(args.exclusive);
  const queueArguments = given(args.queue_arguments);
  return {
    ...(exchange ? { exchange: String(exchange) } : {}),
    ...(exchangeType !== undefined ? { exchangeType: String(exchangeType) as ExchangeType } : {}),
    ...(routingKey ? { routingKey: String(routingKey) } : {}),
    ...(durable !== undefined ? { durable: Boolean(durable) } : {}),
    ...(autoDelete !== undefined ? { autoDelete: Boolean(autoDelete) } : {}),
    ...(exclusive !== undefined ? { exclusive: Boolean(exclusive) } : {}),
    ...(queueArguments && typeof queueArguments === 'object' ? { arguments: queueArguments as Record<string, unknown> } : {}),
  };
}

/** Python's None (null) and a missing key both mean "not given". */
function given(value: unknown): unknown {
  return value === null ? undefined : value;
}
