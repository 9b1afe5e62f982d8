/**
 * The parent's side of a measured case: forks `measured-process.ts` in a fresh Node.js process
 * (through the same TypeScript loader the bench runs under), hands it one task and waits for
 * its result. A fresh process per case, so that each peak is that case's alone and no cache,
 * socket pool or garbage from an earlier case is counted.
 *
 * The child gets a minimal environment: nothing from the operator's shell or home directory
 * (AWS profiles, config files, real endpoints) can leak into a case. Its output is kept (the last few KB) and shown only
 * when it fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { ChildMessageSchema, type MeasuredResult, type MeasuredTask } from './protocol.js';

/**
 * The child's result, plus the CPU time this process (the servers) spent while the child
 * worked: when it is close to the wall time, the servers, not the code measured, set the pace.
 */
export type MeasuredCase = MeasuredResult & {
  serverCpuMs?: number;
  /** The last few KB the process wrote (its functions' warnings and errors), for reports of failed cases. */
  output: string;
};

const CHILD_MODULE = new URL('./measured-process.ts', import.meta.url);
const OUTPUT_TAIL_BYTES = 16 * 1024;

/** Measured processes still running, so that an interrupted bench can end them. */
const running = new Set<ChildProcess>();

/** Kills every measured process this bench started that is still running (Ctrl-C, SIGTERM). */
export function killMeasuredProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface RunMeasuredOptions {
  /** The child is killed after this long. */
  timeoutMs: number;
}

export async function runMeasured(task: MeasuredTask, options: RunMeasuredOptions): Promise<MeasuredCase> {
  const child = fork(CHILD_MODULE, [], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      PATH: process.env.PATH ?? '',
      // No HOME: the SDK must not pick up a profile or config file of whoever runs the bench.
      ...(process.env.TMPDIR !== undefined ? { TMPDIR: process.env.TMPDIR } : {}),
      POWERTOOLS_SERVICE_NAME: `bench-${task.kind}`,
      // Warnings say why a record was retried; info lines would only cost time.
      POWERTOOLS_LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  });

  running.add(child);
  child.once('exit', () => running.delete(child));

  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const withOutput = (reason: string): string =>
    `${task.kind} process: ${reason}${output.trim() ? `\n--- its output (last lines) ---\n${output.trim()}` : ''}`;
  const failure = (reason: string): MeasuredCase => ({ ok: false, error: withOutput(reason), output: output.trim() });

  /**
   * The answer is given once the process has exited and its output is read to the end, so
   * that a failed case's report carries its last log lines. The result message arrives first.
   */
  return new Promise<MeasuredCase>((resolve) => {
    let received: MeasuredCase | undefined;
    let problem: string | undefined;
    let serverCpuAtStart: NodeJS.CpuUsage | undefined;
    const stop = (reason: string): void => {
      problem ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(`no result after ${Math.round(options.timeoutMs / 1000)} s; killed`), options.timeoutMs);

    child.on('message', (raw: unknown) => {
      const parsed = ChildMessageSchema.safeParse(raw);
      if (!parsed.success) {
        stop(`sent a message that is not part of the protocol: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
        return;
      }
      if (parsed.data.type === 'ready') {
        serverCpuAtStart = process.cpuUsage();
        child.send({ type: 'run', task });
        return;
      }
      const serverCpu = process.cpuUsage(serverCpuAtStart);
      received = { ...parsed.data.result, serverCpuMs: (serverCpu.user + serverCpu.system) / 1000, output: '' };
      // It exits by itself once the result is sent; a process that lingers is ended.
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    });
    child.on('error', (err) => stop(`could not be started or signalled: ${err.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = output.trim();
      if (problem === undefined && received !== undefined) {
        resolve(received.ok ? { ...received, output: tail } : { ...received, error: withOutput(received.error), output: tail });
        return;
      }
      resolve(failure(problem ?? `exited (${signal ?? `code ${code}`}) before sending a result`));
    });
  });
}
