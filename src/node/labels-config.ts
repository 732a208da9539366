/**
 * Node mode reads only `[Labels]` from csi-vsphere.conf: it needs no
 * vCenter, so a file without one (or no file at all) is fine here, unlike
 * in controller mode. Parsing goes through the shared INI reader and
 * section collector, and the controller's [Labels] checks, so keys mean the
 * same in both modes.
 */
import { readFile } from 'node:fs/promises';
import { buildLabels } from '../config/csi-config.js';
import { collectCsiSections } from '../config/csi-sections.js';
import { Diagnostics } from '../config/errors.js';
import { readIni } from '../config/ini-reader.js';
import type { LabelsConfig } from '../config/types.js';
import type { Logger } from '../log.js';

/** The `[Labels]` settings, or undefined when there is no config file. */
export async function readNodeLabels(path: string, logger: Logger): Promise<LabelsConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      logger.info({ config: path }, `${path} does not exist: reporting zone/region topology only when the Node carries those labels`);
      return undefined;
    }
    throw new Error(`${path}: cannot read the config file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  // Other sections (vCenters, credentials) are the controller's business: their warnings stay there.
  const diag = new Diagnostics(path);
  return buildLabels(collectCsiSections(readIni(text, path), diag).labels, diag);
}
