/**
 * Raw CNS task calls for the simulator-rule tests: a method sent as SOAP to
 * /vsanHealth and its task read back with RetrievePropertiesEx, so a rule is
 * proven without depending on how our client happens to call.
 */
import type { RawVim } from '../../src/harness/vcsim-raw.js';
import { escapeXml as esc } from '../../src/vsphere/soap/xml.js';

export const CNS_THIS = '<_this type="CnsVolumeManager">cns-volume-manager</_this>';

export interface RawTaskInfo {
  state: string;
  fault?: string;
  property?: string;
  result: string;
}

export class RawCns {
  constructor(private readonly raw: RawVim) {}

  /** Sends `<method>` with `inner` as its parameters; returns the task's moref value. */
  async startTask(method: string, inner: string): Promise<string> {
    const text = await this.raw.call(`<${method} xmlns="urn:vsan">${CNS_THIS}${inner}</${method}>`, '/vsanHealth');
    const m = /<returnval type="Task">([^<]+)<\/returnval>/.exec(text);
    if (!m) throw new Error(`${method} returned no task: ${text.slice(0, 300)}`);
    return m[1]!;
  }

  /** info.state and, when failed, the fault's type and invalid property, read directly. */
  async taskInfo(task: string): Promise<RawTaskInfo> {
    const text = await this.raw.call(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>Task</type><pathSet>info</pathSet></propSet>` +
        `<objectSet><obj type="Task">${esc(task)}</obj></objectSet></specSet><options></options></RetrievePropertiesEx>`,
    );
    const state = /<state>([^<]+)<\/state>/.exec(text)?.[1] ?? '';
    const error = /<error>([\s\S]*?)<\/error>/.exec(text)?.[1];
    return {
      state,
      fault: error ? /<fault [^>]*type="(?:[A-Za-z0-9]+:)?([^"]+)"/.exec(error)?.[1] : undefined,
      property: error ? /<invalidProperty>([^<]*)<\/invalidProperty>/.exec(error)?.[1] : undefined,
      result: /<result[\s\S]*<\/result>/.exec(text)?.[0] ?? '',
    };
  }

  async settled(task: string, timeoutMs = 5000): Promise<RawTaskInfo> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.taskInfo(task);
      if (info.state === 'success' || info.state === 'error') return info;
      if (Date.now() > until) throw new Error(`task ${task} did not finish within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
