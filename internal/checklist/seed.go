package checklist

import _ "embed"

// Seed is the built-in default template, the production deployment
// checklist Signoff was born from, exactly as its Markdown is written.
//
//go:embed seed/production-deployment-checklist.md
var Seed []byte
