// The CNS snapshot types govmomi 0.24.2 lacks (vSAN Management API
// reference names and shapes), registered with the simulator's type registry
// so the /vsanHealth decoder reads them and answers carry their xsi:type; the
// methods that use them are in cns_snapshots.go.
package main

import (
	"reflect"
	"time"

	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/vim25/soap"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

// ---- types 0.24.2 lacks, registered for the /vsanHealth decoder and named as the WSDL names them (xsi:type)

type CnsSnapshotId struct {
	vim25types.DynamicData

	Id string `xml:"id"`
}

type CnsSnapshot struct {
	vim25types.DynamicData

	SnapshotId  CnsSnapshotId        `xml:"snapshotId"`
	VolumeId    cnstypes.CnsVolumeId `xml:"volumeId"`
	Description string               `xml:"description,omitempty"`
	CreateTime  time.Time            `xml:"createTime"`
}

type CnsSnapshotCreateSpec struct {
	vim25types.DynamicData

	VolumeId    cnstypes.CnsVolumeId `xml:"volumeId"`
	Description string               `xml:"description"`
}

type CnsSnapshotDeleteSpec struct {
	vim25types.DynamicData

	VolumeId   cnstypes.CnsVolumeId `xml:"volumeId"`
	SnapshotId CnsSnapshotId        `xml:"snapshotId"`
}

type CnsSnapshotQuerySpec struct {
	vim25types.DynamicData

	VolumeId   cnstypes.CnsVolumeId `xml:"volumeId"`
	SnapshotId *CnsSnapshotId       `xml:"snapshotId,omitempty"`
}

type CnsSnapshotQueryFilter struct {
	vim25types.DynamicData

	SnapshotQuerySpecs []CnsSnapshotQuerySpec `xml:"snapshotQuerySpecs,omitempty"`
	Cursor             *cnstypes.CnsCursor    `xml:"cursor,omitempty"`
}

type CnsSnapshotOperationResult struct {
	cnstypes.CnsVolumeOperationResult
}

type CnsSnapshotCreateResult struct {
	CnsSnapshotOperationResult

	Snapshot *CnsSnapshot `xml:"snapshot,omitempty"` // absent in a failed result
}

type CnsSnapshotDeleteResult struct {
	CnsSnapshotOperationResult

	SnapshotId CnsSnapshotId `xml:"snapshotId,omitempty"`
}

type CnsSnapshotQueryResultEntry struct {
	vim25types.DynamicData

	Snapshot *CnsSnapshot                     `xml:"snapshot,omitempty"`
	Error    *vim25types.LocalizedMethodFault `xml:"error,omitempty"`
}

type CnsSnapshotQueryResult struct {
	vim25types.DynamicData

	Entries []CnsSnapshotQueryResultEntry `xml:"entries,omitempty"`
	Cursor  cnstypes.CnsCursor            `xml:"cursor"`
}

// CnsSnapshotNotFoundFault: the API reference spells the snapshot's property "SnapshotId".
type CnsSnapshotNotFoundFault struct {
	cnstypes.CnsFault

	VolumeId   cnstypes.CnsVolumeId `xml:"volumeId,omitempty"`
	SnapshotId CnsSnapshotId        `xml:"SnapshotId"`
}

type CnsVolumeNotFoundFault struct {
	cnstypes.CnsFault

	VolumeId cnstypes.CnsVolumeId `xml:"volumeId"`
}

type CnsVolumeSource struct {
	vim25types.DynamicData
}

func (s *CnsVolumeSource) GetCnsVolumeSource() *CnsVolumeSource { return s }

type BaseCnsVolumeSource interface {
	GetCnsVolumeSource() *CnsVolumeSource
}

type CnsSnapshotVolumeSource struct {
	CnsVolumeSource

	VolumeId   cnstypes.CnsVolumeId `xml:"volumeId,omitempty"`
	SnapshotId CnsSnapshotId        `xml:"snapshotId,omitempty"`
}

// cnsVolumeCreateSpec is 0.24.2's CnsVolumeCreateSpec with the volumeSource
// a later WSDL appends after its fields.
type cnsVolumeCreateSpec struct {
	cnstypes.CnsVolumeCreateSpec

	VolumeSource BaseCnsVolumeSource `xml:"volumeSource,omitempty,typeattr"`
}

// cnsCreateVolume replaces 0.24.2's CnsCreateVolume request type for the
// decoder ("vsan:CnsCreateVolume" is looked up before "CnsCreateVolume"), so
// a create spec's volumeSource is read.
type cnsCreateVolume struct {
	This        vim25types.ManagedObjectReference `xml:"_this"`
	CreateSpecs []cnsVolumeCreateSpec             `xml:"createSpecs,omitempty"`
}

type CnsCreateSnapshots struct {
	This          vim25types.ManagedObjectReference `xml:"_this"`
	SnapshotSpecs []CnsSnapshotCreateSpec           `xml:"snapshotSpecs,omitempty"`
}

type CnsDeleteSnapshots struct {
	This                vim25types.ManagedObjectReference `xml:"_this"`
	SnapshotDeleteSpecs []CnsSnapshotDeleteSpec           `xml:"snapshotDeleteSpecs,omitempty"`
}

type CnsQuerySnapshots struct {
	This                vim25types.ManagedObjectReference `xml:"_this"`
	SnapshotQueryFilter CnsSnapshotQueryFilter            `xml:"snapshotQueryFilter"`
}

// The simulator names a response element after its Go type: one type per method.
type CnsCreateSnapshotsResponse struct {
	Returnval vim25types.ManagedObjectReference `xml:"returnval"`
}

type CnsDeleteSnapshotsResponse struct {
	Returnval vim25types.ManagedObjectReference `xml:"returnval"`
}

type CnsQuerySnapshotsResponse struct {
	Returnval vim25types.ManagedObjectReference `xml:"returnval"`
}

type CnsCreateSnapshotsBody struct {
	Res    *CnsCreateSnapshotsResponse `xml:"urn:vsan CnsCreateSnapshotsResponse,omitempty"`
	Fault_ *soap.Fault                 `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *CnsCreateSnapshotsBody) Fault() *soap.Fault { return b.Fault_ }

type CnsDeleteSnapshotsBody struct {
	Res    *CnsDeleteSnapshotsResponse `xml:"urn:vsan CnsDeleteSnapshotsResponse,omitempty"`
	Fault_ *soap.Fault                 `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *CnsDeleteSnapshotsBody) Fault() *soap.Fault { return b.Fault_ }

type CnsQuerySnapshotsBody struct {
	Res    *CnsQuerySnapshotsResponse `xml:"urn:vsan CnsQuerySnapshotsResponse,omitempty"`
	Fault_ *soap.Fault                `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *CnsQuerySnapshotsBody) Fault() *soap.Fault { return b.Fault_ }

func init() {
	for name, v := range map[string]interface{}{
		"CnsSnapshotId":               (*CnsSnapshotId)(nil),
		"CnsSnapshot":                 (*CnsSnapshot)(nil),
		"CnsSnapshotCreateSpec":       (*CnsSnapshotCreateSpec)(nil),
		"CnsSnapshotDeleteSpec":       (*CnsSnapshotDeleteSpec)(nil),
		"CnsSnapshotQuerySpec":        (*CnsSnapshotQuerySpec)(nil),
		"CnsSnapshotQueryFilter":      (*CnsSnapshotQueryFilter)(nil),
		"CnsSnapshotOperationResult":  (*CnsSnapshotOperationResult)(nil),
		"CnsSnapshotCreateResult":     (*CnsSnapshotCreateResult)(nil),
		"CnsSnapshotDeleteResult":     (*CnsSnapshotDeleteResult)(nil),
		"CnsSnapshotQueryResultEntry": (*CnsSnapshotQueryResultEntry)(nil),
		"CnsSnapshotQueryResult":      (*CnsSnapshotQueryResult)(nil),
		"CnsSnapshotNotFoundFault":    (*CnsSnapshotNotFoundFault)(nil),
		"CnsVolumeNotFoundFault":      (*CnsVolumeNotFoundFault)(nil),
		"CnsVolumeSource":             (*CnsVolumeSource)(nil),
		"BaseCnsVolumeSource":         (*CnsVolumeSource)(nil),
		"CnsSnapshotVolumeSource":     (*CnsSnapshotVolumeSource)(nil),
	} {
		t := reflect.TypeOf(v).Elem()
		vim25types.Add(name, t)
		vim25types.Add("vsan:"+name, t)
	}
	vim25types.Add("vsan:CnsCreateVolume", reflect.TypeOf((*cnsCreateVolume)(nil)).Elem())
	vim25types.Add("vsan:CnsCreateSnapshots", reflect.TypeOf((*CnsCreateSnapshots)(nil)).Elem())
	vim25types.Add("vsan:CnsDeleteSnapshots", reflect.TypeOf((*CnsDeleteSnapshots)(nil)).Elem())
	vim25types.Add("vsan:CnsQuerySnapshots", reflect.TypeOf((*CnsQuerySnapshots)(nil)).Elem())
}
