/**
 * The baseline of the drain rows: a bare amqplib consumer in its own process that acks every
 * message (manual acks) at the same prefetch as our worker, and does nothing else.
 */
import { connect } from 'amqplib';

async function main(): Promise<void> {
  const { brokerUrl, queue, prefetch } = JSON.parse(process.env.BENCH_RAW_CONSUMER!) as { brokerUrl: string; queue: string; prefetch: number };
  const connection = await connect(brokerUrl);
  const channel = await connection.createChannel();
  await channel.prefetch(prefetch, true);
  await channel.consume(queue, (message) => message && channel.ack(message), { noAck: false });
  const close = () => void connection.close().finally(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('disconnect', close);
  process.send!({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`raw consumer failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
