/**
 * vSphere tags over vAPI REST. Categories and tags (with names) are cached
 * with a TTL; attached tags of any number of objects come from one
 * list-attached-tags-on-objects call. Creating categories/tags and attaching
 * them is here for tests, the demo and zone setup.
 */
import type { CallOptions, MoRef, Tag, TagCategory, Tags } from './api.js';
import { refKey } from './api.js';
import type { VapiSession } from './vapi.js';

const TAGGING = '/rest/com/vmware/cis/tagging';
const DETAIL_CONCURRENCY = 8;

interface RawCategory {
  id?: string;
  name?: string;
  description?: string;
  cardinality?: string;
  associable_types?: string[];
}

interface RawTag {
  id?: string;
  name?: string;
  description?: string;
  category_id?: string;
}

interface RawAttached {
  object_id?: { type?: string; id?: string };
  tag_ids?: string[];
}

function idPath(kind: 'category' | 'tag' | 'tag-association', id: string): string {
  return `${TAGGING}/${kind}/id:${encodeURIComponent(id)}`;
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class TagsClient implements Tags {
  private categoryCache?: { at: number; value: Promise<TagCategory[]> };
  private tagCache?: { at: number; value: Promise<Tag[]> };

  constructor(
    private readonly vapi: VapiSession,
    private readonly ttlMs: number,
  ) {}

  invalidate(): void {
    this.categoryCache = undefined;
    this.tagCache = undefined;
  }

  categories(options: CallOptions = {}): Promise<TagCategory[]> {
    if (!this.categoryCache || Date.now() - this.categoryCache.at > this.ttlMs) {
      const value = this.loadCategories(options);
      this.categoryCache = { at: Date.now(), value };
      value.catch(() => (this.categoryCache = undefined));
    }
    return this.categoryCache.value;
  }

  tags(options: CallOptions = {}): Promise<Tag[]> {
    if (!this.tagCache || Date.now() - this.tagCache.at > this.ttlMs) {
      const value = this.loadTags(options);
      this.tagCache = { at: Date.now(), value };
      value.catch(() => (this.tagCache = undefined));
    }
    return this.tagCache.value;
  }

  async attachedTags(objects: MoRef[], options: CallOptions = {}): Promise<Map<string, Tag[]>> {
    const out = new Map<string, Tag[]>(objects.map((o) => [refKey(o), []]));
    if (objects.length === 0) return out;
    const raw = (await this.vapi.call('POST', `${TAGGING}/tag-association`, {
      ...options,
      idempotent: true,
      query: '~action=list-attached-tags-on-objects',
      json: { object_ids: objects.map((o) => ({ type: o.type, id: o.value })) },
    })) as RawAttached[] | undefined;
    let byId = new Map((await this.tags(options)).map((t) => [t.id, t]));
    const wanted = (raw ?? []).flatMap((r) => r.tag_ids ?? []);
    if (wanted.some((id) => !byId.has(id))) {
      // A tag newer than the cache: refresh once.
      this.tagCache = undefined;
      byId = new Map((await this.tags(options)).map((t) => [t.id, t]));
    }
    for (const r of raw ?? []) {
      if (!r.object_id?.type || r.object_id.id === undefined) continue;
      const key = refKey({ type: r.object_id.type, value: r.object_id.id });
      const list = out.get(key) ?? [];
      for (const id of r.tag_ids ?? []) {
        const tag = byId.get(id);
        if (tag) list.push(tag);
      }
      out.set(key, list);
    }
    return out;
  }

  async createCategory(
    name: string,
    options: CallOptions & { cardinality?: 'SINGLE' | 'MULTIPLE'; associableTypes?: string[]; description?: string } = {},
  ): Promise<string> {
    const id = await this.vapi.call('POST', `${TAGGING}/category`, {
      signal: options.signal,
      json: { create_spec: { name, description: options.description ?? '', cardinality: options.cardinality ?? 'SINGLE', associable_types: options.associableTypes ?? [] } },
    });
    this.invalidate();
    return String(id);
  }

  async createTag(name: string, categoryId: string, options: CallOptions & { description?: string } = {}): Promise<string> {
    const id = await this.vapi.call('POST', `${TAGGING}/tag`, {
      signal: options.signal,
      json: { create_spec: { name, description: options.description ?? '', category_id: categoryId } },
    });
    this.tagCache = undefined;
    return String(id);
  }

  async attachTag(tagId: string, object: MoRef, options: CallOptions = {}): Promise<void> {
    await this.vapi.call('POST', idPath('tag-association', tagId), {
      signal: options.signal,
      query: '~action=attach',
      json: { object_id: { type: object.type, id: object.value } },
    });
  }

  async detachTag(tagId: string, object: MoRef, options: CallOptions = {}): Promise<void> {
    await this.vapi.call('POST', idPath('tag-association', tagId), {
      signal: options.signal,
      query: '~action=detach',
      json: { object_id: { type: object.type, id: object.value } },
    });
  }

  private async loadCategories(options: CallOptions): Promise<TagCategory[]> {
    const ids = ((await this.vapi.call('GET', `${TAGGING}/category`, { ...options, idempotent: true })) as string[] | undefined) ?? [];
    const raws = await mapLimited(ids, DETAIL_CONCURRENCY, async (id) => (await this.vapi.call('GET', idPath('category', id), { ...options, idempotent: true })) as RawCategory);
    return raws.map((c, i) => ({
      id: c.id ?? ids[i]!,
      name: c.name ?? '',
      description: c.description || undefined,
      cardinality: c.cardinality === 'SINGLE' || c.cardinality === 'MULTIPLE' ? c.cardinality : undefined,
      associableTypes: c.associable_types ?? [],
    }));
  }

  private async loadTags(options: CallOptions): Promise<Tag[]> {
    const [categories, ids] = await Promise.all([
      this.categories(options),
      this.vapi.call('GET', `${TAGGING}/tag`, { ...options, idempotent: true }) as Promise<string[] | undefined>,
    ]);
    const names = new Map(categories.map((c) => [c.id, c.name]));
    const raws = await mapLimited(ids ?? [], DETAIL_CONCURRENCY, async (id) => (await this.vapi.call('GET', idPath('tag', id), { ...options, idempotent: true })) as RawTag);
    return raws.map((t, i) => ({
      id: t.id ?? ids![i]!,
      name: t.name ?? '',
      categoryId: t.category_id ?? '',
      categoryName: t.category_id ? names.get(t.category_id) : undefined,
      description: t.description || undefined,
    }));
  }
}
