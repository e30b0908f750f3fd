package embeddedpg

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// When the app is PID 1 in a container it inherits the orphaned server
// and, not reaping it, leaves a zombie with the pid in postmaster.pid when
// the server dies. PostgreSQL alone would take the zombie for a live
// server and refuse to start. The scenario runs in a child process made a
// subreaper, so that the other tests' servers are not affected.
func TestZombiePostmaster(t *testing.T) {
	if dir := os.Getenv("EMBEDDEDPG_ZOMBIE_HELPER"); dir != "" {
		if err := zombieScenario(dir); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestZombiePostmaster$")
	cmd.Env = append(os.Environ(), "EMBEDDEDPG_ZOMBIE_HELPER="+testDataDir(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

func zombieScenario(dataDir string) error {
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	ctx := context.Background()
	c, err := Start(ctx, Config{DataDir: dataDir}, nil)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "pgdata", "postmaster.pid"))
	if err != nil {
		return err
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for i := 0; ; i++ {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if bytes.Contains(stat, []byte(") Z")) {
			break
		}
		if i == 200 {
			return fmt.Errorf("postmaster %d did not become a zombie: %s", pid, stat)
		}
		time.Sleep(25 * time.Millisecond)
	}
	c.release()

	c2, err := Start(ctx, Config{DataDir: dataDir}, nil)
	if err != nil {
		return fmt.Errorf("start after the zombie: %w", err)
	}
	defer c2.Stop()
	conn, err := pgx.Connect(ctx, c2.URL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
	return conn.Ping(ctx)
}
