/**
 * A throwaway one-node Slurm cluster for end-to-end tests, following the recipe in the shared
 * toolchain notes ("Slurm on one machine"): a munged, a slurmctld and a slurmd of our own, all
 * configured, keyed and logging under one temp directory, on free ports, so nothing on the
 * machine (an /etc/munge key, a system munged, a real cluster's slurm.conf) is read or changed.
 *
 * Needs root and the Debian packages `slurmctld slurmd slurm-client munge`. Every wait is
 * bounded; `stop()` always leaves no daemon behind (pid files first, then any process whose
 * command line names our directory), and exit and signal hooks kill them if the test process
 * ends first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';

/** What CI installs; named in the failure message when something is missing. */
export const SLURM_APT_INSTALL = 'apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge';

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'scontrol', 'scancel', 'runuser'] as const;
type Binary = (typeof BINARIES)[number];
export type SlurmBinaries = Record<Binary, string>;

export interface CommandResult { code: number | null; stdout: string; stderr: string }

/**
 * The absolute path of every binary the cluster needs (daemons live in /usr/sbin, which a
 * non-login PATH may lack), or an Error that says what is missing and how CI installs it.
 * Also checks root and the `munge` user, which the packages create.
 */
export function findSlurm(): { binaries: SlurmBinaries } | { error: string } {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  const found: Partial<SlurmBinaries> = {};
  const missing: string[] = [];
  for (const name of BINARIES) {
    const path = dirs.map((d) => join(d, name)).find((p) => { try { accessSync(p, constants.X_OK); return true; } catch { return false; } });
    if (path) found[name] = path; else missing.push(name);
  }
  if (missing.length) {
    return { error: `Slurm is not installed: ${missing.join(', ')} not found (looked in PATH, /usr/sbin, /sbin). ` +
      `This test runs a real Slurm cluster; CI installs it with \`${SLURM_APT_INSTALL}\`.` };
  }
  if (process.getuid?.() !== 0) return { error: 'the Slurm test starts munged, slurmctld and slurmd itself and must run as root' };
  if (userIds('munge') === null) return { error: `no 'munge' user (the munge package creates it: ${SLURM_APT_INSTALL})` };
  return { binaries: found as SlurmBinaries };
}

function userIds(name: string): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a command to completion with a time limit; resolves on any exit code. */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/**
 * Starts a daemon that forks into the background: waits for the foreground process only (its
 * output goes to a file, not a pipe, so a daemon holding the descriptor cannot stall us).
 */
