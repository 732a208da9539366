/**
 * Simulator set-up and inspection only (tests, demo, benchmarks): raw SOAP for
 * what the client layer (rightly) does not offer: reading a host's
 * HostDatastoreSystem and HostDatastoreSystem.CreateLocalDatastore, which
 * gives one cluster's hosts a datastore of their own (a zone-local datastore);
 * ReconfigVM_Task of a VM's name and BIOS UUID, which a second simulator
 * needs so its VMs do not repeat the first one's; and requests the driver
 * never sends (the simulator-rule tests send CNS calls vCenter refuses).
 */
import { Agent, fetch } from 'undici';
import type { Vcsim } from './vcsim.js';
import { escapeXml as esc } from '../vsphere/soap/xml.js';

const agent = new Agent({ connect: { rejectUnauthorized: false } });

export class RawVim {
  private cookie = '';

  constructor(private readonly sim: Vcsim) {}

  /** One SOAP call; `path` /vsanHealth reaches CNS in the same session. Throws on a non-200 answer. */
  async call(body: string, path = '/sdk'): Promise<string> {
    const envelope = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
    const res = await fetch(`https://${this.sim.host}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: 'urn:vim25/7.0', ...(this.cookie ? { Cookie: this.cookie } : {}) },
      body: envelope,
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0]!;
    const text = await res.text();
    if (res.status !== 200) throw new Error(`SOAP ${res.status}: ${text.slice(0, 500)}`);
    return text;
  }

  async login(): Promise<void> {
    await this.call(
      `<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>${esc(this.sim.username)}</userName><password>${esc(this.sim.password)}</password></Login>`,
    );
  }

  async datastoreSystemOf(host: string): Promise<string> {
    const text = await this.call(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>HostSystem</type><pathSet>configManager.datastoreSystem</pathSet></propSet><objectSet><obj type="HostSystem">${esc(host)}</obj></objectSet></specSet><options></options></RetrievePropertiesEx>`,
    );
    const m = /<val[^>]*>([^<]+)<\/val>/.exec(text);
    if (!m) throw new Error(`no datastore system for ${host}: ${text.slice(0, 300)}`);
    return m[1]!;
  }

  /** Creates (or mounts) a local datastore named `name` backed by `dir` on each host; returns its moref value. */
  async createLocalDatastore(hosts: string[], name: string, dir: string): Promise<string> {
    let ref = '';
    for (const host of hosts) {
      const dss = await this.datastoreSystemOf(host);
      const text = await this.call(
        `<CreateLocalDatastore xmlns="urn:vim25"><_this type="HostDatastoreSystem">${esc(dss)}</_this><name>${esc(name)}</name><path>${esc(dir)}</path></CreateLocalDatastore>`,
      );
      const m = /<returnval[^>]*>([^<]+)<\/returnval>/.exec(text);
      if (!m) throw new Error(`CreateLocalDatastore on ${host} failed: ${text.slice(0, 300)}`);
      ref = m[1]!;
    }
    return ref;
  }

  /** ReconfigVM_Task setting the VM's name and/or BIOS UUID; returns the task's moref value. */
  async reconfigure(vm: string, spec: { name?: string; uuid?: string }): Promise<string> {
    const fields = `${spec.name ? `<name>${esc(spec.name)}</name>` : ''}${spec.uuid ? `<uuid>${esc(spec.uuid)}</uuid>` : ''}`;
    const text = await this.call(
      `<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${esc(vm)}</_this><spec>${fields}</spec></ReconfigVM_Task>`,
    );
    const m = /<returnval[^>]*>([^<]+)<\/returnval>/.exec(text);
    if (!m) throw new Error(`ReconfigVM_Task on ${vm} returned no task: ${text.slice(0, 300)}`);
    return m[1]!;
  }
}
