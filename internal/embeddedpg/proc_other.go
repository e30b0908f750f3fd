//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package embeddedpg

import (
	"errors"
	"os"
	"syscall"
)

// supported is false where the embedded cluster is not implemented
// (Windows and rarer systems); Start fails there with a clear error.
const supported = false

func sysProcAttr(*runAs, bool) *syscall.SysProcAttr { return nil }

func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

func fileOwner(os.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }

func pidState(int, string) int { return pidOurs }

func processAlive(int) bool { return false }
