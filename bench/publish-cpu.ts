/**
 * CPU time per published message in this process (process.cpuUsage() around the sends), for
 * scenario 1's three subjects taking turns: our send() with 1,000 in flight, sendBulk() 1,000 a
 * call, our AmqpBroker.publish() alone (no client), raw amqplib on a confirm channel. CPU time stays steady on a loaded machine where rates
 * do not. Usage: node dist/bench/publish-cpu.js [runs=5] [count=20000] [only=ours|bulk|broker|raw]
 * (with `only` and node --cpu-prof, a profile of that subject alone). With BROKER_PID (RabbitMQ's
 * beam.smp), also the broker's CPU per message, from /proc.
 */
import { NOOP_TASK, RabbitTools, noopMessage } from './support/rabbit';
import { startProducer } from './support/producer-app';
import { cleanupAll } from './support/cleanup';
import { toPublishOptions } from '../lib/broker/amqp/message-properties';
import { AmqpBroker } from '../lib/broker/amqp/amqp-broker';
import { WINDOW, timeRate } from './scenarios/publish';
import { processCpuSeconds } from './support/process-cpu';

/** CPU seconds used so far by the broker's process (BROKER_PID, e.g. RabbitMQ's beam.smp); 0 without it. */
function brokerCpuSeconds(): number {
  const pid = process.env.BROKER_PID;
  return pid ? processCpuSeconds(Number(pid)) : 0;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const count = Number(process.argv[3] ?? 20_000);
  const only = process.argv[4];
  const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const tools = await RabbitTools.open(url);
  const queue = await tools.taskQueue('publish-cpu');
  const producer = await startProducer(url, false);
  await producer.client.send(NOOP_TASK, [], { queue, ignoreResult: true });
  const sample = noopMessage(queue);
  const options = toPublishOptions(sample);
  const channel = await tools.confirmChannel();
  // Our publisher alone, without the client: the same message every time, as raw sends it.
  const broker = new AmqpBroker({ url });
  await broker.connect();
  const subjects: Record<string, () => Promise<unknown>> = {
    ours: () => timeRate(count, WINDOW, () => producer.client.send(NOOP_TASK, [], { queue }).then(() => undefined)),
    bulk: async () => {
      for (let sent = 0; sent < count; sent += WINDOW) {
        const settled = await producer.client.sendBulk(NOOP_TASK, Array.from({ length: Math.min(WINDOW, count - sent) }, () => []), { queue });
        if (settled.some((outcome) => outcome.status === 'rejected')) throw new Error('a bulk send was refused');
      }
    },
    broker: () => timeRate(count, WINDOW, () => broker.publish(sample)),
    prepared: () => timeRate(count, WINDOW, () => broker.publish(producer.client.prepare(NOOP_TASK, [], { queue }).message)),
    raw: () =>
      timeRate(count, WINDOW, () => new Promise<void>((resolve, reject) => channel.publish('', queue, sample.body, options, (error: unknown) => (error ? reject(error) : resolve())))),
  };
  const names = only ? [only] : Object.keys(subjects);
  const results: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const rates: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const brokerCpu: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const name of names) {
      await tools.purge(queue);
      const before = process.cpuUsage();
      const brokerBefore = brokerCpuSeconds();
      const startedAt = performance.now();
      await subjects[name]();
      const used = process.cpuUsage(before);
      brokerCpu[name].push(((brokerCpuSeconds() - brokerBefore) * 1e6) / count);
      rates[name].push(count / ((performance.now() - startedAt) / 1000));
      results[name].push((used.user + used.system) / count);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  for (const name of names) {
    const cpu = results[name].map((value) => value.toFixed(1)).join(', ');
    // Wall-clock rates are noise on a loaded machine; printed for a quiet one.
    const broker = process.env.BROKER_PID ? `; broker ${median(brokerCpu[name]).toFixed(1)} µs/msg (${brokerCpu[name].map((value) => value.toFixed(1)).join(', ')})` : '';
    console.log(`${name}: median ${median(results[name]).toFixed(1)} µs/msg (${cpu}); ${Math.round(median(rates[name]))} msg/s${broker}`);
  }
  await channel.close();
  await broker.close();
  await tools.purge(queue);
  await producer.close();
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
