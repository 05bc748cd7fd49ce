/**
 * Python's `fnmatch` as a RegExp matching the whole name: `*` any run, `?` one character,
 * `[abc]` / `[!abc]` character sets. Celery uses it for `task_routes` globs and for
 * remote-control `pattern` matching of node names.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index];
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[' && glob.indexOf(']', index + 1) > index + 1) {
      const end = glob.indexOf(']', index + 1);
      const set = glob.slice(index + 1, end);
      source += set.startsWith('!') ? `[^${escapeSet(set.slice(1))}]` : `[${escapeSet(set)}]`;
      index = end;
    } else source += char.replace(/[.+^${}()|\\\]/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeSet(set: string): string {
  return set.replace(/[\\\]^]/g, '\\$&');
}
