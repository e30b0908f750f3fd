//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package embeddedpg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const supported = true

// sysProcAttr makes a child run as u (nil: as the current user) and, with
// newSession, in a session of its own so that terminal signals meant for
// the app (Ctrl-C) do not reach PostgreSQL; the app stops it explicitly.
func sysProcAttr(u *runAs, newSession bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setsid: newSession}
	if u != nil {
		// Groups is empty, not nil, on purpose: it drops root's
		// supplementary groups.
		attr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}
	}
	return attr
}

// tryLock takes an exclusive, non-blocking lock on f. The lock goes away
// with the process, so a crashed app never leaves it behind.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// fileOwner returns the owner of fi.
func fileOwner(fi os.FileInfo) (uid, gid uint32, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Uid, st.Gid, true
}

// pidState tells what the PID recorded in pgdata/postmaster.pid is now.
// Where /proc is available (Linux) it tells a live postmaster of this very
// data folder from a zombie or from another program that got the PID of a
// postmaster that died without removing its pid file (common after a
// container restart). Elsewhere a live PID is assumed to be the postmaster.
func pidState(pid int, pgdata string) int {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return pidGone
	}
	proc := "/proc/" + strconv.Itoa(pid)
	if stat, err := os.ReadFile(proc + "/stat"); err == nil {
		// "pid (comm) S ...": a dead postmaster may linger as a zombie
		// when the app is PID 1 in a container and does not reap
		// orphans. PostgreSQL would take it for a live server.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && bytes.HasPrefix(stat[i+1:], []byte(" Z")) {
			return pidOther
		}
	}
	if cwd, err := os.Readlink(proc + "/cwd"); err == nil {
		// The postmaster's working folder is its data folder.
		if want, err := filepath.EvalSymlinks(pgdata); err == nil && cwd == want {
			return pidOurs
		}
		return pidOther
	}
	if comm, err := os.ReadFile(proc + "/comm"); err == nil && strings.TrimSpace(string(comm)) != "postgres" {
		return pidOther
	}
	return pidOurs
}

// processAlive reports whether a process with this PID exists (it may
// belong to another user).
func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
