/** `folders <binderId>`: the folder tree with ids and the exact `ibinder:folder-path` values. */
import { binderIdArgument, parseDepth } from '../arguments.js';
import { onKnownBinder } from '../binder-lookup.js';
import { argumentOf, type CommandRegistration } from '../command.js';
import { EXIT } from '../errors.js';
import { walkFolderTree } from '../folder-tree.js';
import { table } from '../output.js';

export const registerFoldersCommand: CommandRegistration = (program, action) => {
  program
    .command('folders')
    .description("show a binder's folder tree: each folder's id (ibinder:folder) and path (ibinder:folder-path)")
    .addArgument(binderIdArgument())
    .option('--depth <n>', 'list only this many levels below the top (0 = top-level folders only)', parseDepth)
    .action(
      action(async (ctx, command) => {
        const binderId = argumentOf(command, 0);
        const { depth } = command.opts<{ depth?: number }>();
        const client = ctx.ibinder();
        const folders = await onKnownBinder(client, binderId, () => walkFolderTree(client, binderId, { maxDepth: depth }));
        ctx.output.result({ binderId, folders }, () => {
          if (folders.length === 0) return [`Binder ${binderId} has no folders.`];
          const rows = folders.map((f) => [
            `${'  '.repeat(f.depth)}${f.name}`,
            f.id,
            f.pathUsableAsTag ? f.path : `(${f.pathNote ?? 'not usable'})`,
          ]);
          return [
            `Binder ${binderId}: ${folders.length} folder(s). Tag a file with ibinder:folder=<ID> or ibinder:folder-path=<PATH>.`,
            '',
            ...table(['FOLDER', 'ID', 'PATH'], rows),
          ];
        });
        return EXIT.ok;
      }),
    );
};
