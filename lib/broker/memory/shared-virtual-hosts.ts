import { MemoryVirtualHost } from './memory-virtual-host';

const virtualHosts = new Map<string, MemoryVirtualHost>();

/**
 * The process-wide state behind a memory:// URL: brokers created from the same URL see the same
 * queues, so an embedded client and worker meet, as with kombu's memory transport.
 */
export function sharedMemoryVirtualHost(url: string): MemoryVirtualHost {
  const key = virtualHostKey(url);
  let virtualHost = virtualHosts.get(key);
  if (!virtualHost) {
    virtualHost = new MemoryVirtualHost();
    virtualHosts.set(key, virtualHost);
  }
  return virtualHost;
}

/**
 * Forgets what a memory:// URL holds in this process (its queues and their messages): for an
 * owner that made the URL its own, once closed (a testing module), so the process does not keep
 * every such state for ever. Brokers still open on it keep theirs.
 */
export function forgetMemoryVirtualHost(url: string): void {
  virtualHosts.delete(virtualHostKey(url));
}

function virtualHostKey(url: string): string {
  return url.toLowerCase().replace(/\/+$/, '');
}
