/**
 * What ships, and whether it works as shipped. The package is packed the way
 * `npm pack` does it (its prepack script builds the prebuilt addon), from a
 * staged copy so this checkout's build/ is left alone; the tarball is then
 * installed into fresh folders, offline, and used as a new user would: the
 * README's quick start through `import` (app.mjs) and `require` (app.cjs), the
 * types from .mts and .cts files, with install scripts off (no compiler runs)
 * and on (the install script takes the prebuilt addon instead of building).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, codeBlocks, docFiles, relativeLinks } from './helpers/markdown.js';
import { diskDir } from './helpers/disk.js';
import { cleanEnv, nodeHeadersDir, packSkipReason, run } from './helpers/npm.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const PREBUILT = 'prebuilds/linux-x64/linux-aio.glibc.node';
const skip = process.platform !== 'linux' || process.arch !== 'x64'
  ? `the prebuilt addon is made for linux-x64 (this is ${process.platform}-${process.arch})`
  : packSkipReason() ?? diskDir().skip;
if (skip) console.log(`# package tests skipped: ${skip}`);

let work = '';
let tarball = '';
let packed: string[] = [];
const npmFlags = ['--offline', '--no-audit', '--no-fund', '--no-update-notifier'];

before(() => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-aio-pack-'));
  // The files npm would pack from this checkout, except a stale local prebuild.
  const [dry] = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT }).stdout);
  const stage = path.join(work, 'stage');
  for (const { path: rel } of dry.files as { path: string }[]) {
    if (rel.startsWith('prebuilds/')) continue;
    fs.mkdirSync(path.join(stage, path.dirname(rel)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, rel), path.join(stage, rel));
  }
  // The prepack script itself (prebuildify), with the dev tools of this checkout on PATH.
  const headers = nodeHeadersDir();
  const env = cleanEnv({
    PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
    ...(headers ? { npm_config_nodedir: headers } : {}),
  });
  run('npm', ['run', 'prepack'], { cwd: stage, env });
  const [out] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: stage }).stdout);
  tarball = path.join(work, out.filename);
  packed = (out.files as { path: string }[]).map((f) => f.path).sort();
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh project with the tarball installed (offline, with an empty npm cache). */
function installApp(name: string, scripts: boolean): string {
  const app = path.join(work, name);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  run('npm', ['install', tarball, ...npmFlags, '--cache', path.join(work, `cache-${name}`),
    ...(scripts ? [] : ['--ignore-scripts'])], { cwd: app });
  return app;
}

/** The README's quick start, exactly as printed. */
function quickStart(): string {
  const block = codeBlocks('README.md').find((b) => b.heading === 'Quick start' && b.lang === 'js');
  assert.ok(block, 'README.md has a ```js block under "## Quick start"');
  return block.code;
}

/** The same program for a CommonJS file: require() and an async main instead of top-level await. */
function asCommonJs(esm: string): string {
  const body = esm.replace(/^import\s+(\{[^}]*\})\s+from\s+'linux-aio';$/m, "const $1 = require('linux-aio');");
  assert.notEqual(body, esm, 'the quick start imports from linux-aio in one `import { ... } from` line');
  const [first, ...rest] = body.split('\n');
  return `${first}\n(async () => {\n${rest.join('\n')}\n})().catch((err) => { console.error(err); process.exitCode = 1; });\n`;
}

function runApp(app: string, file: string, cwd: string): ReturnType<typeof run> {
  return run(process.execPath, [path.join(app, file)], { cwd, check: false });
}

/** A fresh folder on a file system that takes O_DIRECT: the quick start opens data.bin in the current folder. */
function scratch(): string {
  return fs.mkdtempSync(path.join(diskDir().dir!, 'run-'));
}

