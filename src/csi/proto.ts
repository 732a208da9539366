/**
 * Loads proto/csi.proto at runtime with proto-loader. The file is found
 * relative to this module: src/csi/proto.ts (ts-jest) and dist/csi/proto.js
 * (compiled, and in the image where proto/ sits beside dist/) are both two
 * levels below the project root. CSI_PROTO_PATH overrides it for unusual
 * layouts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/csi.js';

/** The loader options every part of the project (and scripts/gen-proto-types.sh) uses. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const CSI_SERVICE_NAMES = ['Identity', 'Controller', 'Node', 'GroupController', 'SnapshotMetadata'] as const;
export type CsiServiceName = (typeof CSI_SERVICE_NAMES)[number];

export function csiProtoPath(): string {
  const override = process.env.CSI_PROTO_PATH;
  if (override) return override;
  const path = fileURLToPath(new URL('../../proto/csi.proto', import.meta.url));
  if (!existsSync(path)) {
    throw new Error(`CSI proto not found at ${path}: ship proto/ beside dist/ or set CSI_PROTO_PATH`);
  }
  return path;
}

let cached: ProtoGrpcType | undefined;

/** The loaded csi.v1 package (cached: parsing the proto costs ~30 ms). */
export function loadCsiProto(): ProtoGrpcType {
  if (!cached) {
    const definition = protoLoader.loadSync(csiProtoPath(), PROTO_LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return cached;
}

/** grpc-js service definition of one CSI service, for Server.addService. */
export function csiServiceDefinition(name: CsiServiceName): grpc.ServiceDefinition {
  return loadCsiProto().csi.v1[name].service;
}

/** A client constructor for one CSI service (tests, preflight, benchmarks). */
export function csiClientConstructor(name: CsiServiceName): grpc.ServiceClientConstructor {
  return loadCsiProto().csi.v1[name] as unknown as grpc.ServiceClientConstructor;
}
