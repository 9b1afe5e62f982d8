/**
 * The Bynder connector's settings in an environment (`bynder` in PIPELINE_CONFIG and in the
 * environment's entry of cdk.json). Optional: an environment without it serves iBinder only.
 *
 * Each connector has its own credentials secret, rate budget, defaults and routing rules; a
 * file's connector is chosen by its tag namespace (`bynder:`) or by the routing rule that
 * covers its key.
 */
import { nfc } from '../../config/unicode.js';
import * as z from '../../validation/zod.js';
import { lazySchema } from '../../validation/lazy-schema.js';

const nfcText = () => z.pipe(z.string().check(z.minLength(1)), z.transform(nfc));

/** Token path every released SDK uses; the published outline names `/v6/authentication/oauth2/token/client-credentials`. */
export const DEFAULT_BYNDER_TOKEN_PATH = '/v6/authentication/oauth2/token';

/** Where files under a prefix go in Bynder when their tags do not say. */
export const BynderRoutingRuleSchema = lazySchema(() =>
  z.strictObject({
    prefix: nfcText().check(
      z.describe('Object key prefix, e.g. "inbox/marketing/"; the longest matching prefix over all connectors wins.'),
    ),
    /** Brand id or name. */
    brand: nfcText().check(z.describe('Brand id or name the files go to.')),
    /** Metaproperty name -> option names or ids (comma-separated for multi-select); tags win per metaproperty. */
    metadata: z._default(z.record(nfcText(), nfcText()), {}),
    tags: z.optional(z.array(nfcText())),
    /** A file whose name already exists as an asset in the brand becomes a new version of it. */
    sameNameIsNewVersion: z._default(z.boolean(), false),
    /** Brands (ids or names) files under this prefix may reach, tags included. Absent: the rule's own brand. */
    allowBrands: z.optional(z.array(nfcText()).check(z.minLength(1))),
  }),
);
export type BynderRoutingRule = z.infer<typeof BynderRoutingRuleSchema>;

export const BynderConfigSchema = lazySchema(() =>
  z.strictObject({
    /** The portal's base URL, e.g. https://example.bynder.com. */
    portalUrl: z.url(),
    /** Full token URL; default `<portalUrl>/v6/authentication/oauth2/token`. */
    tokenUrl: z.optional(z.url()),
    /** Secrets Manager secret holding {"clientId","clientSecret"} or {"permanentToken"}. */
    credentialsSecretName: nfcText(),
    /** OAuth scopes asked for; exactly what the connector needs. */
    scopes: z._default(z.string(), 'asset:read asset:write meta.assetbank:read'),
    /** `file-service` (chunked /v7 upload) or `legacy` (the S3 POST flow every released SDK uses). */
    uploadFlow: z._default(z.enum(['file-service', 'legacy']), 'file-service'),
    /** Path readings of the file-service upload: the SDKs' `/v7/file_cmds/upload` (…/finalise_api) or the outline's `/v7/file/cmds/upload` (…/finalise). */
    fileServicePaths: z._default(z.enum(['sdk', 'outline']), 'sdk'),
    /** Client-side request budget per function instance (requests per second). */
    requestsPerSecond: z._default(z.number().check(z.positive()), 10),
    /** After a 429 (a block with no Retry-After), no call for this long (s); Bynder lifts the block after 5 quiet minutes. */
    throttlePauseSeconds: z._default(z.int().check(z.gte(300)), 330),
    /** Records of one batch sent to Bynder at once. */
    maxConcurrentRecords: z._default(z.int().check(z.positive()), 4),
    /** Files without `bynder:brand` and without a rule go here (id or name); absent: they need a tag or a rule. */
    defaultBrand: z.optional(nfcText()),
    routingRules: z._default(z.array(BynderRoutingRuleSchema), []),
    /** Brands (ids or names) files under a prefix without a Bynder rule may reach: "any" or a list. */
    unlistedPrefixes: z._default(z.union([z.literal('any'), z.literal('none'), z.array(nfcText())]), 'any'),
    /** Name of the nightly export's portal folder in the archive (`<portal>/<brandId>/<assetId>/...`); default the portal host's first label. */
    archivePortalName: z.optional(nfcText()),
    /** Brands the nightly export covers; absent: all. */
    exportBrands: z.optional(z.array(nfcText())),
  }),
);
export type BynderConfig = z.infer<typeof BynderConfigSchema>;
export type BynderConfigInput = z.input<typeof BynderConfigSchema>;
