/**
 * The wire contract: field numbers and enum values the sidecars depend on,
 * checked on the descriptor proto-loader builds from proto/csi.proto. A
 * renumbered field would silently corrupt every call, so the table is explicit.
 */
import { describe, expect, test } from '@jest/globals';
import * as protoLoader from '@grpc/proto-loader';
import { CSI_SERVICE_NAMES, PROTO_LOADER_OPTIONS, csiProtoPath, csiServiceDefinition, loadCsiProto } from '../../src/csi/proto.js';

interface FieldDescriptor {
  name: string;
  number: number;
}
interface EnumValueDescriptor {
  name: string;
  number: number;
}

const definition = protoLoader.loadSync(csiProtoPath(), PROTO_LOADER_OPTIONS);
interface DescriptorProto {
  name: string;
  field: FieldDescriptor[];
  nestedType: DescriptorProto[];
  enumType: { name: string; value: EnumValueDescriptor[] }[];
}
/** Walks "VolumeCapability.AccessMode" down nestedType: proto-loader lists only top-level messages. */
const descriptor = (path: string): DescriptorProto => {
  const [top, ...rest] = path.split('.');
  let type = (definition[`csi.v1.${top}`] as unknown as { type: DescriptorProto }).type;
  for (const part of rest) {
    const next = type.nestedType.find((n) => n.name === part);
    if (!next) throw new Error(`no message ${path}`);
    type = next;
  }
  return type;
};
const message = (name: string): Record<string, number> =>
  Object.fromEntries(descriptor(name).field.map((f) => [f.name, f.number]));
const enumValues = (path: string): Record<string, number> => {
  const name = path.slice(path.lastIndexOf('.') + 1);
  const found = descriptor(path.slice(0, path.lastIndexOf('.'))).enumType.find((e) => e.name === name);
  if (!found) throw new Error(`no enum ${path}`);
  return Object.fromEntries(found.value.map((v) => [v.name, v.number]));
};

