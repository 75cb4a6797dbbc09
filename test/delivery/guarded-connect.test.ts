// The guarded connector on its own, over TLS: it connects to the address it checked, yet the
// TLS server name and the certificate check stay those of the host name in the URL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { createNetworkPolicy } from '../../src/core/network-policy.ts';
import { createGuardedConnect, type HostLookup } from '../../src/delivery/guarded-connect.ts';

const NAME = 'hooks.example.test';

/** A self-signed certificate for NAME, made with the openssl command line. */
function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${NAME}`,
        '-addext',
        `subjectAltName=DNS:${NAME}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('guarded connector', () => {
  let server: Server;
  let port: number;
  let cert: string;
  const serverNames: (string | false)[] = [];

  before(async () => {
    const pair = selfSigned();
    cert = pair.cert;
    server = createServer(pair, (req, res) => {
      serverNames.push((req.socket as unknown as { servername: string | false }).servername);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function get(
    url: string,
    options: { lookup: HostLookup; allow?: string[]; httpsOnly?: boolean; exempt?: string[] },
  ): Promise<{ status: number } | { error: Error & { code?: string } }> {
    const agent = new Agent({
      connect: createGuardedConnect({
        policy: createNetworkPolicy(options.allow ?? ['127.0.0.0/8']),
        httpsOnly: options.httpsOnly ?? false,
        lookup: options.lookup,
        exemptOrigins: options.exempt ?? [],
        connect: { timeout: 5000, ca: cert },
      }),
    });
    try {
      const res = await request(url, { dispatcher: agent });
      await res.body.text();
      return { status: res.statusCode };
    } catch (error) {
      return { error: error as Error };
    } finally {
      await agent.close();
    }
  }

  it('connects to the checked address with the host name as TLS server name and identity', async () => {
    const asked: string[] = [];
    const result = await get(`https://${NAME}:${port}/`, {
      lookup: async (name) => {
        asked.push(name);
        return ['127.0.0.1'];
      },
    });
    assert.deepEqual(result, { status: 200 });
    assert.deepEqual(asked, [NAME]);
    assert.equal(serverNames.at(-1), NAME);
  });

  it('still checks the certificate against the host name', async () => {
    const result = await get(`https://other.example.test:${port}/`, {
      lookup: async () => ['127.0.0.1'],
    });
    assert.ok('error' in result);
    assert.equal(result.error.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('checks IP literals without asking the resolver', async () => {
    let asked = 0;
    const lookup: HostLookup = async () => {
      asked++;
      return [];
    };
    const refused = await get(`http://127.0.0.1:${port}/`, { lookup, allow: [] });
    assert.ok('error' in refused);
    assert.equal(refused.error.code, 'HERALD_BLOCKED_ADDRESS');
    assert.equal(asked, 0);
  });

  it('fails clearly when the name resolves to nothing, and when plain http is refused', async () => {
    const none = await get(`https://${NAME}:${port}/`, { lookup: async () => [] });
    assert.ok('error' in none);
    assert.match(none.error.message, /resolves to no address/);
    const plain = await get(`http://${NAME}:${port}/`, {
      lookup: async () => ['127.0.0.1'],
      httpsOnly: true,
    });
    assert.ok('error' in plain);
    assert.equal(plain.error.code, 'HERALD_HTTPS_ONLY');
  });

  it('lets an exempt origin through unchecked, and only that origin', async () => {
    const lookup: HostLookup = async () => ['127.0.0.1'];
    const exempt = [`https://127.0.0.1:${port}`];
    const literal = `https://127.0.0.1:${port}/`;
    const unverified = await get(literal, { lookup, allow: [], exempt });
    // Reached the server: the certificate (for NAME, not the IP) is what fails, not the policy.
    assert.ok('error' in unverified);
    assert.equal(unverified.error.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    const elsewhere = await get(`https://${NAME}:${port}/`, { lookup, allow: [], exempt });
    assert.ok('error' in elsewhere);
    assert.equal(elsewhere.error.code, 'HERALD_BLOCKED_ADDRESS');
  });
});
