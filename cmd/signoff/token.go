package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/signoff"
)

const tokenUsage = "usage: signoff token create --name NAME --user EMAIL | list | revoke ID"

// cmdToken manages API tokens: create (the secret is printed once, alone
// on stdout, so a script can capture it), list and revoke.
func cmdToken(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(tokenUsage)
	}
	switch args[0] {
	case "create":
		return cmdTokenCreate(ctx, cfg, logger, args[1:], stdout, stderr)
	case "list":
		if len(args) != 1 {
			return usageError("usage: signoff token list")
		}
		return cmdTokenList(ctx, cfg, logger, stdout)
	case "revoke":
		if len(args) != 2 {
			return usageError("usage: signoff token revoke ID")
		}
		return cmdTokenRevoke(ctx, cfg, logger, args[1], stdout)
	}
	return usageError(fmt.Sprintf("unknown token action %q: use create, list or revoke", args[0]))
}

func cmdTokenCreate(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "which pipeline holds the token")
	email := fs.String("user", "", "email of the person the token acts as")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *name == "" || *email == "" {
		return usageError("usage: signoff token create --name NAME --user EMAIL")
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	user, err := userByEmail(ctx, app, *email)
	if err != nil {
		return err
	}
	t, secret, err := app.DB.CreateToken(ctx, signoff.NewToken{Name: *name, UserID: user.ID}, cliActor())
	if err != nil {
		return errors.New(messageOf(err))
	}
	fmt.Fprintf(stderr, "Created token %d %q acting as %s <%s>%s.\n"+
		"Its secret follows; it is shown only now. Use it as \"Authorization: Bearer <secret>\".\n",
		t.ID, t.Name, user.Name, user.Email, readOnlyNote(user))
	fmt.Fprintln(stdout, secret)
	return nil
}

// userByEmail finds the person a token is to act as.
func userByEmail(ctx context.Context, app *App, email string) (*signoff.User, error) {
	people, err := app.DB.Users(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range people {
		if strings.EqualFold(u.Email, strings.TrimSpace(email)) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("no person has the email %s (add one with `signoff user add`)", email)
}

func cmdTokenList(ctx context.Context, cfg *config.Config, logger *slog.Logger, stdout io.Writer) error {
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	tokens, err := app.DB.Tokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tACTS AS\tCREATED\tLAST USED\tSTATE")
	for _, t := range tokens {
		state := "active"
		if t.Revoked() {
			state = "revoked " + cliTime(t.RevokedAt)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.UserEmail,
			cliTime(&t.CreatedAt), cliTime(t.LastUsedAt), state)
	}
	return tw.Flush()
}

func cmdTokenRevoke(ctx context.Context, cfg *config.Config, logger *slog.Logger, arg string, stdout io.Writer) error {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return usageError(fmt.Sprintf("token id %q must be a positive whole number (see `signoff token list`)", arg))
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	t, err := app.DB.Token(ctx, id)
	if err != nil {
		return errors.New(messageOf(err))
	}
	if err := app.DB.RevokeToken(ctx, id, cliActor()); err != nil {
		return errors.New(messageOf(err))
	}
	fmt.Fprintf(stdout, "revoked token %d %q: it no longer works\n", t.ID, t.Name)
	return nil
}

func readOnlyNote(u *signoff.User) string {
	if u.IsAuditor {
		return " (an auditor: the token can only read)"
	}
	return ""
}

func cliTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// cmdSign refuses: there is no signing from a shell, with a token or
// without. An electronic signature is a person re-entering their password
// in the browser, where the meaning and the checklist state are shown.
func cmdSign() error {
	return errors.New("signing is refused here: a sign-off is given in the browser by the person who holds the role, " +
		"entering their password again; API tokens and the command line never sign")
}