function startDaemon(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, outFile: string, timeoutMs: number): Promise<number | null> {
  const fd = openSync(outFile, 'a');
  try {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env, stdio: ['ignore', fd, fd] });
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} did not return within ${timeoutMs} ms`)); }, timeoutMs);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('exit', (code) => { clearTimeout(timer); resolve(code); });
    });
  } finally {
    closeSync(fd);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Alive and not a zombie (a daemon whose parent is gone may linger as one until reaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export class LocalSlurm {
  readonly conf: string;
  /** The short host name, which is also the node's name. */
  readonly node = hostname().split('.')[0];
  /** Environment for every Slurm client command: our slurm.conf, nothing else changed. */
  readonly env: NodeJS.ProcessEnv;
  private readonly munge: { run: string; etc: string };
  private readonly pidFiles: { name: string; path: string }[];
  private readonly jobs: string[] = [];
  private readonly exitHook = () => this.killNow();
  /** Killed by a signal (a runner's timeout, ^C): stop the daemons, then die of it as before. */
  private readonly signalHook = (signal: NodeJS.Signals) => {
    this.killNow();
    this.removeHooks();
    process.kill(process.pid, signal);
  };

  constructor(readonly root: string, readonly bin: SlurmBinaries) {
    this.conf = join(root, 'slurm', 'slurm.conf');
    this.env = { ...process.env, SLURM_CONF: this.conf };
    this.munge = { run: join(root, 'munge'), etc: join(root, 'munge-etc') };
    // Stop order: slurmd, then slurmctld, then munged (both Slurm daemons authenticate through it).
    this.pidFiles = [
      { name: 'slurmd', path: join(root, 'slurm', 'slurmd.pid') },
      { name: 'slurmctld', path: join(root, 'slurm', 'slurmctld.pid') },
      { name: 'munged', path: join(this.munge.run, 'munged.pid') },
    ];
  }

  /** Starts munged, slurmctld and slurmd and waits until the node is idle; throws by `deadline`. */
  async start(deadline: number): Promise<void> {
    process.once('exit', this.exitHook);
    for (const sig of SIGNALS) process.once(sig, this.signalHook);
    const { root, munge } = this;
    const ids = userIds('munge')!;
    // munged runs as 'munge' and insists on safe directories: the socket's 0755, the key's 0700.
    await chmod(root, 0o755);
    for (const [dir, mode] of [[munge.run, 0o755], [munge.etc, 0o700]] as const) {
      await mkdir(dir, { recursive: true });
      await chown(dir, ids.uid, ids.gid);
      await chmod(dir, mode);
    }
    const key = join(munge.etc, 'munge.key');
    await writeFile(key, randomBytes(1024), { mode: 0o400 });
    await chown(key, ids.uid, ids.gid);
    const socket = join(munge.run, 'munge.socket');
    const mungeCode = await startDaemon(this.bin.runuser, ['-u', 'munge', '--', this.bin.munged,
      `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${join(munge.run, 'munged.pid')}`,
      `--log-file=${join(munge.etc, 'munged.log')}`, `--seed-file=${join(munge.etc, 'munged.seed')}`],
    process.env, join(root, 'munged.start.log'), 10_000);
    if (mungeCode !== 0) throw new Error(`munged failed to start (exit ${mungeCode})\n${this.logs()}`);

    for (const d of ['state', 'spool', 'log']) await mkdir(join(root, 'slurm', d), { recursive: true });
    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    await writeFile(this.conf, this.slurmConf(socket, ctldPort, slurmdPort));
    for (const daemon of ['slurmctld', 'slurmd'] as const) {
      const args = daemon === 'slurmd' ? ['-f', this.conf, '-N', this.node] : ['-f', this.conf];
      const code = await startDaemon(this.bin[daemon], args, this.env, join(root, `${daemon}.start.log`), 15_000);
      if (code !== 0) throw new Error(`${daemon} failed to start (exit ${code})\n${this.logs()}`);
    }

    let state = '';
    while (Date.now() < deadline) {
      const r = await run(this.bin.sinfo, ['-h', '-n', this.node, '-o', '%T'], { env: this.env, timeoutMs: 10_000 });
      state = r.stdout.trim() || r.stderr.trim();
      if (r.code === 0 && state === 'idle') return;
      await sleep(250);
    }
    throw new Error(`the Slurm node ${this.node} did not become idle in time (last sinfo: ${state || 'nothing'})\n${this.logs()}`);
  }

  private slurmConf(mungeSocket: string, ctldPort: number, slurmdPort: number): string {
    const s = join(this.root, 'slurm');
    const cpus = availableParallelism();
    const memory = Math.min(1024, Math.floor(totalmem() / 2 ** 20));
    return [
      'ClusterName=ridgeline-test',
      // The address in parentheses: clients need not resolve the host name.
      `SlurmctldHost=${this.node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${mungeSocket}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'MpiDefault=none',
      'ReturnToService=2',
      // Trust the node line below even where the container's hardware looks different.
      'SlurmdParameters=config_overrides',
      `StateSaveLocation=${join(s, 'state')}`,
      `SlurmdSpoolDir=${join(s, 'spool')}`,
      `SlurmctldPidFile=${join(s, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(s, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(s, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(s, 'log', 'slurmd.log')}`,
      `NodeName=${this.node} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memory} State=UNKNOWN`,
      'PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n');
  }

  /**
   * Submits a batch script; returns the job id. The job inherits (Slurm's default
   * `--export=ALL`) a bare environment: PATH, SLURM_CONF and `env`, not the test runner's.
   * (`--export=NONE` or a variable list would do too, but there slurmd first loads root's
   * login environment, which costs 5–8 s per task here.)
   */
  async sbatch(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
    const bare = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SLURM_CONF: this.conf, ...env };
    const r = await run(this.bin.sbatch, ['--parsable', ...args], { env: bare });
    const id = r.stdout.trim().split(';')[0];
    if (r.code !== 0 || !/^\d+$/.test(id)) throw new Error(`sbatch ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
    this.jobs.push(id);
    return id;
  }

  /** Polls `squeue` until the job (every array task) has left the queue. */
  async waitForJob(id: string, deadline: number): Promise<void> {
    let last = '';
    while (Date.now() < deadline) {
      const r = await run(this.bin.squeue, ['-h', '-j', id, '-o', '%i %T %R'], { env: this.env, timeoutMs: 10_000 });
      // Once slurmctld purges a finished job, squeue says the id is invalid: gone too.
      if ((r.code === 0 && r.stdout.trim() === '') || /Invalid job id/i.test(r.stderr)) return;
      last = (r.stdout + r.stderr).trim();
      await sleep(500);
    }
    throw new Error(`job ${id} still queued or running at the deadline:\n${last}\n${this.logs()}`);
  }

  /** State and exit code of each array task of a finished job (no sacct: slurmctld's memory). */
  async jobTasks(id: string): Promise<{ task: number; state: string; exitCode: string }[]> {
    const r = await run(this.bin.scontrol, ['-o', 'show', 'job', id], { env: this.env });
    if (r.code !== 0) throw new Error(`scontrol show job ${id} failed: ${r.stderr}`);
    return r.stdout.trim().split('\n').filter(Boolean).map((line) => {
      const field = (k: string) => new RegExp(`(?:^| )${k}=(\\S*)`).exec(line)?.[1] ?? '';
      return { task: Number(field('ArrayTaskId')), state: field('JobState'), exitCode: field('ExitCode') };
    }).sort((a, b) => a.task - b.task);
  }

  /** The last lines of every daemon log, for failure messages. */
  logs(lines = 15): string {
    const files = [
      join(this.root, 'munged.start.log'), join(this.munge.etc, 'munged.log'),
      join(this.root, 'slurmctld.start.log'), join(this.root, 'slurm', 'log', 'slurmctld.log'),
      join(this.root, 'slurmd.start.log'), join(this.root, 'slurm', 'log', 'slurmd.log'),
    ];
    return files.filter((f) => existsSync(f)).map((f) => {
      const text = readFileSync(f, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      return `--- ${f} ---\n${text}`;
    }).join('\n');
  }

  /**
   * Cancels our jobs, stops the daemons by their pid files (SIGTERM, then SIGKILL after 5 s),
   * then kills anything still running whose command line names our directory (a job's
   * process, a daemon that died before writing its pid file). Never throws.
   */
  async stop(): Promise<void> {
    this.removeHooks();
    if (this.jobs.length && existsSync(this.conf)) {
      await run(this.bin.scancel, this.jobs, { env: this.env, timeoutMs: 5_000 }).catch(() => undefined);
    }
    for (const { name, path } of this.pidFiles) {
      const pid = this.pidFrom(path, name);
      if (pid === null) continue;
      await this.terminate(pid);
    }
    for (const pid of this.strays()) await this.terminate(pid);
  }

  private removeHooks(): void {
    process.removeListener('exit', this.exitHook);
    for (const sig of SIGNALS) process.removeListener(sig, this.signalHook);
  }

  private async terminate(pid: number): Promise<void> {
    try { process.kill(pid, 'SIGTERM'); } catch { return; }
    const until = Date.now() + 5_000;
    while (alive(pid) && Date.now() < until) await sleep(50);
    if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }

  /** For the exit hook: no awaiting left, so signal everything at once. */
  private killNow(): void {
    for (const { name, path } of this.pidFiles) {
      const pid = this.pidFrom(path, name);
      if (pid !== null) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
    for (const pid of this.strays()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }

  /** The pid in a pid file, if that process is alive and is still the daemon named. */
  private pidFrom(path: string, name: string): number | null {
    try {
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return null;
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith(name.slice(0, 15)) ? pid : null;
    } catch {
      return null;
    }
  }

  /** Live processes (not us) whose command line mentions our temp directory. */
  private strays(): number[] {
    const pids: number[] = [];
    let entries: string[] = [];
    try { entries = readdirSync('/proc'); } catch { return pids; }
    for (const e of entries) {
      const pid = Number(e);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.root) && alive(pid)) pids.push(pid);
      } catch { /* exited meanwhile */ }
    }
    return pids;
  }
}

/** A job's output files, concatenated with their names, for failure messages. */
export async function readOutputs(dir: string): Promise<string> {
  if (!existsSync(dir)) return '(no job output)';
  const parts: string[] = [];
  for (const f of readdirSync(dir).sort()) parts.push(`--- ${f} ---\n${await readFile(join(dir, f), 'utf8')}`);
  return parts.join('\n') || '(no job output)';
}

/** One shell word, single-quoted. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
