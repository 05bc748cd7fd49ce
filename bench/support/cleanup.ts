/**
 * Everything the benchmark creates (queues, databases, processes) registers how to undo it here,
 * so a failing or interrupted run leaves nothing behind. Undone newest first.
 */
type Undo = () => Promise<void> | void;

const undos: { label: string; undo: Undo }[] = [];

export function onCleanup(label: string, undo: Undo): () => Promise<void> {
  const entry = { label, undo };
  undos.push(entry);
  return async () => {
    const index = undos.indexOf(entry);
    if (index === -1) return;
    undos.splice(index, 1);
    await undo();
  };
}

export async function cleanupAll(): Promise<void> {
  while (undos.length > 0) {
    const { label, undo } = undos.pop()!;
    try {
      await undo();
    } catch (error) {
      process.stderr.write(`bench: could not clean up ${label}: ${(error as Error).message}\n`);
    }
  }
}
