/**
 * Build-time collection of the committed study results: `virtual:ridgeline-studies` holds
 * every docs/studies/<preset>/ that has a study.json, read as `study report` reads it
 * (src/node/study-dir.ts: every results*.jsonl, unioned by trial id). The page analyzes them
 * itself, so a study that lands later shows up on the next build with no change to the page.
 * Per-epoch curves are dropped: the analysis reads only each trial's final numbers.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';
import { readAllResults, readStudyFile, STUDY_FILE } from '../src/node/study-dir.js';
import type { CommittedStudy } from './src/studies.js';

const ID = 'virtual:ridgeline-studies';
const RESOLVED = `\0${ID}`;

export function collectStudies(studiesDir: string): CommittedStudy[] {
  if (!existsSync(studiesDir)) return [];
  return readdirSync(studiesDir).sort()
    .filter((name) => existsSync(join(studiesDir, name, STUDY_FILE)))
    .map((name) => {
      const dir = join(studiesDir, name);
      const { results, notes } = readAllResults(dir);
      return { name, study: readStudyFile(dir), results: results.map(({ curve: _curve, ...r }) => r), notes };
    });
}

export function studiesPlugin(studiesDir: string): Plugin {
  return {
    name: 'ridgeline-studies',
    resolveId: (id) => (id === ID ? RESOLVED : undefined),
    load(id) {
      if (id !== RESOLVED) return undefined;
      return `export default ${JSON.stringify(collectStudies(studiesDir))};`;
    },
    // In dev, results a running study appends show up on the next page load.
    configureServer(server) {
      server.watcher.add(studiesDir);
      server.watcher.on('all', (_event, file) => {
        if (!file.startsWith(studiesDir)) return;
        const module = server.moduleGraph.getModuleById(RESOLVED);
        if (module) server.moduleGraph.invalidateModule(module);
      });
    },
  };
}
