/**
 * Node mode reads only `[Labels]` from csi-vsphere.conf: it needs no
 * vCenter, so a file without one (or no file at all) is fine here, unlike
 * in controller mode. Parsing goes through the shared INI reader and
 * section collector, and the controller's [Labels] checks, so keys mean the
 * same in both modes.
 */
import { readFile } from 'node:fs/promises';
import { buildLabels } from '../config/csi-config.js';
import { applyEnvTable, collectCsiSections, LABEL_ENV } from '../config/csi-sections.js';
import { Diagnostics } from '../config/errors.js';
import { readIni } from '../config/ini-reader.js';
import type { LabelsConfig } from '../config/types.js';
import type { Logger } from '../log.js';

/**
 * The `[Labels]` settings with the same VSPHERE_LABEL_ZONE/REGION overrides
 * as controller mode, or undefined when there is neither a config file nor
 * an override.
 */
export async function readNodeLabels(path: string, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<LabelsConfig | undefined> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`${path}: cannot read the config file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const diag = new Diagnostics(path);
  // Other sections (vCenters, credentials) are the controller's business: their warnings stay there.
  const labels = text === undefined ? new Map() : collectCsiSections(readIni(text, path), diag).labels;
  applyEnvTable(env, LABEL_ENV, labels);
  if (text === undefined && labels.size === 0) {
    logger.info({ config: path }, `${path} does not exist: reporting zone/region topology only when the Node carries those labels`);
    return undefined;
  }
  return buildLabels(labels, diag);
}