describe('proto/csi.proto', () => {
  test('loads as package csi.v1 with every v1.12.0 service', () => {
    const pkg = loadCsiProto();
    for (const name of CSI_SERVICE_NAMES) expect(pkg.csi.v1[name]).toBeDefined();
    expect(Object.keys(csiServiceDefinition('Identity')).sort()).toEqual(['GetPluginCapabilities', 'GetPluginInfo', 'Probe']);
    expect(Object.keys(csiServiceDefinition('Controller'))).toHaveLength(15);
    expect(Object.keys(csiServiceDefinition('Node'))).toHaveLength(8);
    expect(Object.keys(csiServiceDefinition('GroupController'))).toHaveLength(4);
    expect(csiServiceDefinition('SnapshotMetadata').GetMetadataDelta!.responseStream).toBe(true);
    expect(csiServiceDefinition('Controller').CreateVolume!.path).toBe('/csi.v1.Controller/CreateVolume');
  });

  test.each([
    ['CreateVolumeRequest', { name: 1, capacity_range: 2, volume_capabilities: 3, parameters: 4, secrets: 5, volume_content_source: 6, accessibility_requirements: 7, mutable_parameters: 8 }],
    ['Volume', { capacity_bytes: 1, volume_id: 2, volume_context: 3, content_source: 4, accessible_topology: 5 }],
    ['VolumeCapability', { block: 1, mount: 2, access_mode: 3 }],
    ['VolumeCapability.MountVolume', { fs_type: 1, mount_flags: 2, volume_mount_group: 3 }],
    ['ControllerPublishVolumeRequest', { volume_id: 1, node_id: 2, volume_capability: 3, readonly: 4, secrets: 5, volume_context: 6 }],
    ['ControllerUnpublishVolumeRequest', { volume_id: 1, node_id: 2, secrets: 3 }],
    ['ValidateVolumeCapabilitiesRequest', { volume_id: 1, volume_context: 2, volume_capabilities: 3, parameters: 4, secrets: 5, mutable_parameters: 6 }],
    ['GetCapacityResponse', { available_capacity: 1, maximum_volume_size: 2, minimum_volume_size: 3 }],
    ['ControllerExpandVolumeRequest', { volume_id: 1, capacity_range: 2, secrets: 3, volume_capability: 4 }],
    ['ControllerExpandVolumeResponse', { capacity_bytes: 1, node_expansion_required: 2 }],
    ['Snapshot', { size_bytes: 1, snapshot_id: 2, source_volume_id: 3, creation_time: 4, ready_to_use: 5, group_snapshot_id: 6 }],
    ['NodeStageVolumeRequest', { volume_id: 1, publish_context: 2, staging_target_path: 3, volume_capability: 4, secrets: 5, volume_context: 6 }],
    ['NodePublishVolumeRequest', { volume_id: 1, publish_context: 2, staging_target_path: 3, target_path: 4, volume_capability: 5, readonly: 6, secrets: 7, volume_context: 8 }],
    ['NodeGetVolumeStatsRequest', { volume_id: 1, volume_path: 2, staging_target_path: 3 }],
    ['NodeGetVolumeStatsResponse', { usage: 1, volume_condition: 2 }],
    ['VolumeUsage', { available: 1, total: 2, used: 3, unit: 4 }],
    ['NodeGetInfoResponse', { node_id: 1, max_volumes_per_node: 2, accessible_topology: 3 }],
    ['NodeExpandVolumeRequest', { volume_id: 1, volume_path: 2, capacity_range: 3, staging_target_path: 4, volume_capability: 5, secrets: 6 }],
    ['GetMetadataDeltaRequest', { base_snapshot_id: 1, target_snapshot_id: 2, starting_offset: 3, max_results: 4, secrets: 5 }],
    ['ValidateVolumeCapabilitiesResponse.Confirmed', { volume_context: 1, volume_capabilities: 2, parameters: 3, mutable_parameters: 4 }],
    ['ListVolumesResponse.VolumeStatus', { published_node_ids: 1, volume_condition: 2 }],
    ['ListVolumesResponse.Entry', { volume: 1, status: 2 }],
    ['ControllerModifyVolumeRequest', { volume_id: 1, secrets: 2, mutable_parameters: 3 }],
    ['VolumeGroupSnapshot', { group_snapshot_id: 1, snapshots: 2, creation_time: 3, ready_to_use: 4 }],
    ['GetMetadataAllocatedResponse', { block_metadata_type: 1, volume_capacity_bytes: 2, block_metadata: 3 }],
    ['PluginCapability', { service: 1, volume_expansion: 2 }],
    ['ProbeResponse', { ready: 1 }],
  ])('%s field numbers', (name, expected) => {
    expect(message(name)).toEqual(expected);
  });

  test.each([
    ['VolumeCapability.AccessMode.Mode', { UNKNOWN: 0, SINGLE_NODE_WRITER: 1, SINGLE_NODE_READER_ONLY: 2, MULTI_NODE_READER_ONLY: 3, MULTI_NODE_SINGLE_WRITER: 4, MULTI_NODE_MULTI_WRITER: 5, SINGLE_NODE_SINGLE_WRITER: 6, SINGLE_NODE_MULTI_WRITER: 7 }],
    ['PluginCapability.Service.Type', { UNKNOWN: 0, CONTROLLER_SERVICE: 1, VOLUME_ACCESSIBILITY_CONSTRAINTS: 2, GROUP_CONTROLLER_SERVICE: 3, SNAPSHOT_METADATA_SERVICE: 4 }],
    ['ControllerServiceCapability.RPC.Type', { UNKNOWN: 0, CREATE_DELETE_VOLUME: 1, PUBLISH_UNPUBLISH_VOLUME: 2, LIST_VOLUMES: 3, GET_CAPACITY: 4, CREATE_DELETE_SNAPSHOT: 5, LIST_SNAPSHOTS: 6, CLONE_VOLUME: 7, PUBLISH_READONLY: 8, EXPAND_VOLUME: 9, LIST_VOLUMES_PUBLISHED_NODES: 10, VOLUME_CONDITION: 11, GET_VOLUME: 12, SINGLE_NODE_MULTI_WRITER: 13, MODIFY_VOLUME: 14, GET_SNAPSHOT: 15 }],
    ['NodeServiceCapability.RPC.Type', { UNKNOWN: 0, STAGE_UNSTAGE_VOLUME: 1, GET_VOLUME_STATS: 2, EXPAND_VOLUME: 3, VOLUME_CONDITION: 4, SINGLE_NODE_MULTI_WRITER: 5, VOLUME_MOUNT_GROUP: 6 }],
  ])('%s enum values', (name, expected) => {
    expect(enumValues(name)).toEqual(expected);
  });
});
