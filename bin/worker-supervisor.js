'use strict';
/*
 * The multi-process mode of nestjs-celery-worker (`--processes N`): the counterpart of Celery's
 * prefork pool, where one parent keeps N worker processes alive. Here every child is a complete
 * worker (its own Nest application context with full DI, its own broker connection and its own
 * node name for remote control), because our worker's concurrency lives in the event loop: more
 * processes buy more cores, not more slots.
 *
 * node:cluster is not used: it exists to share a listening socket, which a worker has none of,
 * and child_process.fork gives the same IPC channel with explicit per-child environments.
 */
const { fork } = require('node:child_process');

/** First restart delay after a child died; doubles per quick death, up to RESTART_MAX_MS. */
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A child that ran this long before dying starts the backoff over: it was healthy. */
const STABLE_AFTER_MS = 30_000;

/**
 * The environment variable that tells a forked CLI it is child <index> and carries its parsed
 * command, its own node name in it; the child reads and removes it before loading the module.
 */
const CHILD_ENVIRONMENT = 'NESTJS_CELERY_WORKER_CHILD';

/** Copies `stream` to `output` line by line, each line prefixed, so the children's logs are told apart. */
function prefixLines(stream, output, prefix) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    if (lines.length > 0) output.write(lines.map((line) => `${prefix}${line}\n`).join(''));
  });
  stream.on('end', () => {
    if (pending) output.write(`${prefix}${pending}\n`);
    pending = '';
  });
}

/**
 * Runs `command` (the parsed CLI command) in `count` child processes and keeps them alive until a
 * SIGTERM/SIGINT: the first one asks every child for a warm shutdown over IPC (not by signal: under
 * systemd or a terminal's Ctrl-C the children get the signal themselves too, and a second signal
 * would mean a cold shutdown), a second one for a cold shutdown. Exits 0 when every child stopped
 * cleanly, 1 otherwise, and 1 at once when a child cannot start the first time (bad module, broker
 * URL, options…: restarting would fail the same way). A child that dies later is restarted with
 * backoff; one that ends cleanly (a remote shutdown of its node) stays down.
 */
function supervise(command, count, log) {
  let stopping = false;
  let failed = false;
  const slots = [];

  const finishIfAllStopped = () => {
    if (!slots.every((slot) => slot.child === undefined)) return;
    log(`all ${count} worker processes stopped${failed ? ', not all cleanly' : ''}`);
    process.exit(failed ? 1 : 0);
  };

  const start = (slot) => {
    slot.restartTimer = undefined;
    // The child's node name is decided where every node name is: the runtime's config, from the
    // -n flag or the module's worker.hostname, with -<index> appended (lib/runtime/worker-command-line.ts).
    const childCommand = { ...command, commandLine: { ...command.commandLine, processIndex: slot.index } };
    const child = fork(process.argv[1], [], {
      env: { ...process.env, [CHILD_ENVIRONMENT]: JSON.stringify({ index: slot.index, command: childCommand }) },
      execArgv: process.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    slot.child = child;
    slot.startedAt = Date.now();
    const prefix = `[${slot.index}:${child.pid}] `;
    prefixLines(child.stdout, process.stdout, prefix);
    prefixLines(child.stderr, process.stderr, prefix);
    child.on('message', (message) => {
      if (!message || !message.ready) return;
      slot.everReady = true;
      log(`worker process ${slot.index} (pid ${child.pid}) ready as ${(message.hostnames ?? []).join(', ')}`);
    });
    child.on('error', (error) => log(`worker process ${slot.index}: ${error.message}`));
    child.on('exit', (code, signal) => {
      slot.child = undefined;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (stopping) {
        if (code !== 0) failed = true;
        log(`worker process ${slot.index} (pid ${child.pid}) stopped (${how})`);
        return finishIfAllStopped();
      }
      if (!slot.everReady) {
        log(`worker process ${slot.index} (pid ${child.pid}) could not start (${how}); stopping the others`);
        failed = true;
        return stopAll('warm');
      }
      if (code === 0) {
        // A child ends cleanly on its own only when its node was told to (`celery control shutdown`,
        // Flower's button): that node stays down, as a Python worker told so does. When every child
        // has been shut down that way, the CLI exits 0 too, like a whole Python worker told to stop.
        log(`worker process ${slot.index} (pid ${child.pid}) was shut down remotely; it stays down`);
        return finishIfAllStopped();
      }
      const ranMs = Date.now() - slot.startedAt;
      slot.delayMs = ranMs >= STABLE_AFTER_MS ? RESTART_MIN_MS : Math.min(slot.delayMs * 2 || RESTART_MIN_MS, RESTART_MAX_MS);
      log(`worker process ${slot.index} (pid ${child.pid}) died unexpectedly (${how}); restarting it in ${slot.delayMs / 1000} s`);
      slot.restartTimer = setTimeout(() => start(slot), slot.delayMs);
    });
  };

  const stopAll = (mode) => {
    stopping = true;
    for (const slot of slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      if (slot.child && slot.child.connected) slot.child.send({ shutdown: mode });
    }
    finishIfAllStopped();
  };

  let signals = 0;
  const onSignal = (signal) => {
    signals += 1;
    if (signals === 1) {
      log(`${signal} received: warm shutdown of ${count} worker processes (running tasks finish)`);
      stopAll('warm');
    } else {
      log(`${signal} again: cold shutdown, running tasks are abandoned`);
      failed = true;
      stopAll('cold');
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const name = command.commandLine.hostname ?? "the module's node name";
  log(`starting ${count} worker processes (node names: ${name} with -1 to -${count} after its name part)`);
  for (let index = 1; index <= count; index += 1) {
    const slot = { index, child: undefined, everReady: false, startedAt: 0, delayMs: 0, restartTimer: undefined };
    slots.push(slot);
    start(slot);
  }
}

/**
 * In a child: tells the supervisor once the app is up, with its workers' node names, and turns its shutdown requests (and its
 * disappearance: a SIGKILLed supervisor must not leave workers behind) into the CLI's own
 * warm/cold shutdown.
 */
function serveSupervisor(appReady, shutDown) {
  appReady.then((hostnames) => process.send && process.send({ ready: true, hostnames }));
  process.on('message', (message) => {
    if (message && message.shutdown) shutDown(message.shutdown);
  });
  process.on('disconnect', () => shutDown('warm'));
}

module.exports = { CHILD_ENVIRONMENT, supervise, serveSupervisor };
