import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * What importing each entry point loads, measured on the build (dist/, made by the global setup)
 * in a process of its own: `require()` it, then read `require.cache`. The root loads no optional
 * package (nor the code that needs one); those load when their part is configured.
 */
const ROOT = join(__dirname, '..', '..');
const OPTIONAL = ['typeorm', 'pg', 'ioredis', 'prom-client', '@electric-sql/pglite', 'typeorm-pglite', 'chart.js'];

/** The packages (from node_modules) and our own files (relative to dist/lib) a fresh process loaded by requiring `entry`. */
function loadedBy(entry: string): { packages: string[]; ownFiles: string[] } {
  const script = `
    require(${JSON.stringify(join(ROOT, 'dist', 'lib', entry))});
    process.stdout.write(JSON.stringify(Object.keys(require.cache)));
  `;
  const files = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
  const packages = new Set<string>();
  for (const file of files) {
    const at = file.lastIndexOf('/node_modules/');
    if (at < 0) continue;
    const [scope, name] = file.slice(at + '/node_modules/'.length).split('/');
    packages.add(scope.startsWith('@') ? `${scope}/${name}` : scope);
  }
  const lib = join(ROOT, 'dist', 'lib') + '/';
  return { packages: [...packages].sort(), ownFiles: files.filter((file) => file.startsWith(lib)).map((file) => file.slice(lib.length)) };
}

describe('entry points', () => {
  it('the root loads no optional package, and none of the code that needs one', () => {
    const { packages, ownFiles } = loadedBy('index.js');
    // (@nestjs/microservices may show up: @nestjs/core loads it when it is installed, as in this repository.)
    expect(packages.filter((name) => OPTIONAL.includes(name))).toEqual([]);
    // Nor the code behind the other entry points, or the entities and migration classes (TypeORM decorators).
    expect(ownFiles.filter((file) => /^(typeorm|microservice|dashboard|advanced|testing)\/|^backend\/database\/(entities\/|migrations\/\d)/.test(file))).toEqual([]);
  });

  it('nestjs-celery/advanced and nestjs-celery/dashboard load no optional package either', () => {
    for (const entry of ['advanced/index.js', 'dashboard/index.js']) {
      expect({ entry, optional: loadedBy(entry).packages.filter((name) => OPTIONAL.includes(name)) }).toEqual({ entry, optional: [] });
    }
  });

  it('nestjs-celery/typeorm loads TypeORM (its entities need it), and nothing else optional', () => {
    expect(loadedBy('typeorm/index.js').packages.filter((name) => OPTIONAL.includes(name))).toEqual(['typeorm']);
  });
});
