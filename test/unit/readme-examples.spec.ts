import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * The README's and docs/'s TypeScript blocks compile (issue #14: "its Usage snippet does not
 * compile"): each ```ts block is its own module, compiled under strict settings against the
 * package's sources as `nestjs-celery` and its entry points, with the reader's own names
 * (test/readme/globals.d.ts) and jest's globals (the testing examples). A block the reader is not
 * meant to compile as is says so in an HTML comment just before it: <!-- not compiled: why -->.
 * Each block is an ES module (`.mts`), so a short tour of calls may `await` at its top level, as
 * in an ESM app or the REPL; blocks that show a whole file compile the same either way.
 */
const ROOT = join(__dirname, '..', '..');
const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join('docs', name))];

interface Block {
  document: string;
  line: number;
  code: string;
}

function blocksOf(document: string): Block[] {
  const lines = readFileSync(join(ROOT, document), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (!/^```ts\s*$/.test(lines[index])) continue;
    const start = index;
    let end = index + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    const skipped = /<!--\s*not compiled:/.test(lines[start - 1] ?? '') || /<!--\s*not compiled:/.test(lines[start - 2] ?? '');
    if (!skipped) blocks.push({ document, line: start + 1, code: lines.slice(start + 1, end).join('\n') });
    index = end;
  }
  return blocks;
}

describe('the TypeScript blocks of the README and docs/', () => {
  const blocks = DOCUMENTS.flatMap(blocksOf);

  it('has blocks to compile', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  it('compile under strict settings against the package', () => {
    const files = new Map(blocks.map((block, index) => [join(ROOT, 'test', 'readme', `block-${index}.mts`), block]));
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node', 'jest'],
      baseUrl: ROOT,
      // package.json `exports`: each entry point is lib/<folder>/index.ts, but ./microservices is lib/microservice.
      paths: { 'nestjs-celery': ['lib/index.ts'], 'nestjs-celery/microservices': ['lib/microservice/index.ts'], 'nestjs-celery/*': ['lib/*/index.ts'] },
    };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    host.readFile = (name) => files.get(name)?.code ?? readFile(name);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => files.has(name) || fileExists(name);
    const program = ts.createProgram([...files.keys(), join(ROOT, 'test', 'readme', 'globals.d.ts')], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file && files.has(diagnostic.file.fileName))
      .map((diagnostic) => {
        const block = files.get(diagnostic.file!.fileName)!;
        const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        return `${block.document}:${block.line + 1 + line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  }, 120_000);
});
