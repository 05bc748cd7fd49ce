import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The page's files: name → content type. Nothing else is served, so no path from a request reaches the file system. */
const ASSETS: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'chart.umd.js': 'text/javascript; charset=utf-8',
};

/**
 * The static page (plain HTML, CSS and JavaScript, no build step), read once. They live in
 * `lib/dashboard/static`; the package ships them beside its compiled code (`dist/lib/dashboard/static`)
 * with Chart.js's UMD build, copied there at build time (scripts/build-package.js), so apps need no
 * chart.js package. In a checkout of this repository, Chart.js comes from its dev dependency.
 */
export class DashboardAssets {
  private readonly cache = new Map<string, string>();
  private readonly directory = findStaticDirectory();

  /** The page, with the mount path in place so its requests go to this dashboard's API. */
  page(basePath: string): string {
    return this.read('index.html').replace(/__BASE__/g, `/${basePath}`);
  }

  /** An asset and its content type, or undefined for a name that is not one. */
  asset(name: string): { body: string; contentType: string } | undefined {
    const contentType = ASSETS[name];
    if (!contentType) return undefined;
    return { body: this.read(name), contentType };
  }

  private read(name: string): string {
    let body = this.cache.get(name);
    if (body === undefined) {
      const file = name === 'chart.umd.js' ? chartFile(this.directory) : join(this.directory, name);
      body = readFileSync(file, 'utf8');
      this.cache.set(name, body);
    }
    return body;
  }
}

function findStaticDirectory(): string {
  const candidates = [join(__dirname, 'static'), join(__dirname, '..', '..', '..', 'lib', 'dashboard', 'static')];
  const found = candidates.find((candidate) => existsSync(join(candidate, 'index.html')));
  if (!found) throw new Error(`The dashboard's page was not found (looked in ${candidates.join(', ')}). Reinstall the package: lib/dashboard/static must be shipped with it.`);
  return found;
}

/** Chart.js's UMD build: shipped in the package beside the page; in a checkout, from the chart.js dev dependency. */
function chartFile(staticDirectory: string): string {
  const shipped = join(staticDirectory, 'chart.umd.js');
  return existsSync(shipped) ? shipped : join(dirname(require.resolve('chart.js')), 'chart.umd.js');
}
