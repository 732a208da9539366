// Asynchronous CNS tasks, as vCenter runs them: the SOAP method answers with
// a task that is still queued; the work happens later on its own goroutine and
// info.state moves queued -> running -> success|error through Map.Update, so
// property collectors see every step. (govmomi 0.24.2 runs the work before it
// answers, which hides callers that read a task's result too early.)
package main

import (
	"fmt"
	"sync"
	"time"

	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

type taskWork func() (vim25types.AnyType, vim25types.BaseMethodFault, string)

type taskRunner struct {
	owner mo.Reference
	lock  sync.Locker // the manager's state lock, held while work runs

	mu         sync.Mutex
	queueDelay time.Duration
	runTime    time.Duration
}

func (r *taskRunner) setTiming(queue, run time.Duration) {
	r.mu.Lock()
	r.queueDelay, r.runTime = queue, run
	r.mu.Unlock()
}

func (r *taskRunner) timing() (time.Duration, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queueDelay, r.runTime
}

// start creates a queued task for method and runs work later. work returns
// the task result, or a fault (with its message) that fails the task.
func (r *taskRunner) start(method string, work taskWork) vim25types.ManagedObjectReference {
	task := simulator.CreateTask(r.owner, method, nil)
	queue, run := r.timing()
	go func() {
		sleep(queue)
		update(task, []vim25types.PropertyChange{
			{Name: "info.startTime", Val: time.Now()},
			{Name: "info.state", Val: vim25types.TaskInfoStateRunning},
		})
		sleep(run)
		r.lock.Lock()
		result, fault, message := work()
		r.lock.Unlock()
		finish(task, result, fault, message)
	}()
	return task.Self
}

func sleep(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

func update(task *simulator.Task, changes []vim25types.PropertyChange) {
	simulator.Map.WithLock(task, func() { simulator.Map.Update(task, changes) })
}

func finish(task *simulator.Task, result vim25types.AnyType, fault vim25types.BaseMethodFault, message string) {
	state := vim25types.TaskInfoStateSuccess
	var taskErr interface{}
	if fault != nil {
		state = vim25types.TaskInfoStateError
		if message == "" {
			message = fmt.Sprintf("%T", fault)
		}
		taskErr = vim25types.LocalizedMethodFault{Fault: fault, LocalizedMessage: message}
		result = nil
	}
	update(task, []vim25types.PropertyChange{
		{Name: "info.completeTime", Val: time.Now()},
		{Name: "info.state", Val: state},
		{Name: "info.result", Val: result},
		{Name: "info.error", Val: taskErr},
	})
}

// exactlyOne is vCenter's rule for create, delete and extend: one spec per call.
func exactlyOne(method string, n int) (vim25types.BaseMethodFault, string) {
	if n == 1 {
		return nil, ""
	}
	return &vim25types.InvalidArgument{InvalidProperty: "InputSpec"},
		fmt.Sprintf("%s takes exactly one spec per call; %d were given", method, n)
}

// oneSpecTask starts a task for create, delete or extend: exactly one spec
// (vCenter's rule), then any injected fault, then the one item's result.
func (m *CnsVolumeManager) oneSpecTask(method string, n int, one func() cnstypes.BaseCnsVolumeOperationResult) vim25types.ManagedObjectReference {
	return m.tasks.start(method, func() (vim25types.AnyType, vim25types.BaseMethodFault, string) {
		if fault, msg := exactlyOne(method, n); fault != nil {
			return nil, fault, msg
		}
		if fault, msg := m.faults.take(method); fault != nil {
			return nil, fault, msg
		}
		return &cnstypes.CnsVolumeOperationBatchResult{VolumeResults: []cnstypes.BaseCnsVolumeOperationResult{one()}}, nil, ""
	})
}

// manySpecTask starts a task for attach, detach or metadata updates: at
// least one spec (field names the request's list), any injected fault, then
// a result per spec, each with its own fault.
func (m *CnsVolumeManager) manySpecTask(method, field string, n int, each func(i int) cnstypes.BaseCnsVolumeOperationResult) vim25types.ManagedObjectReference {
	return m.tasks.start(method, func() (vim25types.AnyType, vim25types.BaseMethodFault, string) {
		if n == 0 {
			return nil, &vim25types.InvalidArgument{InvalidProperty: field}, "no " + field + " given"
		}
		if fault, msg := m.faults.take(method); fault != nil {
			return nil, fault, msg
		}
		out := &cnstypes.CnsVolumeOperationBatchResult{}
		for i := 0; i < n; i++ {
			out.VolumeResults = append(out.VolumeResults, each(i))
		}
		return out, nil, ""
	})
}

// batch wraps one item's result as a task result.
func batch(r cnstypes.BaseCnsVolumeOperationResult) *cnstypes.CnsVolumeOperationBatchResult {
	return &cnstypes.CnsVolumeOperationBatchResult{VolumeResults: []cnstypes.BaseCnsVolumeOperationResult{r}}
}
