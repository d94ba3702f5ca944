/**
 * Reads the committed study stores (docs/studies/<preset>/) into the README's results table
 * rows, one per full-data preset, in the registry's order. Node: reads files.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { analyze } from '../study/analysis.js';
import { PRESET_NAMES, preset as presetConfigs } from '../study/presets.js';
import { coverage } from './tables.js';
import { readStudyDir } from './write.js';
import type { PresetResult } from './results-table.js';
import { STUDY_FILE } from '../node/study-dir.js';

/** The presets the README reports: every full-data study but the quick default and the `all` alias. */
export const REPORTED_PRESETS = PRESET_NAMES.filter((p) => p !== 'default' && p !== 'all');

/** `studiesDir` holds one directory per preset; links are made relative to `linkBase` (the README's directory). */
export async function readPresetResults(studiesDir: string, linkBase: string): Promise<PresetResult[]> {
  const out: PresetResult[] = [];
  for (const preset of REPORTED_PRESETS) {
    const dir = join(studiesDir, preset);
    const axis = presetConfigs(preset, true)[0].axis;
    if (!existsSync(join(dir, STUDY_FILE))) {
      out.push({ preset, axis, reportLink: null, analysis: null, coverage: null });
      continue;
    }
    const input = await readStudyDir(dir);
    const metricFor = (study: string) => input.study?.configs.find((c) => c.name === study)?.metric;
    const analysis = analyze(input.results, { metricFor }).find((a) => a.study === preset) ?? null;
    const report = join(dir, 'report.md');
    out.push({
      preset,
      axis,
      reportLink: existsSync(report) ? relative(linkBase, report) : null,
      analysis,
      coverage: coverage({ ...input, analyses: analysis ? [analysis] : [] }, preset),
    });
  }
  return out;
}
