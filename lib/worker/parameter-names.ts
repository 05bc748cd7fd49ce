/**
 * Reads a function's parameter names from its source, so Celery kwargs (`add.delay(x=1, y=2)`
 * from Python) can be bound to a plain JS method. TypeScript keeps parameter names when it
 * compiles; a destructured parameter has no name and gets null (it can be passed positionally).
 */
export interface ParameterList {
  names: (string | null)[];
  /** `...rest` as last parameter: any number of extra positional args. */
  hasRest: boolean;
}

export function readParameterNames(fn: (...args: never[]) => unknown): ParameterList {
  const source = stripComments(Function.prototype.toString.call(fn));
  const open = source.indexOf('(');
  if (open < 0) {
    // `x => x` arrow function without parentheses
    const single = /^\s*(?:async\s+)?([\w$]+)\s*=>/.exec(source);
    return { names: single ? [single[1]] : [], hasRest: false };
  }
  const inner = source.slice(open + 1, matchingParen(source, open));
  const names: (string | null)[] = [];
  let hasRest = false;
  for (const part of splitTopLevel(inner)) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    if (trimmed.startsWith('...')) {
      hasRest = true;
      continue;
    }
    const match = /^([\w$]+)/.exec(trimmed);
    names.push(match ? match[1] : null);
  }
  return { names, hasRest };
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

function matchingParen(source: string, open: number): number {
  let depth = 0;
  for (let index = open; index < source.length; index++) {
    const char = source[index];
    if (char === '(' || char === '[' || char === '{') depth++;
    else if (char === ')' || char === ']' || char === '}') {
      depth--;
      if (depth === 0) return index;
    } else if (char === '"' || char === "'" || char === '`') index = skipString(source, index);
  }
  return source.length;
}

function skipString(source: string, start: number): number {
  const quote = source[start];
  for (let index = start + 1; index < source.length; index++) {
    if (source[index] === '\\') index++;
    else if (source[index] === quote) return index;
  }
  return source.length;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '(' || char === '[' || char === '{') depth++;
    else if (char === ')' || char === ']' || char === '}') depth--;
    else if (char === '"' || char === "'" || char === '`') index = skipString(text, index);
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
