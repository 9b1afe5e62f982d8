/**
 * How the portal's records look on the wire, following the shapes the SDKs and the published
 * examples show: flags as 0/1 on assets (booleans in some metaproperties), `extension` as an
 * array, dates as whole-second `YYYY-MM-DDTHH:MM:SSZ`, `property_<name>` holding option names
 * (or the text of a free-text metaproperty), and a few fields a client must tolerate but need
 * not know.
 */
import type { AssetRecord, BynderState, MediaItemRecord, MetapropertyRecord, OptionRecord } from './state.js';
import { extensionOf } from './state.js';

export function bynderDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const flag = (value: boolean): number => (value ? 1 : 0);

function flagAs(style: MetapropertyRecord['flagStyle'], value: boolean): number | boolean {
  return style === 'number' ? flag(value) : value;
}

export function optionToWire(option: OptionRecord, index: number): Record<string, unknown> {
  return {
    id: option.id,
    name: option.name,
    label: option.label,
    displayLabel: option.label,
    zindex: index + 1,
    isSelectable: true,
    linkedOptionIds: [],
    labels: {},
  };
}

export function metapropertyToWire(mp: MetapropertyRecord, inlineOptionLimit?: number): Record<string, unknown> {
  const options = inlineOptionLimit === undefined ? mp.options : mp.options.slice(0, inlineOptionLimit);
  return {
    id: mp.id,
    name: mp.name,
    label: mp.label,
    type: mp.type,
    isMultiselect: flagAs(mp.flagStyle, mp.isMultiselect),
    isRequired: flagAs(mp.flagStyle, mp.isRequired),
    isFilterable: flagAs(mp.flagStyle, mp.type !== 'text'),
    isMainfilter: flagAs(mp.flagStyle, false),
    isEditable: flagAs(mp.flagStyle, true),
    isDisplayField: mp.flagStyle === 'number' ? 0 : false,
    zindex: 1,
    useDependencies: false,
    showInListView: 1,
    descriptions: {},
    labels: { en_US: mp.label },
    options: options.map(optionToWire),
  };
}

function propertyValues(state: BynderState, asset: AssetRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [mpId, values] of asset.metadata) {
    const mp = state.getMetaproperty(mpId);
    if (!mp || values.length === 0) continue;
    if (mp.type === 'text' || mp.type === 'longtext' || mp.type === 'date') {
      out[`property_${mp.name}`] = values[0] ?? '';
    } else {
      out[`property_${mp.name}`] = values.map((id) => mp.options.find((o) => o.id === id)?.name ?? id);
    }
  }
  return out;
}

function optionIdsOf(state: BynderState, asset: AssetRecord): string[] {
  const ids: string[] = [];
  for (const [mpId, values] of asset.metadata) {
    const mp = state.getMetaproperty(mpId);
    if (mp && mp.options.length > 0) ids.push(...values);
  }
  return ids;
}

export function assetToWire(state: BynderState, asset: AssetRecord, origin: string): Record<string, unknown> {
  const active = asset.items.find((i) => i.active) ?? asset.items.at(-1);
  const fileName = active?.fileName ?? asset.name;
  const ext = extensionOf(fileName);
  const thumbBase = `${origin}/m/${asset.idHash}`;
  const wire: Record<string, unknown> = {
    id: asset.id,
    name: asset.name,
    description: asset.description,
    copyright: asset.copyright,
    brandId: asset.brandId,
    subBrandId: asset.subBrandId ?? '',
    type: asset.type,
    extension: ext === '' ? [] : [ext],
    fileSize: active?.blob.size ?? 0,
    width: asset.width,
    height: asset.height,
    orientation: asset.width > asset.height ? 'landscape' : asset.width < asset.height ? 'portrait' : 'square',
    dateCreated: bynderDate(asset.dateCreated),
    dateModified: bynderDate(asset.dateModified),
    datePublished: bynderDate(asset.datePublished),
    userCreated: asset.userCreated,
    idHash: asset.idHash,
    tags: [...asset.tags],
    propertyOptions: optionIdsOf(state, asset),
    archive: flag(asset.archive),
    limited: flag(asset.limited),
    watermarked: flag(asset.watermarked),
    isPublic: flag(asset.isPublic),
    thumbnails: {
      mini: `${thumbBase}/mini-${asset.idHash}.png`,
      thul: `${thumbBase}/thul-${asset.idHash}.png`,
      webimage: `${thumbBase}/webimage-${asset.idHash}.png`,
    },
    videoPreviewURLs: [],
    activeOriginalFocusPoint: { x: Math.round(asset.width / 2), y: Math.round(asset.height / 2) },
    ...propertyValues(state, asset),
  };
  if (asset.isPublic) wire.original = `${thumbBase}/original/${encodeURIComponent(fileName)}`;
  return wire;
}

export function mediaItemToWire(item: MediaItemRecord): Record<string, unknown> {
  return {
    id: item.id,
    fileName: item.fileName,
    version: item.version,
    active: flag(item.active),
    size: item.blob.size,
    dateCreated: bynderDate(item.dateCreated),
    type: 'original',
  };
}

/** `GET /api/v4/media/{id}/?versions=1`: the asset plus `mediaItems` and `activeVersion`. */
export function assetWithVersionsToWire(state: BynderState, asset: AssetRecord, origin: string): Record<string, unknown> {
  const active = asset.items.find((i) => i.active) ?? asset.items.at(-1);
  return {
    ...assetToWire(state, asset, origin),
    activeVersion: active?.version ?? 0,
    mediaItems: asset.items.map(mediaItemToWire),
  };
}
