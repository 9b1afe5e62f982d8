/**
 * The ports of `npm run local`: fixed defaults, so that the variables a person exported stay
 * right from one start to the next, each changeable by a flag or a variable (0: any free port).
 */

export const DEFAULT_LIVE_PORTS = { emulator: 4010, s3: 4011, dynamodb: 4012, sqs: 4013, bynder: 4014 } as const;
export type LivePorts = { -readonly [K in keyof typeof DEFAULT_LIVE_PORTS]: number };

/** Variables that set a port when its flag is absent. */
export const LIVE_PORT_VARIABLES: Record<keyof LivePorts, string> = {
  emulator: 'IBINDER_EMULATOR_PORT',
  s3: 'LOCAL_S3_PORT',
  dynamodb: 'LOCAL_DYNAMODB_PORT',
  sqs: 'LOCAL_SQS_PORT',
  bynder: 'BYNDER_EMULATOR_PORT',
};

export class LivePortError extends Error {
  override readonly name = 'LivePortError';
}

/**
 * The ports from flags (`--<name>-port`), then variables, then the defaults. The Bynder
 * emulator, when its port is not given, follows the iBinder emulator's choice of any free port
 * (0), so that a run asking for free ports never waits on a fixed one.
 */
export function livePortsFrom(
  flags: Partial<Record<keyof LivePorts, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): LivePorts {
  const ports: LivePorts = { ...DEFAULT_LIVE_PORTS };
  for (const name of Object.keys(DEFAULT_LIVE_PORTS) as (keyof LivePorts)[]) {
    const raw = flags[name] ?? env[LIVE_PORT_VARIABLES[name]];
    if (raw === undefined || raw.trim() === '') continue;
    const port = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
      throw new LivePortError(
        `the ${name} port must be an integer from 0 to 65535, got "${raw}" (from --${name}-port or ${LIVE_PORT_VARIABLES[name]})`,
      );
    }
    ports[name] = port;
  }
  return withBynderPort(ports, flags.bynder ?? env[LIVE_PORT_VARIABLES.bynder]);
}

/** `ports` with the Bynder emulator on any free port when its own port was not given and the iBinder emulator's is 0. */
export function withBynderPort(ports: LivePorts, givenBynderPort: unknown): LivePorts {
  const given = typeof givenBynderPort === 'number' || (typeof givenBynderPort === 'string' && givenBynderPort.trim() !== '');
  return !given && ports.emulator === 0 ? { ...ports, bynder: 0 } : ports;
}
