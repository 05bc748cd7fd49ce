import { MemoryVirtualHost } from './memory-virtual-host';

const virtualHosts = new Map<string, MemoryVirtualHost>();

/**
 * The process-wide state behind a memory:// URL: brokers created from the same URL see the same
 * queues, so an embedded client and worker meet, as with kombu's memory transport.
 */
export function sharedMemoryVirtualHost(url: string): MemoryVirtualHost {
  const key = url.toLowerCase().replace(/\/+$/, '');
  let virtualHost = virtualHosts.get(key);
  if (!virtualHost) {
    virtualHost = new MemoryVirtualHost();
    virtualHosts.set(key, virtualHost);
  }
  return virtualHost;
}
