package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// AWS deployment package limits (esm.md §11).
const (
	maxRequestBody = 70167211  // CreateFunction / UpdateFunctionCode request
	maxUnzipped    = 262144000 // 250 MB unzipped
)

var errUnzip = errInvalid("Could not unzip uploaded file. Please check your file, then try to upload again.")

// checkZip validates a deployment package without writing anything: a
// readable zip, no entry escaping the target directory (zip slip), no
// symlink pointing outside it, and an unzipped size under AWS's limit.
func checkZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // entryPath rejects those with a clear message
		return errUnzip
	}
	var total uint64
	for _, f := range zr.File {
		if _, err := entryPath(f.Name); err != nil {
			return err
		}
		total += f.UncompressedSize64
		if total >= maxUnzipped {
			return errInvalid("Unzipped size must be smaller than %d bytes", maxUnzipped)
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			rc, err := f.Open()
			if err != nil {
				return errUnzip
			}
			target, err := io.ReadAll(io.LimitReader(rc, 4096))
			rc.Close()
			if err != nil {
				return errUnzip
			}
			if err := checkSymlink(f.Name, string(target)); err != nil {
				return err
			}
		}
	}
	return nil
}

// entryPath cleans a zip entry name into a relative path inside the
// package, or rejects it.
func entryPath(name string) (string, error) {
	n := strings.TrimSuffix(strings.ReplaceAll(name, `\`, "/"), "/")
	if n == "" || n == "." {
		return "", nil
	}
	if strings.HasPrefix(n, "/") || !filepath.IsLocal(filepath.FromSlash(n)) {
		return "", errInvalid("Could not unzip uploaded file: the entry %q would be extracted outside the function's directory (zip slip). Remove absolute paths and '..' from the archive.", name)
	}
	return path.Clean(n), nil
}

func checkSymlink(name, target string) error {
	if path.IsAbs(target) || !filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(strings.TrimSuffix(name, "/")), target))) {
		return errInvalid("Could not unzip uploaded file: the symbolic link %q points outside the function's directory (%q).", name, target)
	}
	return nil
}

// digest returns CodeSha256 (base64) and the hex form used for cache dirs.
func digest(data []byte) (b64, hx string) {
	sum := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sum[:])
}

// codeCache unpacks packages into dir/<sha256 hex>, once per digest per
// node, and fetches them from the object store when this node has not seen
// them (another node took the upload).
type codeCache struct {
	dir   string
	store jetstream.ObjectStore
	mu    sync.Mutex
	busy  map[string]*sync.Mutex // per digest
	// unpacking holds the temporary dirs of unpacks in progress, which gc
	// must not take for leftovers. Guarded by mu.
	unpacking map[string]bool
	// ready remembers digests unpacked completely by this process, so a
	// warm invoke does not stat the marker file (a path walk per invoke);
	// gc forgets a digest before removing its directory.
	ready sync.Map // digest hex -> dir
}

func newCodeCache(dir string, store jetstream.ObjectStore) (*codeCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating code cache %s: %w", dir, err)
	}
	return &codeCache{dir: dir, store: store, busy: map[string]*sync.Mutex{}, unpacking: map[string]bool{}}, nil
}

func (c *codeCache) lock(hx string) func() {
	c.mu.Lock()
	m := c.busy[hx]
	if m == nil {
		m = &sync.Mutex{}
		c.busy[hx] = m
	}
	c.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// put stores the zip in the object store under obj.
func (c *codeCache) put(ctx context.Context, obj string, data []byte) error {
	if _, err := c.store.PutBytes(ctx, obj, data); err != nil {
		return fmt.Errorf("storing code %s: %w", obj, err)
	}
	return nil
}

func (c *codeCache) delete(ctx context.Context, obj string) error {
	if err := c.store.Delete(ctx, obj); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("deleting code %s: %w", obj, err)
	}
	return nil
}

// path returns the unpacked directory of a package, unpacking it (from data
// if given, else from the object store) the first time.
func (c *codeCache) path(ctx context.Context, cd code, data []byte) (string, error) {
	if dir, ok := c.ready.Load(cd.Hex); ok {
		return dir.(string), nil
	}
	dir := filepath.Join(c.dir, cd.Hex)
	unlock := c.lock(cd.Hex)
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, ".penstock-complete")); err == nil {
		c.ready.Store(cd.Hex, dir)
		return dir, nil
	}
	if data == nil {
		var err error
		data, err = c.store.GetBytes(ctx, cd.Object)
		if err != nil {
			return "", fmt.Errorf("fetching code %s: %w", cd.Object, err)
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmpName := ".tmp-" + hex.EncodeToString(rnd[:])
	tmp := filepath.Join(c.dir, tmpName)
	c.mu.Lock()
	c.unpacking[tmpName] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.unpacking, tmpName)
		c.mu.Unlock()
	}()
	if err := unzipTo(data, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".penstock-complete"), nil, 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("marking code dir: %w", err)
	}
	_ = os.RemoveAll(dir) // a half-written dir from a crash
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("placing code dir: %w", err)
	}
	c.ready.Store(cd.Hex, dir)
	return dir, nil
}

// unzipTo extracts a package checked by checkZip into dir, keeping file
// modes (bootstrap stays executable). Symlinks are made last so that no
// file is written through one.
func unzipTo(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // entryPath rejects those with a clear message
		return errUnzip
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	var links []*zip.File
	var written int64
	for _, f := range zr.File {
		rel, err := entryPath(f.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			links = append(links, f)
			continue
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("creating %s: %w", rel, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("creating dir of %s: %w", rel, err)
		}
		perm := mode.Perm()
		if perm == 0 {
			perm = 0o644 // archives made without unix modes
		}
		n, err := extractFile(f, dst, perm|0o400, maxUnzipped-written)
		if err != nil {
			return err
		}
		written += n
	}
	for _, f := range links {
		rel, _ := entryPath(f.Name)
		rc, err := f.Open()
		if err != nil {
			return errUnzip
		}
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		if err != nil {
			return errUnzip
		}
		if err := checkSymlink(f.Name, string(target)); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("creating dir of %s: %w", rel, err)
		}
		if err := os.Symlink(string(target), dst); err != nil {
			return fmt.Errorf("linking %s: %w", rel, err)
		}
	}
	return nil
}

func extractFile(f *zip.File, dst string, perm fs.FileMode, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, errUnzip
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, fmt.Errorf("creating %s: %w", dst, err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, errUnzip
	}
	if n > budget {
		return n, errInvalid("Unzipped size must be smaller than %d bytes", maxUnzipped)
	}
	if err := os.Chmod(dst, perm); err != nil { // umask
		return n, fmt.Errorf("chmod %s: %w", dst, err)
	}
	return n, nil
}

// gcMargin is how much older than gc's start an entry must look to be
// removed: file systems stamp times from a coarse clock (up to a tick,
// 4-10 ms, behind time.Now), so a package unpacked just after gc started
// can look older than the start.
const gcMargin = 20 * time.Millisecond

// gc removes unpacked packages no function refers to any more (and
// leftovers of interrupted unpacks), keeping anything changed since
// before (less gcMargin) and every unpack in progress: a package unpacked
// while gc runs is never removed.
func (c *codeCache) gc(referenced map[string]bool, before time.Time) (removed int, err error) {
	before = before.Add(-gcMargin)
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return 0, fmt.Errorf("reading code cache: %w", err)
	}
	for _, e := range ents {
		if referenced[e.Name()] {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			continue
		}
		c.mu.Lock()
		inProgress := c.unpacking[e.Name()]
		c.mu.Unlock()
		if inProgress {
			continue
		}
		unlock := c.lock(e.Name())
		c.ready.Delete(e.Name())
		err = os.RemoveAll(filepath.Join(c.dir, e.Name()))
		unlock()
		if err != nil {
			return removed, fmt.Errorf("removing %s from the code cache: %w", e.Name(), err)
		}
		removed++
	}
	return removed, nil
}
