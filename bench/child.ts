/**
 * Child processes: every measurement runs in its own process (bench/worker.ts under Node,
 * bench/torch_step.py under Debian's python3, the peak programs), one at a time, and hands back
 * one JSON object on the last line of its stdout. Progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { RidgelineError } from '../src/errors.js';
import { REPO_ROOT } from './common.js';

export const PYTHON = '/usr/bin/python3';
export const WORKER = join(REPO_ROOT, 'bench', 'worker.ts');
export const TORCH_SCRIPT = join(REPO_ROOT, 'bench', 'torch_step.py');
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;

export const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** Bad command-line input: run.ts prints the message alone and exits with 2. */
export class UsageError extends RidgelineError {}

/** A child's environment on top of this process's: a string sets the variable, null removes it. */
export type EnvChange = Record<string, string | null>;

export interface ChildOutcome {
  result: Record<string, unknown> | null;
  error?: string;
}

export function childEnv(change: EnvChange = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(change)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Spawns one child, waits for it, and parses the JSON on the last line of its stdout. */
export function runChild(command: string, args: string[], env: EnvChange = {}): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { stdout += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ result: null, error: `could not start ${command}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let parsed: Record<string, unknown> | null = null;
      try {
        parsed = JSON.parse(last) as Record<string, unknown>;
      } catch {
        // fall through
      }
      if (parsed && typeof parsed.error !== 'string' && code === 0) resolve({ result: parsed });
      else resolve({ result: parsed, error: typeof parsed?.error === 'string' ? parsed.error : `exited with ${signal ?? `code ${code}`}` });
    });
  });
}

/** Node's arguments to run a TypeScript entry (worker.ts, peak/wasm.ts) under tsx. */
export const nodeScript = (script: string, args: string[], nodeFlags: string[] = []) => [...nodeFlags, '--import', 'tsx', script, ...args];
export const nodeWorker = (args: string[], nodeFlags: string[] = []) => nodeScript(WORKER, args, nodeFlags);
