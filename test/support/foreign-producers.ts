/**
 * The example producers in other languages (examples/php, examples/java), run as child processes
 * exactly as a user runs them. A missing interpreter, compiler or library fails the test with the
 * Debian package to install; nothing is ever skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EXAMPLES_DIR = join(__dirname, '..', '..', 'examples');
export const PHP_EXAMPLE = join(EXAMPLES_DIR, 'php', 'send_task.php');
export const JAVA_EXAMPLE = join(EXAMPLES_DIR, 'java', 'SendTask.java');

/** Where Debian's php-amqplib puts its autoloader (the one send_task.php falls back to). */
const PHP_AMQPLIB_AUTOLOAD = '/usr/share/php/PhpAmqpLib/autoload.php';
/** Debian's RabbitMQ Java client, and the SLF4J it logs through (nop binding: no warning on stderr). */
const JAVA_CLASSPATH = ['/usr/share/java/amqp-client.jar', '/usr/share/java/slf4j-api.jar', '/usr/share/java/slf4j-nop.jar'];

export interface ProgramRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** How to run one producer: the command and the arguments that come before the program's own. */
export interface ForeignProducer {
  command: string;
  leadingArgs: string[];
  /** Removes what preparing it created (the compiled classes). */
  dispose(): Promise<void>;
}

/** Runs a program to its end, whatever its exit status; rejects only if it cannot be started or runs past `timeoutMs`. */
export function runProgram(command: string, args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      if (error && (exitCode === null || error.killed)) reject(new Error(`${command} could not run: ${error.message}\n${stderr}`));
      else resolve({ exitCode, stdout, stderr });
    });
  });
}

/** examples/php/send_task.php under php-cli, after checking php and php-amqplib are there. */
export async function preparePhpProducer(): Promise<ForeignProducer> {
  await requireCommand('php', ['--version'], 'php-cli');
  if (!existsSync(PHP_AMQPLIB_AUTOLOAD)) throw missing(`php-amqplib (${PHP_AMQPLIB_AUTOLOAD})`, 'php-amqplib');
  return { command: 'php', leadingArgs: [PHP_EXAMPLE], dispose: async () => undefined };
}

/** examples/java/SendTask.java compiled with javac into a temporary directory, run with java. */
export async function prepareJavaProducer(): Promise<ForeignProducer> {
  await requireCommand('javac', ['-version'], 'default-jdk');
  await requireCommand('java', ['-version'], 'default-jdk');
  for (const jar of JAVA_CLASSPATH) {
    if (!existsSync(jar)) throw missing(`the jar ${jar}`, 'librabbitmq-client-java');
  }
  const classes = await mkdtemp(join(tmpdir(), 'celery-java-example-'));
  const classpath = [...JAVA_CLASSPATH, classes].join(':');
  const compiled = await runProgram('javac', ['-cp', classpath, '-d', classes, JAVA_EXAMPLE], {}, 60_000);
  if (compiled.exitCode !== 0) {
    await rm(classes, { recursive: true, force: true });
    throw new Error(`javac could not compile ${JAVA_EXAMPLE}:\n${compiled.stderr}`);
  }
  return {
    command: 'java',
    leadingArgs: ['-cp', classpath, 'SendTask'],
    dispose: () => rm(classes, { recursive: true, force: true }),
  };
}

async function requireCommand(command: string, versionArgs: string[], debianPackage: string): Promise<void> {
  try {
    await runProgram(command, versionArgs, {}, 15_000);
  } catch {
    throw missing(`\`${command}\``, debianPackage);
  }
}

function missing(what: string, debianPackage: string): Error {
  return new Error(`${what} is missing; these tests need it. Install it with: apt-get install -y ${debianPackage}`);
}
