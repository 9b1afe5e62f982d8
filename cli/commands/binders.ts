/** `binders`: the binders the tenant's API client can see, with the ids the tags need. */
import type { CommandRegistration } from '../command.js';
import { EXIT } from '../errors.js';
import { table } from '../output.js';

export const registerBindersCommand: CommandRegistration = (program, action) => {
  program
    .command('binders')
    .description('list the binders this tenant can see (the ids for the ibinder:binder tag)')
    .action(
      action(async (ctx) => {
        const binders = await ctx.ibinder().listBinders();
        const sorted = [...binders].sort((a, b) => a.name.localeCompare(b.name));
        ctx.output.result({ binders: sorted }, () =>
          sorted.length === 0
            ? ["No binders: the API client sees none in this tenant (check the tenant id and the client's access)."]
            : table(
                ['ID', 'NAME', 'TYPE', 'CREATED'],
                sorted.map((b) => [b.id, b.name, b.type ?? '', b.createdAt ?? '']),
              ),
        );
        return EXIT.ok;
      }),
    );
};
