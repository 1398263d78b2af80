package lambda

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCodeCacheGCKeepsWorkInProgress: gc at start removes leftovers and
// unreferenced packages, but not an unpack in progress nor anything
// stamped (by the file system's coarse clock) just before it started.
func TestCodeCacheGCKeepsWorkInProgress(t *testing.T) {
	dir := t.TempDir()
	c, err := newCodeCache(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	old := start.Add(-time.Hour)
	justBefore := start.Add(-5 * time.Millisecond)
	tests := []struct {
		name       string
		mtime      time.Time
		unpacking  bool
		referenced bool
		removed    bool
	}{
		{name: ".tmp-leftover", mtime: old, removed: true},
		{name: ".tmp-inprogress", mtime: old, unpacking: true},
		{name: "unreferenced", mtime: old, removed: true},
		{name: "referenced", mtime: old, referenced: true},
		{name: "unpacked-just-now", mtime: justBefore},
		{name: ".tmp-just-now", mtime: justBefore},
	}
	referenced := map[string]bool{}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, tt.mtime, tt.mtime); err != nil {
			t.Fatal(err)
		}
		if tt.unpacking {
			c.unpacking[tt.name] = true
		}
		if tt.referenced {
			referenced[tt.name] = true
		}
	}
	if _, err := c.gc(referenced, start); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		_, err := os.Stat(filepath.Join(dir, tt.name))
		if gone := os.IsNotExist(err); gone != tt.removed {
			t.Errorf("%s: removed %v, want %v", tt.name, gone, tt.removed)
		}
	}
}
