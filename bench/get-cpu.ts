/**
 * CPU time per round trip in the client process (process.cpuUsage() around the trips): send() and
 * get() with `window` of them in flight, against our worker in its own process, on the rpc://,
 * PostgreSQL or Redis result backend. Every trip adds and deletes a waiter by task id, the churn
 * that chained a Map's obsolete tables into old space (lib/utils/keyed-table.ts); run it with a
 * heap sampler through `node --require` to see what it promotes. Usage:
 * node dist/bench/get-cpu.js [runs=3] [count=10000] [backend=rpc|postgres|redis://…/db] [window=200]
 */
import { loadConfig } from './config';
import { NOOP_TASK, RabbitTools } from './support/rabbit';
import { startProducer } from './support/producer-app';
import { startNodeWorker } from './support/processes';
import { createDatabase } from './support/postgres';
import { cleanupAll } from './support/cleanup';
import { timeRate } from './scenarios/publish';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const count = Number(process.argv[3] ?? 10_000);
  const backend = process.argv[4] ?? 'rpc';
  const window = Number(process.argv[5] ?? 200);
  const config = loadConfig();
  const tools = await RabbitTools.open(config.rabbitmqUrl);
  const queue = await tools.taskQueue(`get-cpu-${backend.replace(/\W+/g, '-')}`);
  const url = backend === 'rpc' ? 'rpc://' : backend.startsWith('redis') ? backend : (await createDatabase(config.postgresUrl, 'get_cpu')).url;
  const worker = await startNodeWorker(config, { queue, backend: url, ignoreResult: false });
  const producer = await startProducer(config.rabbitmqUrl, url);
  const trip = async () => {
    const result = await producer.client.send(NOOP_TASK, [], { queue });
    await result.get({ timeout: 60_000 });
  };
  await timeRate(window, window, trip); // warm-up: connections, the result table, JIT
  const perTrip: number[] = [];
  for (let run = 0; run < runs; run++) {
    const before = process.cpuUsage();
    await timeRate(count, window, trip);
    const used = process.cpuUsage(before);
    perTrip.push((used.user + used.system) / count);
  }
  const median = [...perTrip].sort((a, b) => a - b)[Math.floor(perTrip.length / 2)];
  console.log(`get ${backend}: median ${median.toFixed(1)} µs/trip (${perTrip.map((value) => value.toFixed(1)).join(', ')})`);
  await producer.close();
  await worker.stop();
  await tools.purge(queue);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
