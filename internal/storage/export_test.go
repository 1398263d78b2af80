package storage

// LogNames exposes logNames to the external test package.
var LogNames = logNames

// TailBuffered reports how many records a Tail holds, for tests that need
// a known buffer before calling Next.
func TailBuffered(t *Tail) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buf)
}
