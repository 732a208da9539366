// Added to Debian's govmomi simulator package at build time (go build
// -overlay, see src/harness/vcsim-build.ts), together with a copy of its
// property_collector.go whose WaitForUpdatesEx ticker reads this variable
// instead of its fixed 250 ms. vCenter answers WaitForUpdatesEx as soon as
// there are updates; test/vcsim/main.go sets this from -update-interval.
package simulator

import "time"

// WaitForUpdatesInterval is how often a waiting WaitForUpdatesEx looks for changes.
var WaitForUpdatesInterval = 250 * time.Millisecond
