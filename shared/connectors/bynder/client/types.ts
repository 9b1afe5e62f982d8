/**
 * What the Bynder connector (target resolution, validation, destination, export source) needs
 * of Bynder's API. `HttpBynderClient` implements it over HTTP (auth, rate budget, retries,
 * both upload flows and both path readings); tests hand in the emulator's URL or a fake.
 *
 * Every shape is what the connector reads, normalised from the wire: flags as booleans (the
 * API sends 0/1 or true/false), metaproperties as a list (the API keys its dictionary by
 * something other than their name), dates as ISO strings. Unknown fields are ignored.
 */
import type { Readable } from 'node:stream';

export interface BynderBrand {
  id: string;
  name: string;
  subBrands: { id: string; name: string }[];
}

export interface BynderMetapropertyOption {
  id: string;
  /** The option's name (what `property_<name>` and tags use). */
  name: string;
  /** The label people see, when it differs from the name. */
  label?: string | undefined;
}

export interface BynderMetaproperty {
  id: string;
  name: string;
  label?: string | undefined;
  isMultiselect: boolean;
  isRequired: boolean;
  /** Select-type metaproperties have options; free text ones do not. */
  type?: string | undefined;
  options: BynderMetapropertyOption[];
}

export interface BynderMediaItem {
  id: string;
  fileName?: string | undefined;
  version: number;
  active: boolean;
  size?: number | undefined;
  dateCreated?: string | undefined;
}

export interface BynderAsset {
  id: string;
  name: string;
  description?: string | undefined;
  brandId: string;
  type?: string | undefined;
  extension: string[];
  fileSize?: number | undefined;
  dateCreated?: string | undefined;
  dateModified?: string | undefined;
  tags: string[];
  /** Option ids set on the asset. */
  propertyOptions: string[];
  /** `property_<name>` values, as lists. */
  properties: Record<string, string[]>;
  /** The active version number, when the API says. */
  activeVersion?: number | undefined;
  /** Only with `versions: true`. */
  mediaItems?: BynderMediaItem[] | undefined;
  archive: boolean;
}

export interface ListMediaQuery {
  brandId?: string | undefined;
  keyword?: string | undefined;
  tags?: string | undefined;
  /** ISO date: modified after (strict or not: unconfirmed). */
  dateModified?: string | undefined;
  dateModifiedTo?: string | undefined;
  /** e.g. `dateModified asc`. */
  orderBy?: string | undefined;
  limit?: number | undefined;
  page?: number | undefined;
  /** Ask for the total (`total=1`). */
  total?: boolean | undefined;
}

export interface MediaPage {
  media: BynderAsset[];
  /** Present when asked for and the API answered it. */
  total?: number | undefined;
}

export interface SaveAssetRequest {
  /** The import id (file-service: the file id after finalise; legacy: the importId). */
  importId: string;
  brandId: string;
  name: string;
  description?: string | undefined;
  tags?: string[] | undefined;
  /** metapropertyId -> option ids. */
  metaproperties: Record<string, string[]>;
}

export interface SaveVersionRequest {
  importId: string;
  mediaId: string;
}

export interface SavedAsset {
  mediaId: string;
  /** `mediaitems[].id` when the reply has them. */
  mediaItemId?: string | undefined;
}

/** A file being uploaded; `uploadId` goes to the ledger before any byte moves. */
export interface BynderUpload {
  /** File-service: the file id. Legacy: `<targetid>` of init; both serve as the save's import id after finalise (legacy: the importId). */
  uploadId: string;
  flow: 'file-service' | 'legacy';
  /** File-service: the path reading `prepare` succeeded on (chunks and finalise use the same). */
  fileServicePaths?: 'sdk' | 'outline' | undefined;
  /**
   * Legacy: where and how the parts go (from `endpoint` and `init`). Holds the S3 POST policy
   * and its signature: never log it.
   */
  legacy?: LegacyUploadTarget | undefined;
}

/** What the legacy flow's `GET /api/upload/endpoint` and `POST /api/upload/init` handed out. */
export interface LegacyUploadTarget {
  /** The bucket URL the parts are POSTed to (no bearer token goes there). */
  endpoint: string;
  /** `s3file.uploadid`: the id register and finalise name. */
  uploadId: string;
  /** `s3file.targetid`. */
  targetId: string;
  /** `s3_filename`: part n is stored under `<s3Filename>/p<n>`. */
  s3Filename: string;
  /** `multipart_params`: the POST policy fields sent with every part. */
  multipartParams: Record<string, string>;
}

/** Client credentials (exchanged for a token) or a permanent token (sent as is). */
export type BynderCredentials = { clientId: string; clientSecret: string } | { permanentToken: string };

/** Where the credentials come from (the Lambda reads Secrets Manager; see credentials.ts). */
export type BynderCredentialsProvider = () => Promise<BynderCredentials>;

export interface UploadSource {
  /** Opens the bytes from `start` (inclusive) to `end` (exclusive); a failed chunk re-reads only its range. */
  open: (range?: { start: number; end: number } | undefined) => Promise<Readable>;
  size: number;
  fileName: string;
}

export interface BynderClient {
  listBrands(): Promise<BynderBrand[]>;
  /** Every metaproperty with its options (options paged in when the listing leaves them out). */
  listMetaproperties(): Promise<BynderMetaproperty[]>;
  listMedia(query: ListMediaQuery): Promise<MediaPage>;
  /** One asset, `versions` adds mediaItems. Undefined on 404 (deleted, or never existed). */
  getMedia(id: string, options?: { versions?: boolean | undefined }): Promise<BynderAsset | undefined>;
  /** Starts an upload (file-service prepare, or legacy endpoint + init). */
  startUpload(fileName: string): Promise<BynderUpload>;
  /**
   * Streams the bytes (chunks of at most 5 MiB, each with its SHA-256, each retried on its own)
   * and finalises. Returns the id the save takes (file-service: the file id; legacy: the importId,
   * after polling until it is done).
   */
  sendUpload(upload: BynderUpload, source: UploadSource): Promise<{ importId: string }>;
  /** `POST /api/v4/media/save/{importId}`; a 303 ("not converted yet") is polled, then saved. */
  saveAsNewAsset(request: SaveAssetRequest): Promise<SavedAsset>;
  /** `POST /api/v4/media/{mediaId}/save/{importId}`. */
  saveAsNewVersion(request: SaveVersionRequest): Promise<SavedAsset>;
  /** A fresh, short-lived download location (`s3_file`); never cached, never sent a bearer token. */
  getDownloadUrl(mediaId: string, options?: { version?: number | undefined; itemId?: string | undefined }): Promise<string>;
  /** GET of a download location, without Authorization. */
  download(url: string): Promise<{ body: Readable; contentLength?: number | undefined; contentType?: string | undefined }>;
}
