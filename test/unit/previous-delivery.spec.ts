import { ResultBackend } from '../../lib/backend/result-backend.interface';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { TaskMessage } from '../../lib/protocol/task-message';
import { previousDelivery } from '../../lib/worker/previous-delivery';

const logger = { log: () => undefined, warn: jest.fn(), error: () => undefined };
const message = { id: 'id-1', task: 'tasks.add', retries: 2 } as TaskMessage;

function storing(meta: Partial<TaskResultMeta> | null | Error): ResultBackend {
  return {
    capabilities: { readsBack: true },
    getResult: async () => {
      if (meta instanceof Error) throw meta;
      return meta as TaskResultMeta | null;
    },
  } as unknown as ResultBackend;
}

describe('what became of an earlier delivery of a redelivered acksLate message', () => {
  it('done when its outcome is stored: a ready state', async () => {
    for (const status of ['SUCCESS', 'FAILURE', 'REVOKED'] as const) {
      expect(await previousDelivery(storing({ status }), message, logger)).toEqual({ kind: 'done', state: status });
    }
  });

  it('not done on RETRY, even with this retry count: RETRY is stored before the next try is sent, which a lost delivery may never have done', async () => {
    expect(await previousDelivery(storing({ status: 'RETRY', retries: 2 }), message, logger)).toEqual({ kind: 'unknown' });
    expect(await previousDelivery(storing({ status: 'RETRY', retries: 1 }), message, logger)).toEqual({ kind: 'unknown' });
  });

  it('lost when it began (STARTED) and never finished, naming the worker that ran it', async () => {
    expect(await previousDelivery(storing({ status: 'STARTED', result: { pid: 7, hostname: 'w1@host' } }), message, logger)).toEqual({ kind: 'lost', worker: 'w1@host' });
  });

  it('unknown with nothing stored, or when the backend cannot answer (the task is then run: better twice than never)', async () => {
    expect(await previousDelivery(storing(null), message, logger)).toEqual({ kind: 'unknown' });
    expect(await previousDelivery(storing({ status: 'PENDING' }), message, logger)).toEqual({ kind: 'unknown' });
    expect(await previousDelivery(storing(new Error('connection refused')), message, logger)).toEqual({ kind: 'unknown' });
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('Could not read the state of redelivered task tasks.add[id-1] (connection refused); running it'));
  });

  it('unknown without reading when the backend keeps nothing a worker can read back (rpc://, none)', async () => {
    const getResult = jest.fn();
    const backend = { capabilities: { readsBack: false }, getResult } as unknown as ResultBackend;
    expect(await previousDelivery(backend, message, logger)).toEqual({ kind: 'unknown' });
    expect(getResult).not.toHaveBeenCalled();
  });
});
