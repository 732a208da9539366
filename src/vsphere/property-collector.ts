/**
 * Property collector reads: RetrievePropertiesEx following
 * ContinueRetrievePropertiesEx tokens, spec builders, and session-scoped
 * ContainerViews cached per (container, type) so that reading every VM of a
 * datacenter is one request in steady state.
 */
import type { MoRef, XmlValue } from './api.js';
import { refKey } from './api.js';
import { all, childText, one, toMoRef, xsiType } from './soap/decode.js';
import { moref, obj, poly, type SoapObject, type SoapValue } from './soap/envelope.js';
import type { VimSession } from './session.js';
import type { RequestOptions } from './transport.js';

export interface ObjectContent {
  ref: MoRef;
  props: Map<string, XmlValue>;
  /** Property path → fault type, for properties the server could not read. */
  missing: Map<string, string>;
}

export function propertySpec(type: string, paths: string[]): SoapObject {
  return obj('PropertySpec', { type, all: false, pathSet: paths });
}

export function traversal(name: string, type: string, path: string, selectSet: SoapValue[] = []): SoapObject {
  return poly('TraversalSpec', { name, type, path, skip: false, selectSet: selectSet.length ? selectSet : undefined });
}

export function selection(name: string): SoapObject {
  return poly('SelectionSpec', { name });
}

export function objectSpec(ref: MoRef, skip = false, selectSet: SoapValue[] = []): SoapObject {
  return obj('ObjectSpec', { obj: moref(ref), skip, selectSet: selectSet.length ? selectSet : undefined });
}

export function filterSpec(propSet: SoapObject[], objectSet: SoapObject[], reportMissing = false): SoapObject {
  return obj('PropertyFilterSpec', { propSet, objectSet, reportMissingObjectsInResults: reportMissing || undefined });
}

/** Decodes one ObjectContent (also used for the ObjectUpdate change sets of WaitForUpdatesEx). */
export function decodeObjectContent(v: XmlValue): ObjectContent | undefined {
  const ref = toMoRef(one(v, 'obj'));
  if (!ref) return undefined;
  const props = new Map<string, XmlValue>();
  for (const p of all(v, 'propSet')) {
    const name = childText(p, 'name');
    const val = one(p, 'val');
    if (name !== undefined && val !== undefined) props.set(name, val);
  }
  const missing = new Map<string, string>();
  for (const m of all(v, 'missingSet')) {
    const path = childText(m, 'path');
    if (path !== undefined) missing.set(path, xsiType(one(one(m, 'fault'), 'fault')) ?? 'UnknownFault');
  }
  return { ref, props, missing };
}

export class PropertyReader {
  private views = new Map<string, { view: MoRef; generation: number }>();

  constructor(private readonly session: VimSession) {}

  /** RetrievePropertiesEx, following continuation tokens until the result is complete. */
  async retrieve(specs: SoapObject[], options: RequestOptions = {}): Promise<ObjectContent[]> {
    const content = await this.session.serviceContent(options);
    const pc = moref(content.propertyCollector);
    const out: ObjectContent[] = [];
    let body = await this.session.call('vim25', 'RetrievePropertiesEx', { _this: pc, specSet: specs, options: obj('RetrieveOptions', {}) }, { ...options, idempotent: true });
    for (;;) {
      const result = one(body, 'returnval');
      for (const o of all(result, 'objects')) {
        const decoded = decodeObjectContent(o);
        if (decoded) out.push(decoded);
      }
      const token = childText(result, 'token');
      if (!token) return out;
      body = await this.session.call('vim25', 'ContinueRetrievePropertiesEx', { _this: pc, token }, { ...options, idempotent: true });
    }
  }

  /** Properties of explicit objects, all in one request. Objects that no longer exist are left out. */
  async objects(type: string, refs: MoRef[], paths: string[], options: RequestOptions = {}): Promise<ObjectContent[]> {
    if (refs.length === 0) return [];
    return this.retrieve([filterSpec([propertySpec(type, paths)], refs.map((r) => objectSpec(r)), true)], options);
  }

  /** Properties of every object of a type under some containers, in one request over cached ContainerViews. */
  async viewContents(containers: MoRef[], type: string, paths: string[], options: RequestOptions = {}): Promise<ObjectContent[]> {
    const read = async (): Promise<ObjectContent[]> => {
      const views: MoRef[] = [];
      for (const container of containers) views.push(await this.containerView(container, type, options));
      const objectSet = views.map((view) => objectSpec(view, true, [traversal('view', 'ContainerView', 'view')]));
      return this.retrieve([filterSpec([propertySpec(type, paths)], objectSet)], options);
    };
    try {
      return await read();
    } catch (err) {
      // A view from an older session (a re-login happened in between) is gone: rebuild once.
      if ((err as { faultType?: string }).faultType !== 'ManagedObjectNotFound') throw err;
      for (const container of containers) this.views.delete(`${refKey(container)}/${type}`);
      return read();
    }
  }

  private async containerView(container: MoRef, type: string, options: RequestOptions): Promise<MoRef> {
    const key = `${refKey(container)}/${type}`;
    const generation = (await this.session.ensure(options)).generation;
    const cached = this.views.get(key);
    if (cached && cached.generation === generation) return cached.view;
    const content = await this.session.serviceContent(options);
    const body = await this.session.call(
      'vim25',
      'CreateContainerView',
      { _this: moref(content.viewManager), container: moref(container), type: [type], recursive: true },
      options,
    );
    const view = toMoRef(one(body, 'returnval'));
    if (!view) throw new Error('CreateContainerView returned no view');
    this.views.set(key, { view, generation: this.session.currentGeneration() ?? generation });
    return view;
  }
}
