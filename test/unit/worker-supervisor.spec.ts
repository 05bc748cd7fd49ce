import { join } from 'node:path';

// bin/ is plain JavaScript run as is by node; loaded here without types.
const { childHostname } = require(join(__dirname, '..', '..', 'bin', 'worker-supervisor.js')) as { childHostname: (hostname: string | undefined, index: number) => string };

describe('worker supervisor node names', () => {
  it('appends -<i> to the name part of -n, so each process is a node of its own', () => {
    expect(childHostname('worker1@%h', 2)).toBe('worker1-2@%h');
    expect(childHostname('api@box.example.com', 1)).toBe('api-1@box.example.com');
  });

  it("uses Celery's default name when -n is missing or names only the host", () => {
    expect(childHostname(undefined, 1)).toBe('celery-1@%h');
    expect(childHostname('box', 3)).toBe('celery-3@box');
  });
});
