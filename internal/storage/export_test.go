package storage

// LogNames exposes logNames to the external test package.
var LogNames = logNames
