import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintOf, sameFingerprint, type Fingerprint } from '../storage/file/atomic.ts';
import { isLightragFile, PENDING_VECTORS_FILE } from '../storage/file/layout.ts';

/**
 * The migration reads a workspace's files several times (checks, copy, verify) without
 * copying them aside, so it must know they did not change in between (known fault B02: a
 * LightRAG server replacing the GraphML mid-read). Every LightRAG file's fingerprint (size,
 * modification and change time, inode) is taken at the start and compared at the end; an
 * atomic replace changes the inode, an in-place write the size or times.
 */
export interface SourceSnapshot {
  directory: string;
  files: Map<string, Fingerprint>;
}

/** LightRAG's files, and the file backend's sidecar of rows waiting for a vector. */
export function isSourceFile(name: string): boolean {
  return isLightragFile(name) || name === PENDING_VECTORS_FILE;
}

export function listSourceFiles(directory: string): string[] {
  try {
    return readdirSync(directory, { withFileTypes: true })
      .filter((entry) => entry.isFile() && isSourceFile(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function takeSnapshot(directory: string): Promise<SourceSnapshot> {
  const files = new Map<string, Fingerprint>();
  for (const name of listSourceFiles(directory)) {
    const fingerprint = await fingerprintOf(join(directory, name));
    if (fingerprint) files.set(name, fingerprint);
  }
  return { directory, files };
}

/** Names of files added, removed or changed since `before` was taken. */
export async function changedSince(before: SourceSnapshot): Promise<string[]> {
  const after = await takeSnapshot(before.directory);
  const names = new Set([...before.files.keys(), ...after.files.keys()]);
  return [...names]
    .filter((name) => {
      const a = before.files.get(name) ?? null;
      const b = after.files.get(name) ?? null;
      return !sameFingerprint(a, b);
    })
    .sort();
}
