package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/signoff/signoff/internal/checklist"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/demo"
	"github.com/signoff/signoff/internal/postgres"
	"github.com/signoff/signoff/internal/signoff"
)

// cliActor is who the audit log names for changes made from a shell.
func cliActor() signoff.EventActor {
	name := os.Getenv("USER")
	if name == "" {
		name = "cli"
	}
	return signoff.EventActor{Name: name + " (cli)", Via: "cli"}
}

func cmdMigrate(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("usage: signoff migrate up|down|status")
	}
	app := NewApp(cfg, logger)
	defer app.Close()
	// Open without migrating or checking: this command is how a schema
	// gets fixed.
	if err := app.OpenDB(ctx, false); err != nil && !errors.Is(err, postgres.ErrSchema) {
		return err
	}
	m, err := postgres.NewMigrator(app.MigrateURL())
	if err != nil {
		return err
	}
	defer m.Close()
	switch args[0] {
	case "up":
		if err := m.Up(); err != nil {
			return err
		}
		if err := app.grantRuntime(ctx); err != nil {
			return err
		}
	case "down":
		if err := m.Down(); err != nil {
			return err
		}
	case "status":
	default:
		return usageError(fmt.Sprintf("unknown migrate action %q: use up, down or status", args[0]))
	}
	v, dirty, err := m.Status()
	if err != nil {
		return err
	}
	state := "clean"
	if dirty {
		state = "dirty"
	}
	fmt.Fprintf(stdout, "schema version %d (%s); this binary knows %d\n", v, state, postgres.SchemaVersion())
	for _, p := range postgres.Pending(v) {
		fmt.Fprintf(stdout, "pending: %s\n", p)
	}
	return nil
}

func cmdTemplate(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("usage: signoff template import FILE [--name SLUG] [--new-version] | export NAME")
	}
	switch args[0] {
	case "import":
		fs := flag.NewFlagSet("template import", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		name := fs.String("name", "", "slug to import under (default: from the title)")
		newVersion := fs.Bool("new-version", false, "save the file as the next version of the template of its name")
		if err := fs.Parse(reorder(args[1:])); err != nil || fs.NArg() != 1 {
			return usageError("usage: signoff template import FILE [--name SLUG] [--new-version]")
		}
		return importTemplate(ctx, cfg, logger, fs.Arg(0), *name, *newVersion, stdout, stderr)
	case "export":
		if len(args) != 2 {
			return usageError("usage: signoff template export NAME")
		}
		app, err := openApp(ctx, cfg, logger)
		if err != nil {
			return err
		}
		defer app.Close()
		if err := app.DB.EnsureTemplate(ctx, checklist.Seed); err != nil {
			return err
		}
		t, err := app.DB.LatestTemplate(ctx, args[1])
		if err != nil {
			return errors.New(messageOf(err))
		}
		_, err = io.WriteString(stdout, t.Source)
		return err
	}
	return usageError(fmt.Sprintf("unknown template action %q: use import or export", args[0]))
}

// importTemplate imports a Markdown file. A file whose template exists
// already becomes its next version only when asked: by --new-version, or
// by naming the template with --name. What the web preview would warn
// about goes to stderr.
func importTemplate(ctx context.Context, cfg *config.Config, logger *slog.Logger, file, slug string, newVersion bool, stdout, stderr io.Writer) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, errors.Unwrap(err))
	}
	// Parse before touching the database: a bad file fails fast, naming the line.
	read, err := checklist.Read(src, file)
	if err != nil {
		return fmt.Errorf("%s: %s", file, signoff.ErrorMessage(err))
	}
	for _, w := range read.Warnings {
		fmt.Fprintf(stderr, "signoff: warning: %s: %s\n", file, w)
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	imp := postgres.TemplateImport{Source: src, FileName: file, Slug: slug}
	if newVersion || slug != "" {
		imp.Expect = postgres.AnyVersion
	}
	t, created, err := app.DB.SaveTemplate(ctx, imp, cliActor())
	if signoff.ErrorCode(err) == signoff.ECONFLICT && !newVersion {
		return fmt.Errorf("%s: %s (run again with --new-version for that, or --name SLUG)", file, strings.TrimSuffix(messageOf(err), "."))
	}
	if err != nil {
		return fmt.Errorf("%s: %s", file, messageOf(err))
	}
	c := t.Counts()
	verb := "imported"
	if !created {
		verb = "unchanged"
	}
	fmt.Fprintf(stdout, "%s %s (%s) version %d: %d phases, %d sections, %d items, %d sign-off slots, %d note fields\n",
		verb, t.Title, t.Slug, t.Version, c.Phases, c.Sections, c.Items, c.Slots, c.Notes)
	return warnMissingRoles(ctx, app.DB, file, t, stderr)
}

// warnMissingRoles names the sign-off roles no role in the catalog
// matches: their slots nobody could sign until an admin creates them.
func warnMissingRoles(ctx context.Context, db *postgres.DB, file string, t *signoff.Template, stderr io.Writer) error {
	roles, err := db.Roles(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, r := range roles {
		known[strings.ToLower(r.Name)] = true
	}
	for _, s := range t.Slots() {
		if k := strings.ToLower(s.Role); !known[k] {
			known[k] = true
			fmt.Fprintf(stderr, "signoff: warning: %s: no role is named %q, so nobody can sign its slot; create it under People\n", file, s.Role)
		}
	}
	return nil
}

func cmdUser(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError("usage: signoff user add --email E --name N [--admin] [--auditor] [--role R ...]")
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "email address")
	name := fs.String("name", "", "printed name, as signatures show it")
	admin := fs.Bool("admin", false, "may manage people, roles and templates")
	auditor := fs.Bool("auditor", false, "reads everything, changes nothing")
	var roles stringList
	fs.Var(&roles, "role", "a role to grant (repeatable)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 || *email == "" || *name == "" {
		return usageError("usage: signoff user add --email E --name N [--admin] [--auditor] [--role R ...]")
	}
	pw := os.Getenv("SIGNOFF_PASSWORD")
	if pw == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no password: set SIGNOFF_PASSWORD or pipe it on stdin")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	u, err := app.DB.CreateUser(ctx, signoff.NewUser{Email: *email, Name: *name, Password: pw,
		IsAdmin: *admin, IsAuditor: *auditor, Roles: roles}, cliActor())
	if err != nil {
		return errors.New(messageOf(err))
	}
	fmt.Fprintf(stdout, "created user %d %s <%s>\n", u.ID, u.Name, u.Email)
	return nil
}

func cmdDemo(ctx context.Context, cfg *config.Config, logger *slog.Logger, stdout io.Writer) error {
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.DB.EnsureTemplate(ctx, checklist.Seed); err != nil {
		return err
	}
	summary, err := demo.Fill(ctx, app.DB)
	if err != nil {
		return errors.New(messageOf(err))
	}
	fmt.Fprint(stdout, summary)
	return nil
}

// openApp opens the database for a command, migrating it first so a fresh
// embedded database works with any command.
func openApp(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	app := NewApp(cfg, logger)
	if err := app.OpenDB(ctx, true); err != nil {
		app.Close()
		return nil, err
	}
	return app, nil
}

// messageOf is what a person sees for an error: the domain message, or the
// wrapped chain for internal errors (a shell user is the operator).
func messageOf(err error) string {
	if signoff.ErrorCode(err) != signoff.EINTERNAL {
		return signoff.ErrorMessage(err)
	}
	return err.Error()
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// reorder moves flags before positional arguments, so both
// "import FILE --name x" and "import --name x FILE" work.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}
