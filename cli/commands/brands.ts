/** `brands`: the Bynder portal's brands, with the ids (or names) the `bynder:brand` tag takes. */
import type { CommandRegistration } from '../command.js';
import { EXIT } from '../errors.js';
import { table } from '../output.js';

export const registerBrandsCommand: CommandRegistration = (program, action) => {
  program
    .command('brands')
    .description("list the Bynder portal's brands (the ids or names for the bynder:brand tag)")
    .action(
      action(async (ctx) => {
        const connector = await ctx.bynder();
        const brands = [...(await connector.brands({ fresh: true }))].sort((a, b) => a.name.localeCompare(b.name));
        ctx.output.result({ brands }, () =>
          brands.length === 0
            ? ["No brands: the integration sees none in this portal (check the portal URL and the integration's access)."]
            : [
                ...table(
                  ['ID', 'NAME', 'SUB-BRANDS'],
                  brands.map((b) => [b.id, b.name, b.subBrands.map((s) => s.name).join(', ')]),
                ),
                '',
                'Tag a file with bynder:brand=<id or name>. Sub-brands are not targets: a file goes to a brand.',
              ],
        );
        return EXIT.ok;
      }),
    );
};
