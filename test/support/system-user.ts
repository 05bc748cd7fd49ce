import { readFileSync } from 'node:fs';

/** uid and gid of a local system user (e.g. the rabbitmq or postgres package's own), from /etc/passwd. */
export function lookupUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line) throw new Error(`There is no "${name}" user on this machine: is its package installed?`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
