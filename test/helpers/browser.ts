/**
 * For the Chromium tests: Debian's Chromium driven by playwright-core (no browser download), and
 * a local HTTP server for the page and its files, so nothing is fetched beyond 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM } from './requires.js';

/** Path → [content type, body]. */
export type Files = Record<string, [string, string | Uint8Array]>;

/** Serves `files` on 127.0.0.1 (any free port) with `headers` on every response; 404 for anything else. */
export async function serveFiles(files: Files, headers: Record<string, string> = {}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (!file) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': file[0], ...headers }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Headless Chromium from Debian, without its background network traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
