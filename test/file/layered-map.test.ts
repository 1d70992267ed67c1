import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LayeredMap } from '../../src/storage/file/layered-map.ts';

/**
 * LayeredMap must behave exactly as a copied Map (values, size, order) however its
 * copies are changed, and report what a copy added only while adding is all it did.
 */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function sameAs(layered: LayeredMap<string, number>, map: Map<string, number>): void {
  assert.equal(layered.size, map.size);
  assert.deepEqual([...layered.entries()], [...map.entries()]);
  const visited: [string, number][] = [];
  layered.forEach((value, key) => visited.push([key, value]));
  assert.deepEqual(visited, [...map.entries()]);
  assert.deepEqual([...layered.keys()], [...map.keys()]);
}

function change(rnd: () => number, layered: LayeredMap<string, number>, map: Map<string, number>) {
  const key = `k${Math.floor(rnd() * 60)}`;
  if (rnd() < 0.3) {
    assert.equal(layered.delete(key), map.delete(key));
  } else {
    const value = Math.floor(rnd() * 1000);
    layered.set(key, value);
    map.set(key, value);
  }
  assert.equal(layered.get(key), map.get(key));
  assert.equal(layered.has(key), map.has(key));
}

describe('LayeredMap', () => {
  it('matches a Map through random changes, copies and flattens', () => {
    const rnd = random(42);
    let layered = LayeredMap.adopt<string, number>();
    let map = new Map<string, number>();
    const snapshots: [LayeredMap<string, number>, Map<string, number>][] = [];
    for (let round = 0; round < 400; round++) {
      for (let i = 0; i < 1 + Math.floor(rnd() * 20); i++) change(rnd, layered, map);
      sameAs(layered, map);
      snapshots.push([layered, new Map(map)]);
      layered = layered.copy();
      map = new Map(map);
    }
    // Changing later copies never showed in earlier ones.
    for (const [old, expected] of snapshots) sameAs(old, expected);
  });

  it('flattens a copy whose layers outgrew its root, keeping order', () => {
    const layered = LayeredMap.adopt<string, number>(new Map([['a', 1]]));
    for (let i = 0; i < 3000; i++) layered.set(`n${i}`, i);
    layered.delete('a');
    layered.set('a', 2);
    const copy = layered.copy();
    assert.deepEqual([...copy.keys()].slice(-2), ['n2999', 'a']);
    assert.equal(copy.size, 3001);
  });

  it('reports additions only while a copy only added', () => {
    const base = LayeredMap.adopt(new Map([['a', 1]]));
    assert.equal(base.additions(), undefined, 'not a copy');

    const grown = base.copy();
    grown.set('b', 2);
    grown.set('c', 3);
    grown.set('b', 4);
    assert.deepEqual(grown.additions(), [
      ['b', 4],
      ['c', 3],
    ]);

    const replaced = base.copy();
    replaced.set('b', 2);
    replaced.set('a', 5);
    assert.equal(replaced.additions(), undefined);

    const removed = base.copy();
    removed.set('b', 2);
    removed.delete('b');
    assert.equal(removed.additions(), undefined);
    assert.deepEqual(base.copy().additions(), []);
  });
});
