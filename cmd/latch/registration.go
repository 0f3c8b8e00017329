package main

import (
	"context"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/registration"
)

var clientInitialAccessTokenHelp = cmdHelp{
	name:     "client token",
	synopsis: "[--uses N] [--ttl DURATION] [flags]",
	text: "Creates an initial access token for dynamic client registration (RFC 7591, config registration\n" +
		"initial-access-token): a developer sends it as Authorization: Bearer to POST /register. It is\n" +
		"printed once as JSON; only its hash is stored. Registered clients are listed with origin dcr.",
}

func runClientInitialAccessToken(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, clientInitialAccessTokenHelp, false)
	uses := cmd.fs.Int("uses", manage.DefaultInitialAccessTokenUses, "registrations the token allows (1 to 1000)")
	ttl := cmd.fs.Duration("ttl", manage.DefaultInitialAccessTokenTTL, "how long the token is valid (1m to 720h)")
	_, recs, err := cmd.open(args)
	if err != nil {
		return err
	}
	t, err := recs.CreateInitialAccessToken(ctx, *uses, *ttl)
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, t)
}

func (l *localRecords) CreateInitialAccessToken(ctx context.Context, uses int, ttl time.Duration) (manage.InitialAccessToken, error) {
	var t manage.InitialAccessToken
	err := l.service(ctx, func(svc *manage.Service) error {
		var err error
		t, err = svc.CreateInitialAccessToken(ctx, uses, ttl)
		return err
	})
	return t, err
}

func (c *adminClient) CreateInitialAccessToken(ctx context.Context, uses int, ttl time.Duration) (manage.InitialAccessToken, error) {
	var t manage.InitialAccessToken
	body := map[string]any{"uses": uses, "ttl": registration.FormatDuration(ttl)}
	err := c.do(ctx, http.MethodPost, "/admin/initial-access-tokens", body, &t)
	return t, err
}
