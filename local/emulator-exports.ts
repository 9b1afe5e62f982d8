/**
 * The variables that point the operator CLI at an iBinder emulator, as `export` lines a person
 * pastes into a shell. `npm run emulator` and `npm run local` print the same lines.
 */
import type { Emulator } from '../emulator/types.js';
import { shellExportLines } from './shell-export.js';

export function emulatorShellExports(
  emulator: Pick<Emulator, 'apiBaseUrl' | 'tokenUrl' | 'tenantId' | 'clientId' | 'clientSecret'>,
): string[] {
  return shellExportLines([
    { name: 'IBINDER_API_URL', value: emulator.apiBaseUrl },
    { name: 'IBINDER_TOKEN_URL', value: emulator.tokenUrl },
    { name: 'IBINDER_ORG_ID', value: emulator.tenantId },
    { name: 'IBINDER_CLIENT_ID', value: emulator.clientId },
    // The emulator's fixed demo credentials: printing them is the point; they open nothing else.
    { name: 'IBINDER_CLIENT_SECRET', value: emulator.clientSecret, note: 'demo credentials of the emulator only' },
  ]);
}
