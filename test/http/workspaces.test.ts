import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileStorage } from '../../src/storage/file/index.ts';
import type { WorkspacePage, WorkspaceSummary } from '../../src/storage/types.ts';
import { ageTree, chainGraph, docStatus, GRAPH, kv, LONG_AGO } from '../file/fixtures.ts';
import { tempDir, testApp, writeTree } from '../helpers.ts';

type App = ReturnType<typeof testApp>;

async function getJson(app: App, path: string, headers: Record<string, string> = {}) {
  const response = await app.request(path, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function list(app: App, query = ''): Promise<WorkspacePage> {
  const { status, body } = await getJson(app, `/api/workspaces${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as unknown as WorkspacePage;
}

const names = (page: WorkspacePage) => page.workspaces.map((w) => w.name);

describe('GET /api/workspaces on an empty or missing WORKING_DIR', () => {
  it('an empty working directory gives exactly {"workspaces": [], "count": 0}', async () => {
    const dir = tempDir();
    try {
      const response = await testApp(new FileStorage(dir.path)).request('/api/workspaces');
      assert.equal(response.status, 200);
      assert.equal(await response.text(), '{"workspaces":[],"count":0}');
    } finally {
      dir.cleanup();
    }
  });

  it('a working directory that does not exist gives the same empty list', async () => {
    const dir = tempDir();
    try {
      const app = testApp(new FileStorage(join(dir.path, 'not-there')));
      assert.deepEqual(await list(app), { workspaces: [], count: 0 });
    } finally {
      dir.cleanup();
    }
  });
});

describe('which directories are workspaces', () => {
  const dir = tempDir();
  const app = testApp(new FileStorage(dir.path));
  const tooLong = 'x'.repeat(65);

  before(() => {
    writeTree(dir.path, {
      [`alpha/${GRAPH}`]: chainGraph('a', 3),
      'beta/kv_store_doc_status.json': docStatus('processed'),
      '.hidden/kv_store_full_docs.json': kv({ d: { content: 'x' } }),
      '.ragspace-locks/x': 'lock',
      'notes.txt': 'not a workspace',
      'kv_store_full_docs.json.tmp.4242.1.7': '{"half": ',
      'bad name/kv_store_full_docs.json': kv({}),
      '-dash/kv_store_full_docs.json': kv({}),
      [`${tooLong}/kv_store_full_docs.json`]: kv({}),
    });
    mkdirSync(join(dir.path, 'empty'));
  });
  after(() => dir.cleanup());

  it('lists every valid non-hidden directory, even an empty one', async () => {
    const page = await list(app);
    assert.deepEqual(names(page), ['alpha', 'beta', 'empty']);
    assert.equal(page.count, 3);
    const empty = page.workspaces.find((w) => w.name === 'empty');
    assert.deepEqual(empty, {
      name: 'empty',
      entity_count: 0,
      relation_count: 0,
      document_count: 0,
      chunk_count: 0,
      updated_at: null,
    });
  });

  it('hidden directories, plain files and temporary files make no workspace', async () => {
    const page = await list(app);
    assert.ok(!names(page).includes('default'), 'root temp file is no default workspace');
    assert.ok(!names(page).some((n) => n.startsWith('.')));
  });

  it('reports directories with invalid names instead of serving them', async () => {
    const page = await list(app);
    const invalid = [...(page.invalid_workspaces ?? [])].sort((a, b) =>
      a.directory < b.directory ? -1 : 1,
    );
    assert.deepEqual(invalid, [
      { directory: '-dash', reason: 'it starts with "-"' },
      {
        directory: 'bad name',
        reason: 'it contains characters other than A-Z, a-z, 0-9, "_", "-"',
      },
      { directory: tooLong, reason: 'it is longer than 64 characters' },
    ]);
    const { status, body } = await getJson(app, '/api/workspaces/bad%20name');
    assert.equal(status, 400);
    assert.equal(body.error, 'WORKSPACE_NAME_INVALID');
  });

  it('counts entities, relations and documents', async () => {
    const page = await list(app);
    const alpha = page.workspaces.find((w) => w.name === 'alpha');
    assert.equal(alpha?.entity_count, 3);
    assert.equal(alpha?.relation_count, 2);
    assert.equal(page.workspaces.find((w) => w.name === 'beta')?.document_count, 1);
  });
});

/** Five workspaces with distinct counts and modification times. */
function seedQueryWorkspaces(root: string): void {
  const spec: [string, number, number][] = [
    ['alpha', 3, 1],
    ['Beta', 1, 0],
    ['gamma', 5, 2],
    ['delta', 2, 0],
    ['alphabet', 4, 3],
  ];
  for (const [name, entities, documents] of spec) {
    const statuses = Array.from({ length: documents }, () => 'processed');
    writeTree(root, {
      [`${name}/${GRAPH}`]: chainGraph(name, entities),
      [`${name}/kv_store_doc_status.json`]: docStatus(...statuses),
    });
  }
  ageTree(root);
  spec.forEach(([name], i) => {
    const when = new Date(LONG_AGO.getTime() + i * 86_400_000);
    for (const file of [GRAPH, 'kv_store_doc_status.json']) {
      utimesSync(join(root, name, file), when, when);
    }
  });
}

describe('GET /api/workspaces query parameters', () => {
  const dir = tempDir();
  const app = testApp(new FileStorage(dir.path));
  before(() => seedQueryWorkspaces(dir.path));
  after(() => dir.cleanup());

  it('sorts by name by default (code-point order: upper case first)', async () => {
    assert.deepEqual(names(await list(app)), ['Beta', 'alpha', 'alphabet', 'delta', 'gamma']);
  });

  it('q is a case-insensitive substring; count is taken before paging', async () => {
    const page = await list(app, '?q=ALPHA&limit=1');
    assert.deepEqual(names(page), ['alpha']);
    assert.equal(page.count, 2);
    assert.deepEqual(names(await list(app, '?q=ETA')), ['Beta']);
  });

  it('sorts by every key, ascending and with "-" descending (ties by name)', async () => {
    const cases: [string, string[]][] = [
      ['name', ['Beta', 'alpha', 'alphabet', 'delta', 'gamma']],
      ['-name', ['gamma', 'delta', 'alphabet', 'alpha', 'Beta']],
      ['entity_count', ['Beta', 'delta', 'alpha', 'alphabet', 'gamma']],
      ['-entity_count', ['gamma', 'alphabet', 'alpha', 'delta', 'Beta']],
      ['relation_count', ['Beta', 'delta', 'alpha', 'alphabet', 'gamma']],
      ['-relation_count', ['gamma', 'alphabet', 'alpha', 'delta', 'Beta']],
      ['updated_at', ['alpha', 'Beta', 'gamma', 'delta', 'alphabet']],
      ['-updated_at', ['alphabet', 'delta', 'gamma', 'Beta', 'alpha']],
    ];
    for (const [sort, expected] of cases) {
      assert.deepEqual(names(await list(app, `?sort=${sort}`)), expected, `sort=${sort}`);
    }
  });

  it('limit and offset page the sorted list; the last page has no next_cursor', async () => {
    const first = await list(app, '?limit=2');
    assert.deepEqual(names(first), ['Beta', 'alpha']);
    assert.equal(first.count, 5);
    assert.equal(typeof first.next_cursor, 'string');
    const last = await list(app, '?limit=2&offset=4');
    assert.deepEqual(names(last), ['gamma']);
    assert.equal('next_cursor' in last, false);
    assert.deepEqual(names(await list(app, '?offset=9')), []);
  });

  it('filters by counts, prefix, documents and update time', async () => {
    assert.deepEqual(names(await list(app, '?min_entities=3&max_entities=4')), [
      'alpha',
      'alphabet',
    ]);
    assert.deepEqual(names(await list(app, '?prefix=al')), ['alpha', 'alphabet']);
    assert.deepEqual(names(await list(app, '?has_documents=false&q=e')), ['Beta', 'delta']);
    const since = new Date(LONG_AGO.getTime() + 3 * 86_400_000).toISOString();
    assert.deepEqual(names(await list(app, `?updated_since=${since}`)), ['alphabet', 'delta']);
  });
  it('cursor paging walks the list and stays stable when a workspace is added', async () => {
    const first = await list(app, '?sort=-entity_count&limit=2');
    assert.deepEqual(names(first), ['gamma', 'alphabet']);
    writeTree(dir.path, { [`aardvark/${GRAPH}`]: chainGraph('z', 9) });
    const second = await list(app, `?sort=-entity_count&limit=2&cursor=${first.next_cursor}`);
    assert.deepEqual(names(second), ['alpha', 'delta']);
    const third = await list(app, `?sort=-entity_count&limit=2&cursor=${second.next_cursor}`);
    assert.deepEqual(names(third), ['Beta']);
    assert.equal(third.next_cursor, undefined);
    assert.equal(third.count, 6);
  });
});

describe('bad query parameters get 400 BAD_REQUEST with an exact message', () => {
  const dir = tempDir();
  const app = testApp(new FileStorage(dir.path));
  after(() => dir.cleanup());
  const cursorForName = Buffer.from(JSON.stringify({ value: 'a', name: 'a', sort: 'name' }));

  const cases: [string, string][] = [
    ['limit=abc', 'Query parameter limit=abc must be a whole number from 0 to 10000.'],
    ['limit=10001', 'Query parameter limit=10001 must be a whole number from 0 to 10000.'],
    ['limit=1e2', 'Query parameter limit=1e2 must be a whole number from 0 to 10000.'],
    ['offset=-1', 'Query parameter offset=-1 must be a whole number from 0 to 9007199254740991.'],
    [
      'sort=size',
      'Query parameter sort=size is not supported; use name, entity_count, ' +
        'relation_count, updated_at (prefix "-" for descending).',
    ],
    ['has_documents=maybe', 'Query parameter has_documents=maybe must be true or false.'],
    [
      'updated_since=yesterday',
      'Query parameter updated_since=yesterday must be an ISO-8601 date or time.',
    ],
    ['cursor=garbage', 'The cursor is not valid for sort=name; start again without a cursor.'],
    [
      `sort=-name&cursor=${cursorForName.toString('base64url')}`,
      'The cursor is not valid for sort=-name; start again without a cursor.',
    ],
  ];

  for (const [query, message] of cases) {
    it(query.slice(0, 40), async () => {
      const { status, body } = await getJson(app, `/api/workspaces?${query}`);
      assert.equal(status, 400);
      assert.deepEqual(body, { error: 'BAD_REQUEST', message });
    });
  }
});

describe('GET /api/workspaces/{name}', () => {
  const dir = tempDir();
  const app = testApp(new FileStorage(dir.path));

  before(() => {
    writeTree(dir.path, {
      [`proj/${GRAPH}`]: chainGraph('p', 4),
      'proj/kv_store_doc_status.json': docStatus('processed', 'failed', 'handling'),
      'proj/kv_store_text_chunks.json': kv({ c1: { content: 'one' }, c2: { content: 'two' } }),
      'proj/kv_store_full_docs.json': '{"doc-0": {"content": "cut',
    });
  });
  after(() => dir.cleanup());

  it('describes files, stores, statuses and errors', async () => {
    const { status, body } = await getJson(app, '/api/workspaces/proj');
    assert.equal(status, 200);
    const detail = body as Record<string, unknown> & WorkspaceSummary;
    assert.deepEqual(
      (detail.files as { name: string }[]).map((f) => f.name),
      [GRAPH, 'kv_store_doc_status.json', 'kv_store_full_docs.json', 'kv_store_text_chunks.json'],
    );
    assert.deepEqual(detail.stores, { graph: 4, doc_status: 3, full_docs: 0, text_chunks: 2 });
    assert.deepEqual(detail.document_statuses, { processed: 1, failed: 1, other: 1 });
    assert.equal(detail.entity_count, 4);
    assert.equal(detail.relation_count, 3);
    assert.equal(detail.chunk_count, 2);
    assert.deepEqual(detail.errors, [
      {
        file: 'kv_store_full_docs.json',
        reason: 'truncated JSON: the file ends inside the value of "doc-0" that starts at byte 10',
        offset: 26,
      },
    ]);
  });

  it('an unknown workspace is 404 WORKSPACE_NOT_FOUND naming it', async () => {
    const { status, body } = await getJson(app, '/api/workspaces/nope');
    assert.equal(status, 404);
    assert.deepEqual(body, {
      error: 'WORKSPACE_NOT_FOUND',
      message:
        'Workspace "nope" does not exist. List workspaces with GET /api/workspaces, ' +
        'or write to it to create it.',
      details: { workspace: 'nope' },
    });
  });

  it('an invalid name is 400 WORKSPACE_NAME_INVALID', async () => {
    const { status, body } = await getJson(app, '/api/workspaces/a.b');
    assert.equal(status, 400);
    assert.equal(body.error, 'WORKSPACE_NAME_INVALID');
    assert.equal(
      body.message,
      'Workspace name "a.b" is not allowed: it contains characters other than A-Z, a-z, ' +
        '0-9, "_", "-". Use 1-64 characters from A-Z, a-z, 0-9, "_" and "-", not starting ' +
        'with "-".',
    );
  });
});

describe('the statistics cache', () => {
  it('a second listing re-reads nothing; touching one file re-reads exactly it', async () => {
    const dir = tempDir();
    try {
      seedQueryWorkspaces(dir.path);
      const storage = new FileStorage(dir.path);
      const app = testApp(storage);
      const first = await list(app);
      assert.equal(storage.stats.reads, 10);
      assert.deepEqual(await list(app), first);
      assert.equal(storage.stats.reads, 10);
      const touched = new Date(LONG_AGO.getTime() + 30 * 86_400_000);
      utimesSync(join(dir.path, 'gamma', GRAPH), touched, touched);
      const third = await list(app);
      assert.equal(storage.stats.reads, 11);
      const gamma = third.workspaces.find((w) => w.name === 'gamma');
      assert.equal(gamma?.updated_at, touched.toISOString());
    } finally {
      dir.cleanup();
    }
  });

  it('a file rewritten within the same clock tick (same size and mtime) is re-read', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'w', GRAPH);
      const original = chainGraph('a', 3);
      writeTree(dir.path, { [`w/${GRAPH}`]: original });
      const tick = new Date(Date.now() - 500);
      utimesSync(path, tick, tick);
      const storage = new FileStorage(dir.path);
      const app = testApp(storage);
      assert.equal((await list(app)).workspaces[0]?.relation_count, 2);
      // An in-place writer changes the file without changing its size or (coarse) mtime.
      const edited = original.replace(/<edge source="a1"[\s\S]*?<\/edge>\n/, '');
      writeFileSync(path, edited.padEnd(original.length, ' '));
      utimesSync(path, tick, tick);
      assert.equal((await list(app)).workspaces[0]?.relation_count, 1);
    } finally {
      dir.cleanup();
    }
  });

  it('notices files added, removed and directories replaced, call after call', async () => {
    const dir = tempDir();
    try {
      writeTree(dir.path, {
        [`w/${GRAPH}`]: chainGraph('a', 3),
        [`v/${GRAPH}`]: chainGraph('v', 2),
      });
      ageTree(dir.path);
      const app = testApp(new FileStorage(dir.path));
      const row = async (name: string) => (await list(app)).workspaces.find((w) => w.name === name);
      assert.equal((await row('w'))?.chunk_count, 0);
      writeTree(dir.path, { 'w/kv_store_text_chunks.json': kv({ c1: {}, c2: {} }) });
      assert.equal((await row('w'))?.chunk_count, 2, 'a file added');
      rmSync(join(dir.path, 'w', 'kv_store_text_chunks.json'));
      assert.equal((await row('w'))?.chunk_count, 0, 'a file removed');
      rmSync(join(dir.path, 'w'), { recursive: true });
      writeTree(dir.path, { [`w/${GRAPH}`]: chainGraph('b', 7) });
      assert.equal((await row('w'))?.entity_count, 7, 'the directory replaced');
      renameSync(join(dir.path, 'v'), join(dir.path, 'old-v'));
      writeTree(dir.path, { [`v/${GRAPH}`]: chainGraph('z', 5) });
      assert.equal((await row('v'))?.entity_count, 5, 'the directory renamed away');
      assert.equal((await row('old-v'))?.entity_count, 2);
    } finally {
      dir.cleanup();
    }
  });

  it('a default/ directory appearing next to root files is reported at once', async () => {
    const dir = tempDir();
    try {
      writeTree(dir.path, { [GRAPH]: chainGraph('r', 2) });
      const app = testApp(new FileStorage(dir.path));
      assert.equal((await list(app)).workspaces[0]?.errors, undefined);
      mkdirSync(join(dir.path, 'default'));
      const page = await list(app);
      assert.deepEqual(names(page), ['default']);
      assert.equal(page.workspaces[0]?.errors?.[0]?.file, 'default/');
    } finally {
      dir.cleanup();
    }
  });
});
