import { connect as connectTcp, Socket } from 'node:net';
import { createServer, Server, TLSSocket } from 'node:tls';

/**
 * A TLS server in the test process that forwards each connection, decrypted, to a plain TCP
 * service (the shared RabbitMQ, which the tests may not reconfigure with a TLS listener). What it
 * proves: our client speaks TLS with the options given and verifies the server certificate; the
 * broker itself never sees TLS.
 */
export interface TlsTerminator {
  port: number;
  /** TLS sessions that completed the handshake. */
  readonly handshakes: number;
  close(): Promise<void>;
}

export async function startTlsTerminator(options: { key: string; cert: string; targetPort: number; targetHost?: string }): Promise<TlsTerminator> {
  let handshakes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: options.key, cert: options.cert }, (tlsSocket: TLSSocket) => {
    handshakes++;
    const upstream = connectTcp(options.targetPort, options.targetHost ?? '127.0.0.1');
    for (const socket of [tlsSocket, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        tlsSocket.destroy();
        upstream.destroy();
      });
    }
    tlsSocket.pipe(upstream).pipe(tlsSocket);
  });
  server.on('tlsClientError', () => undefined); // a client refusing our certificate is what some tests expect
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get handshakes() {
      return handshakes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
