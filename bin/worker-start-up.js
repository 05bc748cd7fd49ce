'use strict';
/*
 * What the worker CLI (bin/nestjs-celery-worker) does before it loads the app, to reach consuming
 * sooner. Only the CLI uses this: an app that imports nestjs-celery is never hooked.
 *
 * - enableCompileCache(): V8's code cache for the ≈ 1,000 module files a worker loads. Node ≥ 22.1
 *   has it built in (module.enableCompileCache()); on Node 20 a small hook of Module#_compile
 *   compiles each .js file with the cached code of the run before, when its content (CRC-32) is the
 *   same, and saves what this run compiled once the app has started. Loading modules, most of it
 *   compiling, was two thirds of the worker's CPU to consuming (docs/PERFORMANCE.md, start-up).
 * - deferNestMicroservices(): @nestjs/core's NestApplication loads @nestjs/microservices (≈ 100
 *   module files) whenever it is installed, to serve NestApplication#connectMicroservice(); the CLI
 *   starts an application context, which never uses it, so it is loaded the first time a
 *   NestApplication is built instead. An app that imports @nestjs/microservices itself gets it as ever.
 *
 * The cache stands aside whenever it could change what runs: NODE_DISABLE_COMPILE_CACHE set (Node's
 * own switch), source maps (--enable-source-maps), a policy, an inspector, no private cache
 * directory, or a Node without what it needs (zlib.crc32, process.getuid).
 */
const Module = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** import( in a file's text, even in a comment or a string: such a file is compiled by Node. */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

/** The cache file: cached data is only valid for one V8 build, so its version is in the name. */
const CACHE_FILE = `v8-${process.versions.v8}-${process.arch}.bin`;

/**
 * Turns the code cache on; returns save(), to be called once the app has started: it writes the
 * code compiled by this run (if anything new was) and removes the hook. Never throws: a cache that
 * cannot be read or written only means compiling as usual.
 */
function enableCompileCache() {
  const none = () => undefined;
  if (typeof Module.enableCompileCache === 'function') {
    // Node ≥ 22.1: its own cache (os.tmpdir()/node-compile-cache), with its own NODE_DISABLE_COMPILE_CACHE.
    try {
      Module.enableCompileCache();
    } catch {
      // Not enabled: compiled as usual.
    }
    return none;
  }
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return none;
  const vm = require('node:vm');
  const { crc32 } = require('node:zlib');
  if (typeof crc32 !== 'function' || typeof process.getuid !== 'function') return none;
  // Node's _compile registers source maps and honours policies and --inspect-brk; the hook does not.
  if (process.sourceMapsEnabled || process.execArgv.some((arg) => /^--(enable-source-maps|experimental-policy|inspect)/.test(arg))) return none;
  if (require('node:inspector').url()) return none;
  const directory = privateDirectory();
  if (!directory) return none;
  const file = path.join(directory, CACHE_FILE);
  const cached = readCache(file);
  /** The cached data of files compiled without (valid) cached data by this run: filename → { hash, data }. */
  const compiled = new Map();
  const originalCompile = Module.prototype._compile;

  const compileWithCache = function compileWithCache(content, filename) {
    // Only plain JavaScript files: a TypeScript loader's or a hashbang file goes Node's own way, and
    // so does one that may call import(): a vm.Script takes it only with an experimental option
    // (vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER) that prints a warning on Node 20.
    if (!/\.c?js$/.test(filename) || content.startsWith('#!') || DYNAMIC_IMPORT.test(content)) return originalCompile.call(this, content, filename);
    const hash = crc32(content);
    const entry = cached.get(filename);
    const cachedData = entry && entry.hash === hash ? cached.read(entry) : undefined;
    let script;
    try {
      script = new vm.Script(Module.wrap(content), { filename, cachedData });
    } catch {
      return originalCompile.call(this, content, filename); // A syntax error: reported by Node as usual.
    }
    // Made before the code runs: the functions compiled eagerly only. One made after running would
    // also hold those compiled lazily since: ≈ 20 ms less CPU to consuming, for 1–5 MiB more idle RSS.
    if (!cachedData || script.cachedDataRejected) compiled.set(filename, { hash, data: script.createCachedData() });
    const compiledWrapper = script.runInThisContext({ displayErrors: true });
    return Reflect.apply(compiledWrapper, this.exports, [this.exports, requireFor(this), this, filename, path.dirname(filename)]);
  };
  Module.prototype._compile = compileWithCache;

  let saved = false;
  return function save() {
    if (saved) return;
    saved = true;
    if (Module.prototype._compile === compileWithCache) Module.prototype._compile = originalCompile;
    try {
      if (compiled.size > 0) {
        // The entries of files this run did not compile anew are kept as they were.
        const entries = new Map([...cached].map(([filename, entry]) => [filename, { hash: entry.hash, data: cached.read(entry) }]).filter(([, entry]) => entry.data));
        for (const [filename, entry] of compiled) entries.set(filename, entry);
        writeCache(file, entries);
      }
    } catch {
      // No cache this time; the next start compiles as usual and tries again.
    }
    compiled.clear();
    cached.close();
  };
}

/** The `require` Node gives a module (lib/internal/modules/helpers.js makeRequireFunction). */
function requireFor(module) {
  const require = (id) => module.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

/**
 * <tmpdir>/nestjs-celery-worker-compile-cache-<uid>, created 0700; null unless it is a directory of
 * this user that no one else can write (cached code is run as code).
 */
function privateDirectory() {
  const uid = process.getuid();
  const directory = path.join(os.tmpdir(), `nestjs-celery-worker-compile-cache-${uid}`);
  try {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(directory);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o022) === 0 ? directory : null;
  } catch {
    return null;
  }
}

/**
 * Format: a 4-byte length, a JSON index [[filename, crc32, offset, length], …], then the cached
 * data, one after the other. Only the index is read at first; each file's bytes are read when it is
 * compiled, so they are garbage (freed by the next scavenge) as soon as V8 has taken them, rather
 * than one buffer of the whole cache living on until a major GC. Anything unreadable reads as an
 * empty cache. A Map of filename → { hash, offset, length }, with read(entry) and close().
 */
function readCache(file) {
  const cached = new Map();
  let fd = null;
  cached.read = (entry) => {
    if (fd === null) return undefined;
    try {
      const data = Buffer.allocUnsafe(entry.length);
      return fs.readSync(fd, data, 0, entry.length, entry.offset) === entry.length ? data : undefined;
    } catch {
      return undefined;
    }
  };
  cached.close = () => {
    try {
      if (fd !== null) fs.closeSync(fd);
    } catch {
      // Closed already: nothing to release.
    }
    fd = null;
    cached.clear();
  };
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    const indexLength = head.readUInt32LE(0);
    const index = Buffer.alloc(indexLength);
    if (fs.readSync(fd, index, 0, indexLength, 4) !== indexLength) throw new Error('short index');
    const dataStart = 4 + indexLength;
    const size = fs.fstatSync(fd).size;
    for (const [filename, hash, offset, length] of JSON.parse(index.toString('utf8'))) {
      if (dataStart + offset + length <= size) cached.set(filename, { hash, offset: dataStart + offset, length });
    }
  } catch {
    cached.close();
  }
  return cached;
}

