import { PublishError } from './publish.error';

/**
 * The broker did not confirm a message within the publish timeout, usually because it is
 * unreachable or blocked (resource alarm). Like kombu's publish `retry_policy` running out. A
 * subclass of PublishError, so callers that catch publish failures catch this one too.
 */
/** Why a reachable broker may still not confirm in time. */
const BLOCKED_BECAUSE = {
  RabbitMQ: 'blocked by a resource alarm (memory or disk)',
  Redis: 'busy or blocked (a long-running command, a full memory)',
  SQS: 'throttling us or slow to answer',
} as const;

export class PublishTimeoutError extends PublishError {
  constructor(
    /** The broker address, already masked. */
    brokerDescription: string,
    readonly timeoutMs: number,
    exchange: string,
    routingKey: string,
    /** Why we are not connected, if we are not (already masked); undefined when connected. */
    connectionProblem: string | undefined,
    broker: 'RabbitMQ' | 'Redis' | 'SQS' = 'RabbitMQ',
  ) {
    const blocked = BLOCKED_BECAUSE[broker];
    const state = connectionProblem ? ` We are not connected: ${connectionProblem}.` : ` We are connected, so the broker may be ${blocked}.`;
    super(
      `${broker} at ${brokerDescription} did not confirm the message to exchange "${exchange}" ` +
        `(routing key "${routingKey}") within ${timeoutMs} ms; is it running and reachable?${state} ` +
        `The message may or may not have been stored. Check the broker, or raise publishTimeoutMs.`,
      exchange,
      routingKey,
    );
  }
}
