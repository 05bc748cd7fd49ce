import { CeleryError } from './celery.error';

/** The process pool could not start its children: the worker does not start either (a misconfiguration fails at start-up). */
export class ProcessPoolStartError extends CeleryError {
  constructor(reason: string) {
    super(
      `The process pool (worker.pool: 'process') could not start a child: ${reason}. A child creates the module named by ` +
        "worker.poolModule (or the worker CLI's --module): check that the file is compiled JavaScript, exports that module, " +
        'and that the module starts on its own (docs/PROCESS-POOL.md)',
    );
  }
}