test('the package holds the build, the prebuilt addon, the docs and LICENSE, and no tests, maps or sources of the build', { skip }, () => {
  const must = [
    'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'BENCHMARKS.md', 'binding.gyp',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', PREBUILT,
    'node_modules/node-gyp-build/package.json', 'node_modules/node-gyp-build/node-gyp-build.js',
    ...fs.readdirSync(path.join(ROOT, 'native')).map((f) => `native/${f}`),
    ...docFiles(),
  ];
  for (const f of must) assert.ok(packed.includes(f), `${f} is in the package`);
  const mustNot: [RegExp, string][] = [
    [/\.map$/, 'a source map'], [/^dist\/test\//, 'a compiled test'], [/^test\//, 'a test'],
    [/^dist\/bench\//, 'the repository benchmarks'], [/^bench\//, 'the repository benchmarks'],
    [/^src\//, 'TypeScript sources of the build'], [/^build(-asan)?\//, 'a local build folder'],
    [/^\.ci\//, 'CI'], [/\.(tgz|log|cpuprofile)$/, 'a local artefact'],
    [/^node_modules\/(?!node-gyp-build\/)/, 'a dependency other than the bundled node-gyp-build'],
  ];
  for (const f of packed) {
    for (const [re, what] of mustNot) assert.doesNotMatch(f, re, `${f} is ${what} and must not ship`);
  }
  for (const f of packed.filter((p) => p.endsWith('.js'))) {
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, f), 'utf8'), /sourceMappingURL/, `${f} points to a source map`);
  }
});

test('every relative link of the README and docs/ points to a file in the package', { skip }, () => {
  for (const file of docFiles()) {
    for (const target of relativeLinks(file)) {
      const inPackage = packed.includes(target) || packed.some((p) => p.startsWith(`${target.replace(/\/$/, '')}/`));
      assert.ok(inPackage, `${file} links to ${target}, which is not in the package (add it to "files" or make the link absolute)`);
    }
  }
});

test('every repository path the README, docs/ and BENCHMARKS.md quote exists (the torture runner is test/torture/)', () => {
  const quoted = /`\.?\/?((?:src|test|native|bench|examples|scripts|docs)\/[\w./-]*)`/g;
  let seen = 0;
  for (const file of [...docFiles(), 'BENCHMARKS.md']) {
    for (const m of fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(quoted)) {
      seen++;
      assert.ok(fs.existsSync(path.join(ROOT, m[1]!)), `${file} names ${m[1]}, which is not in the repository`);
    }
  }
  assert.ok(seen > 20, `only ${seen} quoted paths found: the pattern no longer matches the docs`);
  assert.match(fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8'), /`test\/torture\/`/);
  assert.ok(fs.existsSync(path.join(ROOT, 'test/torture/main.ts')) && !fs.existsSync(path.join(ROOT, 'bench/torture')));
  assert.equal(pkg.scripts.torture, 'npm run build && node dist/test/torture/main.js');
});

test('package.json: license, repository, homepage, bugs, keywords, exports for import, require and types', () => {
  assert.equal(pkg.license, 'MIT');
  assert.match(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
  assert.match(pkg.repository?.url ?? '', /^git\+https:\/\/.+\.git$/);
  const repo = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  assert.equal(pkg.homepage, `${repo}#readme`);
  assert.equal(pkg.bugs?.url, `${repo}/issues`);
  assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.length >= 3, 'keywords');
  const root = pkg.exports['.'];
  assert.deepEqual(Object.keys(root), ['types', 'import', 'require'], 'types first, then import and require');
  assert.equal(root.import, root.require, 'one module instance for both (require loads the ES module)');
  assert.equal(pkg.scripts.install, 'node-gyp-build', 'the install script uses a fitting prebuilt addon, else builds');
  assert.match(pkg.scripts.prepack, /build:prebuilt/, 'packing builds the prebuilt addon');
  assert.deepEqual(pkg.bundleDependencies, Object.keys(pkg.dependencies), 'every dependency is bundled: installs offline');
});

test('installed with --ignore-scripts: no compiler runs, and the quick start works from app.mjs and from app.cjs', { skip }, () => {
  const app = installApp('app-noscripts', false);
  const installed = path.join(app, 'node_modules', 'linux-aio');
  assert.ok(fs.existsSync(path.join(installed, PREBUILT)), 'the prebuilt addon is installed');
  assert.ok(!fs.existsSync(path.join(installed, 'build')), 'nothing was built from source');
  const esm = quickStart();
  fs.writeFileSync(path.join(app, 'app.mjs'), esm);
  fs.writeFileSync(path.join(app, 'app.cjs'), asCommonJs(esm));
  for (const file of ['app.mjs', 'app.cjs']) {
    const r = runApp(app, file, scratch());
    assert.equal(r.status, 0, `${file} (the README quick start) exits 0\n${r.stderr}`);
    assert.equal(r.stdout, '4096 4 direct I/O\n', `${file} prints what the quick start's comment says`);
    assert.equal(r.stderr, '', `${file} prints no warning`);
  }

  // The types resolve from an ES module and from a CommonJS module.
  fs.writeFileSync(path.join(app, 'types.mts'),
    "import { open, AioError, type AioFile } from 'linux-aio';\n" +
    "const f: Promise<AioFile> = open('x');\nconst e: AioError | undefined = undefined;\nvoid f; void e;\n");
  fs.writeFileSync(path.join(app, 'types.cts'),
    "import aio = require('linux-aio');\n" +
    "const f: Promise<aio.AioFile> = aio.open('x');\nconst n: number = aio.allocAligned(4096).length;\nvoid f; void n;\n");
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true,
      typeRoots: [path.join(ROOT, 'node_modules', '@types')], types: ['node'],
    },
    files: ['types.mts', 'types.cts'],
  }));
  const tsc = run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app],
    { cwd: app, check: false });
  assert.equal(tsc.status, 0, `the types resolve for import and require:\n${tsc.stdout}${tsc.stderr}`);

  // Without any addon the error says what to do.
  fs.rmSync(path.join(installed, 'prebuilds'), { recursive: true });
  const r = runApp(app, 'app.mjs', scratch());
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no native addon fits this machine/);
  assert.match(r.stderr, /npm rebuild linux-aio/);
});

test('installed with install scripts, offline: the install script takes the prebuilt addon and builds nothing', { skip }, () => {
  const app = installApp('app-scripts', true);
  const installed = path.join(app, 'node_modules', 'linux-aio');
  assert.ok(!fs.existsSync(path.join(installed, 'build')), 'node-gyp did not run');
  fs.writeFileSync(path.join(app, 'app.mjs'), quickStart());
  const r = runApp(app, 'app.mjs', scratch());
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '4096 4 direct I/O\n');
});
