/**
 * Errors the CDK app raises before it builds anything. They are read by a platform engineer in
 * a terminal, so each one names the environment, the field and what to write instead.
 */

/** The environment entry in cdk.json (or the `-c env=` choice) cannot be used. */
export class EnvironmentConfigError extends Error {
  override readonly name = 'EnvironmentConfigError';
}
