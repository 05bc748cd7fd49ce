import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP forwarder in front of a real server that a test can take down and bring back, to see
 * how a client lives through a restart without touching the shared server itself. Not a mock:
 * every byte goes to the real server.
 */
export class TcpFaultProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Each client socket and the connection to the server it is forwarded to. */
  private readonly upstreams = new Map<Socket, Socket>();
  private listenPort = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** The local port; stable across stop()/start(). */
  get port(): number {
    return this.listenPort;
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    this.listenPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Drops every open connection and refuses new ones, as a stopped server would. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Stops forwarding what the clients of the open connections send, while the server's side still
   * reaches them: whatever a client writes from now on (an ack, a heartbeat) is lost, as on a link
   * that died in one direction. Closing the client still closes its server connection.
   */
  holdClientBytes(): void {
    for (const [client, upstream] of this.upstreams) {
      client.unpipe(upstream);
      // Still read (and drop) so that the client's close is seen and closes the server side too.
      client.on('data', () => undefined);
      client.resume(); // unpipe() left it paused
    }
  }

  private forward(client: Socket): void {
    const upstream = createConnection(this.targetPort, this.targetHost);
    this.upstreams.set(client, upstream);
    client.on('close', () => this.upstreams.delete(client));
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined); // the other side is destroyed below
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
