import { pythonRepr, REPR_MAX_LENGTH } from '../protocol/python-repr';

/** Celery's saferepr `maxlevels`: containers nested deeper are shown as `[...]` / `{...}`. */
const MAX_LEVELS = 3;

/**
 * The `result` of a task-succeeded event: Celery's `saferepr(retval, 1024)`. A Python repr that
 * stops at 1024 characters (ending in `...`) and shows containers nested more than three levels
 * deep as `[...]` / `{...}`, so a huge or cyclic return value costs little. Never throws: a value
 * that cannot be shown (a throwing getter…) becomes `<unrepresentable>`.
 */
export function safeRepr(value: unknown, maxLength: number = REPR_MAX_LENGTH): string {
  const writer = { text: '', maxLength };
  try {
    write(writer, value, 0);
  } catch {
    return '<unrepresentable>';
  }
  return writer.text.length > maxLength ? `${writer.text.slice(0, maxLength - 3)}...` : writer.text;
}

interface Writer {
  text: string;
  maxLength: number;
}

function write(writer: Writer, value: unknown, level: number): void {
  if (writer.text.length > writer.maxLength) return; // the rest would be cut anyway
  if (typeof value === 'string') {
    writer.text += pythonRepr(value.length > writer.maxLength ? value.slice(0, writer.maxLength) : value);
  } else if (Array.isArray(value)) {
    writeContainer(writer, '[', ']', value, level, (item) => write(writer, item, level + 1));
  } else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    writeContainer(writer, '{', '}', Object.entries(value), level, ([key, item]) => {
      writer.text += `${pythonRepr(key)}: `;
      write(writer, item, level + 1);
    });
  } else {
    writer.text += pythonRepr(value);
  }
}

function writeContainer<T>(writer: Writer, open: string, close: string, items: readonly T[], level: number, writeItem: (item: T) => void): void {
  if (level >= MAX_LEVELS && items.length > 0) {
    writer.text += `${open}...${close}`;
    return;
  }
  writer.text += open;
  for (let index = 0; index < items.length && writer.text.length <= writer.maxLength; index++) {
    if (index > 0) writer.text += ', ';
    writeItem(items[index]);
  }
  writer.text += close;
}
