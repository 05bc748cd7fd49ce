import { createServer } from 'node:net';

/**
 * Ports the shared RabbitMQ install uses for itself on this machine: its node's distribution port
 * (25672) and the range rabbitmqctl listens on while it runs (35672–35682). A private node must
 * never take them, or the next CLI call (ours or another engineer's) fails with eaddrinuse.
 */
const RESERVED = (port: number) => port === 25672 || (port >= 35672 && port <= 35682);

/** A TCP port on 127.0.0.1 that is free right now (the kernel picks it), avoiding RESERVED ones. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port > 0 && !RESERVED(port)) return port;
  }
}
