/** `schema <binderId>`: the binder's metadata elements, which are required, and their allowed values. */
import { binderIdArgument } from '../arguments.js';
import { onKnownBinder } from '../binder-lookup.js';
import { argumentOf, type CommandRegistration } from '../command.js';
import { EXIT } from '../errors.js';
import { TAG } from '../../shared/connectors/ibinder/index.js';

export const registerSchemaCommand: CommandRegistration = (program, action) => {
  program
    .command('schema')
    .description("show a binder's metadata elements (ibinder:meta:<id> tags): required ones and allowed values")
    .addArgument(binderIdArgument())
    .action(
      action(async (ctx, command) => {
        const binderId = argumentOf(command, 0);
        const client = ctx.ibinder();
        const elements = await onKnownBinder(client, binderId, () => client.getMetadataElements(binderId));
        const required = elements.filter((e) => e.required).map((e) => e.id);
        ctx.output.result(
          {
            binderId,
            required,
            elements: elements.map((e) => ({ ...e, tagKey: `${TAG.metaPrefix}${e.id}` })),
          },
          () => {
            if (elements.length === 0) return [`Binder ${binderId} has no metadata elements: no ${TAG.metaPrefix}<id> tags are needed.`];
            const lines = [
              `Binder ${binderId}: ${elements.length} metadata element(s), ${required.length} required.`,
              `Tag a file with ${TAG.metaPrefix}<element id>=<value id> (a value's label is accepted too).`,
            ];
            for (const e of elements) {
              lines.push('');
              lines.push(`${TAG.metaPrefix}${e.id}  ${e.label}${e.dataType ? ` (${e.dataType})` : ''}${e.required ? '  REQUIRED' : ''}`);
              if (e.allowedValues.length === 0) {
                lines.push('    any value');
              } else {
                const width = Math.max(...e.allowedValues.map((v) => v.id.length));
                for (const v of e.allowedValues) lines.push(`    ${v.id.padEnd(width)}  ${v.label}`);
              }
            }
            return lines;
          },
        );
        return EXIT.ok;
      }),
    );
};
