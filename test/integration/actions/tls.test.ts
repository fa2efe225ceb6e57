import { afterEach, describe, expect, it } from 'vitest';
import { startActionKit, type ActionKit } from './action-kit.js';

const BAN = '/api/v2/monitor/user/banned/add_users';

describe('actions: TLS to the FortiGate', () => {
  let kit: ActionKit | undefined;

  afterEach(async () => {
    await kit?.close();
    kit = undefined;
  });

  it('verifies the certificate by default: a certificate from a CA that is not configured fails the call (and is retried, not accepted)', async () => {
    // No ca_file: the system CAs, which never signed the test CA's server certificate.
    kit = await startActionKit({ devices: { fgt_hq: { ca_file: undefined } }, actions: { attempts: 2 } });
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '192.0.2.1', expirySeconds: 60, reason: 'tls' });
    const failed = await kit.waitForJob(jobId, 'failed');
    expect(failed?.lastError).toMatch(/^fgt_hq: network: .*(certificate|self.signed)/i);
    // The handshake failed: no request reached the server.
    expect(kit.fortios.requestsTo(BAN)).toHaveLength(0);
  });

  it('accepts the certificate with ca_file set to its CA', async () => {
    kit = await startActionKit({ devices: { fgt_hq: {} } });
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '192.0.2.2', expirySeconds: 60, reason: 'tls' });
    await kit.waitForJob(jobId, 'completed');
    expect(kit.fortios.requestsTo(BAN)).toHaveLength(1);
  });

  it('verify_tls: false calls anyway and logs a warning', async () => {
    kit = await startActionKit({ devices: { fgt_hq: { ca_file: undefined, verify_tls: false } } });
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '192.0.2.3', expirySeconds: 60, reason: 'tls' });
    await kit.waitForJob(jobId, 'completed');
    expect(kit.logs.some((line) => line.includes('"level":40') && line.includes('NOT verified'))).toBe(true);
  });

  it('http:// base URLs work but are logged as a warning', async () => {
    kit = await startActionKit({ tls: false, devices: { fgt_hq: { ca_file: undefined } } });
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '192.0.2.4', expirySeconds: 60, reason: 'http' });
    await kit.waitForJob(jobId, 'completed');
    expect(kit.logs.some((line) => line.includes('"level":40') && line.includes('plain http://'))).toBe(true);
  });
});
