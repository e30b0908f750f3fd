package audit

// EncodeCanonicalReflect is the general canonical encoder, for tests that
// hold the direct one against it.
var EncodeCanonicalReflect = encodeCanonicalReflect
