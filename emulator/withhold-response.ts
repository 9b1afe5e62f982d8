/**
 * A dropped response (the emulators' `dropResponse` fault): the handler still reads the request
 * and does its work (stores the upload, commits the version, saves the asset), but the moment
 * it starts to answer, the socket is destroyed instead. Nothing of the answer leaves the
 * process, so the client sees a network error for work that was done, and the call is counted
 * with status 0. Both emulators (iBinder's and Bynder's) use it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function withholdResponse(req: IncomingMessage, res: ServerResponse): void {
  const drop = (): void => {
    req.socket.destroy();
  };
  res.writeHead = ((): ServerResponse => {
    drop();
    return res;
  }) as typeof res.writeHead;
  res.write = ((): boolean => {
    drop();
    return false;
  }) as typeof res.write;
  res.end = ((): ServerResponse => {
    drop();
    return res;
  }) as typeof res.end;
}
