/**
 * What a function's source says about its parameters. Python binds Celery kwargs by introspecting
 * a task's signature; JavaScript keeps only the source (`Function.prototype.toString`), which is
 * read here once, when a task is declared. A list whose names do not tell what the function takes
 * is `readable: false`, with what was seen, for the caller to refuse: a destructured parameter,
 * native code (bound functions, built-ins, proxies). A rest-only `(...args)` is readable: it takes
 * positional arguments only, as Python's `def f(*args)`.
 */
export type ParameterReading =
  | { readonly readable: true; readonly names: readonly string[]; readonly hasRest: boolean }
  | { readonly readable: false; readonly seen: string };

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;
const SINGLE_PARAMETER_ARROW = /^(?:async\s+)?([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)\s*=>/u;

export function readParameters(fn: Function): ParameterReading {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return unreadable('a function whose source cannot be read');
  }
  if (source.includes('[native code]')) return unreadable('native code (a bound function, a built-in or a Proxy), which has no parameter names');
  const arrow = SINGLE_PARAMETER_ARROW.exec(source);
  if (arrow) return { readable: true, names: [arrow[1]], hasRest: false };
  const parts = parameterListOf(source);
  if (!parts) return unreadable(`a function whose parameter list could not be found: ${excerpt(source)}`);
  return readParts(parts);
}

function readParts(parts: readonly string[]): ParameterReading {
  const names: string[] = [];
  let hasRest = false;
  for (const [index, part] of parts.entries()) {
    if (part.startsWith('...')) {
      const name = part.slice(3).trim();
      if (!IDENTIFIER.test(name)) return unreadable(`a destructured rest parameter (${part})`);
      hasRest = true;
      continue;
    }
    if (part.startsWith('{') || part.startsWith('[')) return unreadable(`a destructured parameter (#${index + 1}: ${excerpt(part)})`);
    const name = part.split('=', 1)[0].trim();
    if (!IDENTIFIER.test(name)) return unreadable(`a parameter that could not be read (#${index + 1}: ${excerpt(part)})`);
    names.push(name);
  }
  return { readable: true, names, hasRest };
}

/**
 * The top-level parts of the first parameter list, comments left out; null when there is none.
 * A computed method name (`[key](x)`) and strings before the list are skipped.
 */
function parameterListOf(source: string): string[] | null {
  let depth = 0;
  let inList = false;
  let part = '';
  const parts: string[] = [];
  for (let index = 0; index < source.length; index++) {
    const char = source[index];
    const skipped = skipQuotedOrComment(source, index);
    if (skipped !== index) {
      if (inList && !isComment(source, index)) part += source.slice(index, skipped + 1);
      index = skipped;
      continue;
    }
    if (!inList) {
      if (char === '[') index = skipBracketed(source, index);
      else if (char === '(') inList = true;
      else if (char === '{' || char === '=') return null; // a body or an arrow's `=>` before any list
      continue;
    }
    if (char === '(' || char === '[' || char === '{') depth++;
    else if (char === ')' || char === ']' || char === '}') {
      if (depth === 0) {
        parts.push(part);
        return parts.map((text) => text.trim()).filter((text, position, all) => text !== '' || position < all.length - 1);
      }
      depth--;
    } else if (char === ',' && depth === 0) {
      parts.push(part);
      part = '';
      continue;
    }
    part += char;
  }
  return null;
}

function isComment(source: string, index: number): boolean {
  return source[index] === '/' && (source[index + 1] === '/' || source[index + 1] === '*');
}

/** The index of the last character of a string, template or comment starting at `index`; `index` when none starts there. */
function skipQuotedOrComment(source: string, index: number): number {
  const char = source[index];
  if (char === '"' || char === "'" || char === '`') {
    for (let end = index + 1; end < source.length; end++) {
      if (source[end] === '\\') end++;
      else if (source[end] === char) return end;
    }
    return source.length;
  }
  if (char === '/' && source[index + 1] === '/') {
    const end = source.indexOf('\n', index);
    return end < 0 ? source.length : end;
  }
  if (char === '/' && source[index + 1] === '*') {
    const end = source.indexOf('*/', index + 2);
    return end < 0 ? source.length : end + 1;
  }
  return index;
}

function skipBracketed(source: string, open: number): number {
  let depth = 0;
  for (let index = open; index < source.length; index++) {
    index = skipQuotedOrComment(source, index);
    const char = source[index];
    if (char === '(' || char === '[' || char === '{') depth++;
    else if (char === ')' || char === ']' || char === '}') {
      depth--;
      if (depth === 0) return index;
    }
  }
  return source.length;
}

function excerpt(text: string): string {
  const line = text.split('\n', 1)[0].trim();
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

function unreadable(seen: string): ParameterReading {
  return { readable: false, seen };
}
