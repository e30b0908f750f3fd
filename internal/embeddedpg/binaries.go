package embeddedpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MinMajorVersion is the oldest PostgreSQL major version Start accepts; it
// matches the oldest version Signoff supports through DATABASE_URL.
const MinMajorVersion = 13

// ErrNoBinaries is returned (wrapped) by Start and CheckBinaries when no
// usable PostgreSQL server binaries are installed. Its message is a single
// line telling the user what to do about it.
var ErrNoBinaries = errors.New(`no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH or in the usual install folders; install PostgreSQL 13 or newer (e.g. "apt-get install postgresql", "dnf install postgresql-server" or "brew install postgresql") or set DATABASE_URL to use an existing server`)

// searchGlobs lists the folders, beyond PATH, where distributions and
// installers put the server binaries. A variable so tests can replace it.
var searchGlobs = []string{
	"/usr/lib/postgresql/*/bin",                          // Debian, Ubuntu
	"/usr/pgsql-*/bin",                                   // PGDG RPMs (RHEL, Fedora, ...)
	"/usr/local/pgsql/bin",                               // source builds
	"/usr/local/lib/postgresql*/bin",                     // some BSD ports
	"/opt/homebrew/opt/postgresql@*/bin",                 // Homebrew, Apple silicon
	"/opt/homebrew/opt/postgresql/bin",                   //
	"/usr/local/opt/postgresql@*/bin",                    // Homebrew, Intel
	"/usr/local/opt/postgresql/bin",                      //
	"/opt/local/lib/postgresql*/bin",                     // MacPorts
	"/Applications/Postgres.app/Contents/Versions/*/bin", // Postgres.app
}

// pathEnv returns the PATH to search. A variable so tests can replace it.
var pathEnv = func() string { return os.Getenv("PATH") }

// BinDirEnv names the environment variable that, like PATH, steers the
// search for the server programs: set, it names the one folder to use
// (e.g. /opt/postgresql/16/bin) when Config.BinDir is empty.
const BinDirEnv = "POSTGRES_BIN_DIR"

// binDirEnv returns the BinDirEnv folder. A variable so tests can replace it.
var binDirEnv = func() string { return os.Getenv(BinDirEnv) }

// binaries is one installation of the PostgreSQL server programs.
type binaries struct {
	dir     string // folder holding initdb, pg_ctl and postgres (symlinks resolved)
	major   int    // major version, e.g. 15
	version string // full version, e.g. "15.20"
}

func (b binaries) path(name string) string { return filepath.Join(b.dir, name) }

var serverPrograms = []string{"initdb", "pg_ctl", "postgres"}

// CheckBinaries reports whether Start can find PostgreSQL server binaries
// (binDir as in Config.BinDir; empty for POSTGRES_BIN_DIR or the search).
// The error wraps ErrNoBinaries when none are installed.
func CheckBinaries(binDir string) error {
	_, err := findBinaries(context.Background(), binDir, 0)
	return err
}

// findBinaries picks the server binaries to use. With binDir (or else
// POSTGRES_BIN_DIR) set only that folder is considered. Otherwise PATH
// comes first, then searchGlobs with the highest version first. wantMajor > 0 (an existing cluster's version)
// restricts the choice to that major version, since a data folder can only
// be opened by the major version that created it.
func findBinaries(ctx context.Context, binDir string, wantMajor int) (binaries, error) {
	fromEnv := false
	if binDir == "" {
		binDir, fromEnv = binDirEnv(), true
	}
	var dirs []string
	if binDir != "" {
		dirs = []string{binDir}
	} else {
		dirs = candidateDirs()
	}

	var found []binaries
	seen := map[string]bool{}
	for _, d := range dirs {
		resolved, err := filepath.EvalSymlinks(d)
		if err != nil || seen[resolved] || !hasServerPrograms(resolved) {
			continue
		}
		seen[resolved] = true
		b, err := probeVersion(ctx, resolved)
		if err != nil {
			continue
		}
		found = append(found, b)
	}

	if len(found) == 0 {
		if binDir != "" {
			return binaries{}, noBinariesIn(binDir, fromEnv)
		}
		return binaries{}, ErrNoBinaries
	}

	if wantMajor > 0 {
		for _, b := range found {
			if b.major == wantMajor {
				return b, nil
			}
		}
		return binaries{}, fmt.Errorf("the data folder holds a PostgreSQL %d cluster but only %s found; install the PostgreSQL %d server binaries (or upgrade the cluster with pg_upgrade)", wantMajor, describe(found), wantMajor)
	}
	for _, b := range found {
		if b.major >= MinMajorVersion {
			return b, nil
		}
	}
	return binaries{}, fmt.Errorf("only %s found, but PostgreSQL %d or newer is needed: %w", describe(found), MinMajorVersion, ErrNoBinaries)
}

