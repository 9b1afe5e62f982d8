/**
 * Identifier shapes the Bynder API uses. The v4 API keys assets, brands, metaproperties and
 * options with ColdFusion UUIDs (`8-4-4-16` hex, upper case); the newer file service and save
 * replies use RFC 4122 UUIDs. A client that mixes them up gets a 404 from a real portal, so the
 * emulator keeps the two shapes apart too.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

function coldFusionFrom(hex: string): string {
  const h = hex.toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 32)}`;
}

/** A ColdFusion-style id derived from a name: the same name gives the same id on every run. */
export function deterministicColdFusionId(name: string): string {
  return coldFusionFrom(createHash('sha1').update('bynder-emulator:').update(name).digest('hex'));
}

/** A fresh ColdFusion-style id (`8-4-4-16`). */
export function newColdFusionId(): string {
  return coldFusionFrom(randomBytes(16).toString('hex'));
}

/** A fresh RFC 4122 UUID (file ids, batch and access-request ids). */
export function newUuid(): string {
  return randomUUID();
}

export const COLDFUSION_ID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{16}$/i;
export const RFC4122_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
