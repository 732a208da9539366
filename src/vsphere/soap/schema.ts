/**
 * Declared element order of every SOAP type and method request we send, in
 * XSD sequence order (base-type fields first, as in the vim25/CNS/PBM WSDLs and
 * govmomi's generated types). Only the fields we use are listed; their
 * relative order is what matters.
 */
export const FIELD_ORDER: Readonly<Record<string, readonly string[]>> = {
  // ---- vim25 data types
  PropertyFilterSpec: ['propSet', 'objectSet', 'reportMissingObjectsInResults'],
  PropertySpec: ['type', 'all', 'pathSet'],
  ObjectSpec: ['obj', 'skip', 'selectSet'],
  SelectionSpec: ['name'],
  TraversalSpec: ['name', 'type', 'path', 'skip', 'selectSet'],
  RetrieveOptions: ['maxObjects'],
  WaitOptions: ['maxWaitSeconds', 'maxObjectUpdates'],
  VirtualMachineConfigSpec: ['extraConfig'],
  OptionValue: ['key', 'value'],
  VirtualMachineDefinedProfileSpec: ['profileId', 'replicationSpec', 'profileData', 'profileParams'],
  KeyValue: ['key', 'value'],

  // ---- vim25 methods
  RetrieveServiceContent: ['_this'],
  Login: ['_this', 'userName', 'password', 'locale'],
  Logout: ['_this'],
  TerminateSession: ['_this', 'sessionId'],
  SessionIsActive: ['_this', 'sessionID', 'userName'],
  HasPrivilegeOnEntities: ['_this', 'entity', 'sessionId', 'privId'],
  CurrentTime: ['_this'],
  RetrievePropertiesEx: ['_this', 'specSet', 'options'],
  ContinueRetrievePropertiesEx: ['_this', 'token'],
  CancelRetrievePropertiesEx: ['_this', 'token'],
  CreatePropertyCollector: ['_this'],
  DestroyPropertyCollector: ['_this'],
  CreateFilter: ['_this', 'spec', 'partialUpdates'],
  DestroyPropertyFilter: ['_this'],
  WaitForUpdatesEx: ['_this', 'version', 'options'],
  CancelWaitForUpdates: ['_this'],
  CreateContainerView: ['_this', 'container', 'type', 'recursive'],
  DestroyView: ['_this'],
  FindByUuid: ['_this', 'datacenter', 'uuid', 'vmSearch', 'instanceUuid'],
  FindByDnsName: ['_this', 'datacenter', 'dnsName', 'vmSearch'],
  FindByIp: ['_this', 'datacenter', 'ip', 'vmSearch'],
  ReconfigVM_Task: ['_this', 'spec'],
  PowerOnVM_Task: ['_this', 'host'],
  PowerOffVM_Task: ['_this'],
  Destroy_Task: ['_this'],

  // ---- CNS (urn:vsan) data types
  CnsVolumeCreateSpec: ['name', 'volumeType', 'datastores', 'metadata', 'backingObjectDetails', 'profile', 'createSpec'],
  CnsVolumeMetadata: ['containerCluster', 'entityMetadata', 'containerClusterArray'],
  CnsContainerCluster: ['clusterType', 'clusterId', 'vSphereUser', 'clusterFlavor', 'clusterDistribution'],
  CnsKubernetesEntityMetadata: ['entityName', 'labels', 'delete', 'clusterId', 'entityType', 'namespace', 'referredEntity'],
  CnsKubernetesEntityReference: ['entityType', 'entityName', 'namespace', 'clusterId'],
  CnsBlockBackingDetails: ['capacityInMb', 'backingDiskId', 'backingDiskUrlPath'],
  CnsVolumeId: ['id'],
  CnsVolumeAttachDetachSpec: ['volumeId', 'vm'],
  CnsVolumeExtendSpec: ['volumeId', 'capacityInMb'],
  CnsVolumeMetadataUpdateSpec: ['volumeId', 'metadata'],
  CnsQueryFilter: [
    'volumeIds',
    'names',
    'containerClusterIds',
    'storagePolicyId',
    'datastores',
    'labels',
    'complianceStatus',
    'datastoreAccessibilityStatus',
    'cursor',
    'healthStatus',
  ],
  CnsCursor: ['offset', 'limit', 'totalRecords'],
  CnsQuerySelection: ['names'],

  // ---- CNS methods
  CnsCreateVolume: ['_this', 'createSpecs'],
  CnsDeleteVolume: ['_this', 'volumeIds', 'deleteDisk'],
  CnsAttachVolume: ['_this', 'attachSpecs'],
  CnsDetachVolume: ['_this', 'detachSpecs'],
  CnsExtendVolume: ['_this', 'extendSpecs'],
  CnsUpdateVolumeMetadata: ['_this', 'updateSpecs'],
  CnsQueryVolume: ['_this', 'filter'],
  CnsQueryAllVolume: ['_this', 'filter', 'selection'],

  // ---- PBM data types and methods
  PbmProfileResourceType: ['resourceType'],
  PbmProfileId: ['uniqueId'],
  PbmPlacementHub: ['hubType', 'hubId'],
  PbmPlacementCapabilityProfileRequirement: ['profileId'],
  PbmRetrieveServiceContent: ['_this'],
  PbmQueryProfile: ['_this', 'resourceType', 'profileCategory'],
  PbmRetrieveContent: ['_this', 'profileIds'],
  PbmCheckRequirements: ['_this', 'hubsToSearch', 'placementSubjectRef', 'placementSubjectRequirement'],
};