func describe(found []binaries) string {
	parts := make([]string, len(found))
	for i, b := range found {
		parts[i] = fmt.Sprintf("PostgreSQL %s in %s", b.version, b.dir)
	}
	return strings.Join(parts, ", ")
}

// candidateDirs lists folders that may hold the server programs, in order
// of preference: where PATH finds them, then the usual install folders,
// highest version first.
func candidateDirs() []string {
	var dirs []string
	for _, dir := range filepath.SplitList(pathEnv()) {
		if dir == "" {
			continue
		}
		for _, prog := range serverPrograms {
			p := filepath.Join(dir, prog)
			if !isExecutable(p) {
				continue
			}
			// Debian-style setups often symlink a single program onto
			// PATH; the folder that matters is where the symlink points.
			if resolved, err := filepath.EvalSymlinks(p); err == nil {
				dirs = append(dirs, filepath.Dir(resolved))
			}
		}
	}

	var globbed []string
	for _, g := range searchGlobs {
		matches, _ := filepath.Glob(g)
		globbed = append(globbed, matches...)
	}
	sort.SliceStable(globbed, func(i, j int) bool {
		return versionFromPath(globbed[i]) > versionFromPath(globbed[j])
	})
	return append(dirs, globbed...)
}

var pathVersionRE = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// versionFromPath extracts a sortable version from an install folder such
// as /usr/lib/postgresql/15/bin or /opt/homebrew/opt/postgresql@16/bin.
func versionFromPath(p string) int {
	m := pathVersionRE.FindAllStringSubmatch(p, -1)
	if len(m) == 0 {
		return 0
	}
	last := m[len(m)-1]
	major, _ := strconv.Atoi(last[1])
	minor, _ := strconv.Atoi(last[2])
	return major*1000 + minor
}

func hasServerPrograms(dir string) bool {
	for _, prog := range serverPrograms {
		if !isExecutable(filepath.Join(dir, prog)) {
			return false
		}
	}
	return true
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

var serverVersionRE = regexp.MustCompile(`PostgreSQL\)\s+((\d+)[.\w]*)`)

// probeVersion runs "postgres --version" (allowed even as root).
func probeVersion(ctx context.Context, dir string) (binaries, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return binaries{}, fmt.Errorf("%s/postgres --version: %w", dir, err)
	}
	m := serverVersionRE.FindStringSubmatch(string(out))
	if m == nil {
		return binaries{}, fmt.Errorf("%s/postgres --version: unrecognised output %q", dir, out)
	}
	major, _ := strconv.Atoi(m[2])
	return binaries{dir: dir, major: major, version: m[1]}, nil
}

// noBinariesIn is ErrNoBinaries for a folder given explicitly (binDir, or
// POSTGRES_BIN_DIR when fromEnv): still one line saying what to do, but
// naming the folder rather than a search that did not happen.
func noBinariesIn(dir string, fromEnv bool) error {
	install := fmt.Sprintf(`install PostgreSQL %d or newer (e.g. "apt-get install postgresql", "dnf install postgresql-server" or "brew install postgresql") or set DATABASE_URL to use an existing server`, MinMajorVersion)
	if fromEnv {
		return noBinariesError(fmt.Sprintf("%s=%s does not hold runnable PostgreSQL server binaries (initdb, pg_ctl, postgres); point it at the bin folder of an installed PostgreSQL %d or newer (or unset it to search PATH and the usual install folders), %s",
			BinDirEnv, dir, MinMajorVersion, install))
	}
	return noBinariesError(fmt.Sprintf("%s does not hold runnable PostgreSQL server binaries (initdb, pg_ctl, postgres); %s", dir, install))
}

type noBinariesError string

func (e noBinariesError) Error() string        { return string(e) }
func (e noBinariesError) Is(target error) bool { return target == ErrNoBinaries }
