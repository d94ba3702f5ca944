/** The committed studies as the build collected them (web/studies-plugin.ts). */
import type { StudyFile } from '../../src/study/config.js';
import type { TrialResult } from '../../src/study/run-trial.js';

export interface CommittedStudy {
  /** The directory under docs/studies/ (the preset's name). */
  name: string;
  study: StudyFile;
  /** Every finished trial, without its per-epoch curve. */
  results: Omit<TrialResult, 'curve'>[];
  /** Notices from reading the stores (a torn last line ignored). */
  notes: string[];
}
