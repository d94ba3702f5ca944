/** `ridgeline data fetch`: download a dataset with checksum verification. */
import { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { fetchFashionMnist } from '../node/fetch.js';
import { Log } from './log.js';

export function dataCommand(): Command {
  const data = new Command('data').description('dataset utilities');
  data.command('fetch')
    .description('download a dataset (fashion-mnist) into a directory, verifying MD5 and SHA-256')
    .argument('<name>', 'dataset name: fashion-mnist')
    .requiredOption('--to <dir>', 'target directory (created if missing)')
    .option('--base-url <url>', 'mirror to download from (the files must be byte-identical)')
    .option('--quiet', 'print nothing but errors')
    .action(async (name: string, opts: { to: string; baseUrl?: string; quiet?: boolean }) => {
      if (name !== 'fashion-mnist') throw new ConfigError(`unknown dataset '${name}' (known: fashion-mnist)`);
      const log = new Log({ quiet: !!opts.quiet, json: false });
      const paths = await fetchFashionMnist(opts.to, {
        baseUrl: opts.baseUrl,
        onSkip: (file) => log.info(`${file}: already present, checksum verified`),
        onProgress: (file, received, total) => {
          if (total !== null && received === total) log.info(`${file}: ${received} bytes, checksum verified`);
        },
      });
      log.result(`fashion-mnist ready in ${opts.to} (${paths.length} files); train with --data ${opts.to}`);
    });
  return data;
}
