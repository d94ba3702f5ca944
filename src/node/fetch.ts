/**
 * Downloads Fashion-MNIST from its official mirror. A file only appears under its final name
 * once both hashes match, so an interrupted or tampered download never looks like data.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataError } from '../errors.js';
import { FASHION_MNIST_FILES } from '../data/bytes.js';
import { checkWritableDir } from './files.js';

export interface Checksum {
  md5: string;
  sha256: string;
}

export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/**
 * MD5s are the ones published in the Fashion-MNIST README. The SHA-256s were computed from the
 * original files, rebuilt byte-exactly from Debian's `dataset-fashion-mnist` copies (whose gzip
 * headers lost the file name and mtime) and confirmed by matching those published MD5s.
 */
export const FASHION_MNIST_CHECKSUMS: Readonly<Record<string, Checksum>> = Object.freeze({
  'train-images-idx3-ubyte.gz': {
    md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
  },
  'train-labels-idx1-ubyte.gz': {
    md5: '25c81989df183df01b3e8a0aad5dffbe',
    sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
  },
  't10k-images-idx3-ubyte.gz': {
    md5: 'bef4ecab320f06d8554ea6380940ec79',
    sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
  },
  't10k-labels-idx1-ubyte.gz': {
    md5: 'bb300cfdad3c16e7a12a480ee83cd310',
    sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
  },
});

export interface FetchOptions {
  baseUrl?: string;
  /** `total` is null when the server sends no Content-Length. */
  onProgress?: (file: string, received: number, total: number | null) => void;
  /** Called for files already present with the right checksums. */
  onSkip?: (file: string) => void;
  /** Per-file checksum overrides, keyed by file name (e.g. 'train-images-idx3-ubyte.gz'). */
  expected?: Record<string, Checksum>;
}

/** Resolves to the paths of the four verified files, whether downloaded now or already present. */
export async function fetchFashionMnist(toDir: string, options: FetchOptions = {}): Promise<string[]> {
  const dir = resolve(toDir);
  await checkWritableDir(dir);
  const base = (options.baseUrl ?? FASHION_MNIST_URL).replace(/\/*$/, '/');
  const paths: string[] = [];
  for (const name of Object.values(FASHION_MNIST_FILES)) {
    const file = `${name}.gz`;
    const expected = options.expected?.[file] ?? FASHION_MNIST_CHECKSUMS[file];
    const target = join(dir, file);
    if (await hasChecksum(target, expected)) {
      options.onSkip?.(file);
    } else {
      await download(new URL(file, base).href, dir, file, expected, options.onProgress);
    }
    paths.push(target);
  }
  return paths;
}

async function download(
  url: string,
  dir: string,
  file: string,
  expected: Checksum,
  onProgress: FetchOptions['onProgress'],
): Promise<void> {
  let response: Response;
  try {
    // identity: a server adding Content-Encoding: gzip would otherwise be decoded by fetch, and
    // the bytes on disk would no longer be the published file.
    response = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new DataError(`downloading ${url} failed: ${cause}`);
  }
  if (!response.ok || !response.body) {
    throw new DataError(`downloading ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  const length = response.headers.get('content-length');
  const total = length === null ? null : Number(length);

  // Same directory as the target so the final rename is atomic.
  const temp = join(dir, `.${file}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const handle = await open(temp, 'wx');
  let renamed = false;
  try {
    let received = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      md5.update(chunk);
      sha256.update(chunk);
      await handle.write(chunk);
      received += chunk.length;
      onProgress?.(file, received, total);
    }
    await handle.close();
    const actual = { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
    const bad = mismatch(expected, actual);
    if (bad) throw new DataError(`${file} from ${url} failed verification: ${bad}; the download was discarded`);
    await rename(temp, join(dir, file));
    renamed = true;
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`downloading ${url} failed: ${(err as Error).message}`);
  } finally {
    await handle.close().catch(() => {});
    if (!renamed) await unlink(temp).catch(() => {});
  }
}

function mismatch(expected: Checksum, actual: Checksum): string | null {
  if (actual.md5 !== expected.md5.toLowerCase()) return `expected MD5 ${expected.md5}, got ${actual.md5}`;
  if (actual.sha256 !== expected.sha256.toLowerCase()) {
    return `expected SHA-256 ${expected.sha256}, got ${actual.sha256}`;
  }
  return null;
}

async function hasChecksum(path: string, expected: Checksum): Promise<boolean> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) {
      md5.update(chunk as Buffer);
      sha256.update(chunk as Buffer);
    }
  } catch {
    return false;
  }
  return mismatch(expected, { md5: md5.digest('hex'), sha256: sha256.digest('hex') }) === null;
}
