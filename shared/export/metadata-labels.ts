/**
 * Labels for metadata ids. Sources store metadata as element ids and value ids; the sidecar
 * carries the labels people know as well, so an archive is readable without the source.
 * Schemas change rarely and every version of a binder needs the same one, so it is fetched
 * once per binder and kept for a while (for the life of a warm Lambda, bounded by a TTL).
 */
import type { SourceMetadataElement, SourceMetadataValue } from '../export-source/types.js';

export interface LabelledMetadataValue {
  metadataElementId: string;
  /** The element's label; null when the binder's schema no longer has the element. */
  label: string | null;
  valueId: string;
  /**
   * The value's label from the element's allowed values. For an element without a list of
   * allowed values (free text, dates) the value is its own label; null when the element has
   * a list that does not contain the value (it was removed from the schema).
   */
  valueLabel: string | null;
}

export function labelMetadata(values: SourceMetadataValue[], schema: SourceMetadataElement[]): LabelledMetadataValue[] {
  const elements = new Map(schema.map((e) => [e.id, e]));
  return values.map((v) => {
    const element = elements.get(v.metadataElementId);
    let valueLabel: string | null = null;
    if (element) {
      valueLabel = element.allowedValues.length === 0 ? v.valueId : (element.allowedValues.find((a) => a.id === v.valueId)?.label ?? null);
    }
    return { metadataElementId: v.metadataElementId, label: element?.label ?? null, valueId: v.valueId, valueLabel };
  });
}

export const DEFAULT_SCHEMA_TTL_MS = 15 * 60 * 1000;

/** Per-binder cache of metadata schemas; a failed lookup is not cached. */
export class MetadataSchemaCache {
  private readonly entries = new Map<string, { loadedAt: number; schema: Promise<SourceMetadataElement[]> }>();

  constructor(
    private readonly load: (binderId: string) => Promise<SourceMetadataElement[]>,
    private readonly ttlMs = DEFAULT_SCHEMA_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(binderId: string): Promise<SourceMetadataElement[]> {
    const cached = this.entries.get(binderId);
    if (cached && this.now() - cached.loadedAt < this.ttlMs) return cached.schema;
    const schema = this.load(binderId);
    this.entries.set(binderId, { loadedAt: this.now(), schema });
    schema.catch(() => {
      if (this.entries.get(binderId)?.schema === schema) this.entries.delete(binderId);
    });
    return schema;
  }
}
