/**
 * `metaproperties`: the Bynder portal's metaproperties (bynder:meta:<name> tags): which are
 * required, single- or multi-select, and their options. Options by name in the table, with ids
 * in `--json` (ids are the safest tag values: they never hold a `+`).
 */
import { Option } from 'commander';
import type { BynderMetaproperty } from '../../shared/connectors/bynder/index.js';
import type { CommandRegistration } from '../command.js';
import { EXIT } from '../errors.js';
import { table } from '../output.js';

/** How many option names a table row shows before "and N more" (--json lists every one). */
const OPTIONS_SHOWN = 8;

/** Bynder's select types; other types (text, date...) take a free value. */
function selectionOf(m: BynderMetaproperty): 'multi-select' | 'single-select' | 'free text' {
  if (m.options.length === 0 && m.type !== undefined && !/select/i.test(m.type)) return 'free text';
  return m.isMultiselect ? 'multi-select' : 'single-select';
}

export const registerMetapropertiesCommand: CommandRegistration = (program, action) => {
  program
    .command('metaproperties')
    .description("show the Bynder portal's metaproperties (bynder:meta:<name> tags): required ones, selection and options")
    .addOption(new Option('--all-options', 'list every option in the table (default: the first few)'))
    .action(
      action(async (ctx, command) => {
        const allOptions = command.opts<{ allOptions?: boolean }>().allOptions === true;
        const connector = await ctx.bynder();
        const metaproperties = [...(await connector.metaproperties({ fresh: true }))].sort((a, b) => a.name.localeCompare(b.name));
        const required = metaproperties.filter((m) => m.isRequired).map((m) => m.name);
        ctx.output.result(
          {
            required,
            metaproperties: metaproperties.map((m) => ({
              id: m.id,
              name: m.name,
              label: m.label ?? null,
              type: m.type ?? null,
              selection: selectionOf(m),
              multiselect: m.isMultiselect,
              required: m.isRequired,
              tagKey: `bynder:meta:${m.name}`,
              options: m.options.map((o) => ({ id: o.id, name: o.name, label: o.label ?? null })),
            })),
          },
          () => {
            if (metaproperties.length === 0)
              return ['No metaproperties: the portal has none the integration can see; no bynder:meta: tags are needed.'];
            const rows = metaproperties.map((m) => {
              const names = m.options.map((o) => o.name);
              const shown = allOptions ? names : names.slice(0, OPTIONS_SHOWN);
              const more = names.length - shown.length;
              return [
                m.id,
                m.name,
                m.label ?? '',
                selectionOf(m),
                m.isRequired ? 'yes' : 'no',
                m.options.length === 0 ? '(any value)' : `${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`,
              ];
            });
            return [
              `${metaproperties.length} metaproperties, ${required.length} required${required.length > 0 ? ` (${required.join(', ')})` : ''}.`,
              ...table(['ID', 'NAME', 'LABEL', 'SELECT', 'REQUIRED', 'OPTIONS'], rows),
              '',
              'Tag a file with bynder:meta:<name>=<option name or id>; several options of a multi-select separated by "+".',
              ...(allOptions ? [] : ['Every option with its id: --json, or --all-options for every name.']),
            ];
          },
        );
        return EXIT.ok;
      }),
    );
};
