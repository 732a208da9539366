/** Test-only: the CSI snapshot and volume responses as proto-loader hands them to the tests (snake_case). */
export interface Snap {
  snapshot_id: string;
  source_volume_id: string;
  size_bytes: string;
  creation_time: { seconds: string; nanos: number };
  ready_to_use: boolean;
}
export interface SnapRes {
  snapshot: Snap;
}
export interface ListRes {
  entries: { snapshot: Snap }[];
  next_token: string;
}
export interface VolumeRes {
  volume: {
    volume_id: string;
    capacity_bytes: string;
    content_source: { snapshot?: { snapshot_id: string } } | null;
    accessible_topology: { segments: Record<string, string> }[];
  };
}
