// Package migrations holds the numbered up/down SQL migrations, embedded in
// the binary so the app can bring any database to the schema it knows.
package migrations

import "embed"

// FS holds every *.sql migration.
//
//go:embed *.sql
var FS embed.FS
