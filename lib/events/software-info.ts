import { readFileSync } from 'node:fs';
import { type as osType } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Celery's `SOFTWARE_INFO`, sent with every worker event and shown by Flower: who runs the
 * worker. Celery sends `py-celery`; receivers (`celery.events.state`, Flower) accept any name.
 */
export const SOFTWARE_INFO: Readonly<{ sw_ident: string; sw_ver: string; sw_sys: string }> = Object.freeze({
  sw_ident: 'nestjs-celery',
  sw_ver: packageVersion(),
  sw_sys: systemName(),
});

/** Python's `platform.system()`: `Linux`, `Darwin`, `Windows`. */
function systemName(): string {
  const name = osType();
  return name === 'Windows_NT' ? 'Windows' : name;
}

/** Our package.json's version, found upwards from here (lib/events in the sources, dist/lib/events once built). */
function packageVersion(): string {
  let directory = __dirname;
  for (let level = 0; level < 5; level++) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'nestjs-celery' && manifest.version) return manifest.version;
    } catch {
      // No package.json at this level: look further up.
    }
    directory = dirname(directory);
  }
  return 'unknown';
}
