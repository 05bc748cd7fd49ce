import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Which Python Celery the interop tests run against: the one place that decides it.
 *
 * Without a switch, Debian's Celery 5.2.6 (python3-celery). With `CELERY_PEER=5.6`, the Celery 5.6
 * release extracted at `CELERY_PEER_PATH` (default /tmp/celery-5.6, made by
 * ../shared/peers/install-celery-latest.sh), put first on PYTHONPATH of every Python process a test
 * starts: workers, clients, the `celery` command line, Django. Every spawn takes its environment
 * from {@link pythonEnvironment}, so none can run the other version by accident.
 */
export interface CeleryPeer {
  /** `5.6` when switched, else `debian`. */
  readonly switch: '5.6' | 'debian';
  /** The directory put first on PYTHONPATH, or undefined for Debian's own. */
  readonly path: string | undefined;
  /** `celery.__version__` as the interpreter loads it, e.g. `5.6.3`. */
  readonly version: string;
  /** `Python Celery 5.6.3`, for describe titles and logs: a test names the version it ran against. */
  readonly name: string;
}

/** Debian's interpreter: the one that has python3-celery (the default `python3` may not). */
export const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

const DEFAULT_PEER_PATH = '/tmp/celery-5.6';
const INSTALL_HINT = 'extract it with ../shared/peers/install-celery-latest.sh (and apt-get install -y python3-tzlocal)';

export const CELERY_PEER: CeleryPeer = resolvePeer();

/** Whether the peer is this Celery version or later, e.g. `peerIsAtLeast('5.5')`, for what changed on the wire. */
export function peerIsAtLeast(version: string): boolean {
  const [major, minor] = CELERY_PEER.version.split('.').map(Number);
  const [wantedMajor, wantedMinor] = version.split('.').map(Number);
  return major > wantedMajor || (major === wantedMajor && minor >= wantedMinor);
}

/** The layout of signed messages the peer reads (Celery 5.5 changed it, celery#9010). */
export function peerSignatureFormat(): '5.4' | '5.5' {
  return peerIsAtLeast('5.5') ? '5.5' : '5.4';
}

/**
 * The environment for a Python process of a test: the caller's variables, with PYTHONPATH made of
 * the peer's directory first, then `pythonPath` (test/python, a Django project), then whatever
 * PYTHONPATH this process inherited.
 */
export function pythonEnvironment(variables: Record<string, string | undefined> = {}, pythonPath: string[] = []): NodeJS.ProcessEnv {
  // A PYTHONPATH among the variables is kept too, after the peer: the peer always comes first.
  const path = [CELERY_PEER.path, ...pythonPath, variables.PYTHONPATH, process.env.PYTHONPATH].filter(Boolean).join(delimiter);
  return { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...variables, ...(path ? { PYTHONPATH: path } : {}) };
}

function resolvePeer(): CeleryPeer {
  const requested = process.env.CELERY_PEER;
  if (requested !== undefined && requested !== '' && requested !== '5.6' && requested !== 'debian') {
    throw new Error(`CELERY_PEER=${requested} is not a Celery peer the tests know: use CELERY_PEER=5.6 (the release at CELERY_PEER_PATH) or leave it unset for Debian's 5.2.6.`);
  }
  if (requested !== '5.6') {
    const version = loadedVersion(undefined) ?? '(not installed)';
    return { switch: 'debian', path: undefined, version, name: `Python Celery ${version}` };
  }
  const path = process.env.CELERY_PEER_PATH || DEFAULT_PEER_PATH;
  // The switch asks for 5.6: running 5.2.6 instead would pass and prove nothing, so it fails here.
  if (!existsSync(join(path, 'celery', '__init__.py'))) throw new Error(`CELERY_PEER=5.6 but there is no Celery at ${path}: ${INSTALL_HINT}.`);
  const version = loadedVersion(path);
  if (!version?.startsWith('5.6.')) throw new Error(`CELERY_PEER=5.6 but ${PYTHON} loads Celery ${version ?? '(none: it failed to import)'} from ${path}: ${INSTALL_HINT}.`);
  return { switch: '5.6', path, version, name: `Python Celery ${version}` };
}

/** `celery.__version__` as PYTHON loads it with `path` first on PYTHONPATH, or undefined when it cannot import Celery. */
function loadedVersion(path: string | undefined): string | undefined {
  try {
    const env = { ...process.env, PYTHONPATH: [path, process.env.PYTHONPATH].filter(Boolean).join(delimiter) };
    return execFileSync(PYTHON, ['-c', 'import celery; print(celery.__version__)'], { env, encoding: 'utf8', timeout: 30_000 }).trim();
  } catch {
    return undefined;
  }
}
