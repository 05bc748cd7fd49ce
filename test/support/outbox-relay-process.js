// A process that only relays the transactional outbox, built from dist/ (test/support/global-setup.js
// builds it), so a test can SIGKILL it mid-way. Settings from the environment:
//   CELERY_BROKER_URL, OUTBOX_DATABASE_URL, CELERY_DEFAULT_QUEUE, OUTBOX_BATCH_SIZE.
// Plain JavaScript because the test build (dist/) holds only lib/ and sample-app/.
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { CeleryModule } = require('../../dist/lib');

class RelayModule {}
Module({
  imports: [
    CeleryModule.forRoot({
      broker: process.env.CELERY_BROKER_URL,
      backend: false,
      defaultQueue: process.env.CELERY_DEFAULT_QUEUE,
      worker: false,
      outbox: { url: process.env.OUTBOX_DATABASE_URL, batchSize: Number(process.env.OUTBOX_BATCH_SIZE ?? 100) },
    }),
  ],
})(RelayModule);

async function main() {
  const app = await NestFactory.createApplicationContext(RelayModule, { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  console.log('outbox relay started');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