/** Written to a file of its own and renamed over the cache: processes of -P N may write at once. */
function writeCache(file, cached) {
  const index = [];
  const data = [];
  let offset = 0;
  for (const [filename, { hash, data: bytes }] of cached) {
    index.push([filename, hash, offset, bytes.length]);
    data.push(bytes);
    offset += bytes.length;
  }
  const indexBytes = Buffer.from(JSON.stringify(index));
  const indexLength = Buffer.alloc(4);
  indexLength.writeUInt32LE(indexBytes.length);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, Buffer.concat([indexLength, indexBytes, ...data]), { mode: 0o600 });
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/** See the top of this file. Does nothing unless @core's NestApplication asks for @nestjs/microservices' module. */
function deferNestMicroservices() {
  const originalLoad = Module._load;
  Module._load = function loadDeferringMicroservices(request, parent, isMain) {
    if (request === '@nestjs/microservices/microservices-module' && parent && /[\\/]@nestjs[\\/]core[\\/]nest-application\.js$/.test(parent.filename)) {
      let resolvable = true;
      try {
        Module._resolveFilename(request, parent, false);
      } catch {
        resolvable = false; // Not installed: NestApplication goes without, as it does unhooked.
      }
      if (resolvable) {
        // NestApplication's constructor is its only user: `MicroservicesModule && new MicroservicesModule()`.
        return {
          MicroservicesModule: function MicroservicesModule(...args) {
            const { MicroservicesModule: Loaded } = originalLoad.call(Module, request, parent, false);
            return new Loaded(...args);
          },
        };
      }
    }
    return originalLoad.apply(this, arguments);
  };
}

module.exports = { enableCompileCache, deferNestMicroservices };
