import { describe, expect, test } from '@jest/globals';
import { Agent, fetch } from 'undici';
import { startVcsim } from '../../src/harness/vcsim.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('vCenter simulator harness', () => {
  test('starts on a loopback port, answers SOAP, counts requests, stops without leaving a process', async () => {
    const sim = await startVcsim();
    try {
      expect(sim.hostname).toBe('127.0.0.1');
      expect(sim.port).toBeGreaterThan(0);
      const res = await fetch(sim.url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml', SOAPAction: 'urn:vim25/7.0' },
        body: '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>',
        dispatcher: new Agent({ connect: { rejectUnauthorized: false } }),
      });
      const out = await res.text();
      expect(out).toContain('<rootFolder type="Folder">');
      const counts = await sim.requests();
      expect(counts.byMethod['/sdk RetrieveServiceContent']).toBe(1);
      await sim.resetRequests();
      expect((await sim.requests()).total).toBe(0);
    } finally {
      await sim.stop();
    }
    expect(isAlive(sim.pid)).toBe(false);
  });
});
