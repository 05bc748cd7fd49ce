import { CeleryError } from './celery.error';

/**
 * RabbitMQ refused to declare a queue, its exchange or its binding, most often PRECONDITION_FAILED
 * because the queue already exists with other flags or arguments. Celery surfaces the same case as
 * `amqp.exceptions.PreconditionFailed` at worker start-up. Also used for a lone exchange
 * declaration and an exchange-to-exchange binding (`entity` tells which).
 */
export class QueueDeclarationError extends CeleryError {
  constructor(
    /** What was being declared: a queue (with its exchange and binding), an exchange on its own, or an exchange-to-exchange binding. */
    readonly entity: 'queue' | 'exchange' | 'exchange binding',
    /** Its name (not `name`, which is the error class name). */
    readonly entityName: string,
    /** What we asked for, as shown in the message. */
    readonly requested: string,
    /** RabbitMQ's reply text, for example "PRECONDITION_FAILED - inequivalent arg 'x-max-priority' …". */
    readonly brokerReason: string,
    /** The AMQP reply code: 406 precondition failed, 405 resource locked, 403 access refused. */
    readonly replyCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(QueueDeclarationError.describe(entity, entityName, requested, brokerReason, replyCode), options);
  }

  private static describe(
    entity: 'queue' | 'exchange' | 'exchange binding',
    name: string,
    requested: string,
    brokerReason: string,
    replyCode: number | undefined,
  ): string {
    const base = `Could not declare ${entity} "${name}" as ${requested}: ${brokerReason}.`;
    switch (replyCode) {
      case 406:
        return (
          `${base} It already exists on the broker with different flags or arguments. ` +
          `Every participant (Python Celery workers and clients too) must declare it with exactly the same ` +
          `durable/exclusive/auto_delete flags and arguments (x-max-priority, x-queue-type, …) and the same exchange type; ` +
          `align the configuration everywhere, or delete it so it is declared anew.`
        );
      case 405:
        return `${base} The queue is exclusive to another connection; use another name or stop the other consumer.`;
      case 404:
        return `${base} Something it refers to does not exist on the broker; declare it first.`;
      case 403:
        return `${base} The user may not declare it (or the name is reserved, like "amq.*"); check the user's permissions and the name.`;
      default:
        return `${base} Compare the declaration with what exists on the broker (rabbitmqctl list_queues name durable auto_delete exclusive arguments).`;
    }
  }
}
