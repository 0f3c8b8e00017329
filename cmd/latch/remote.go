package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// serverEnv names the admin API URL when --server is not given.
const serverEnv = "LATCH_SERVER"

// remoteTimeout bounds one admin API call.
const remoteTimeout = 30 * time.Second

// addRemote registers --server, --admin-token and --admin-token-file:
// with a server, client, user and keys commands call the admin API of a
// running Latch instead of opening the database.
func (s *sharedFlags) addRemote(fs *flag.FlagSet) {
	fs.StringVar(&s.server, "server", "", "call the admin API of a running Latch at `URL` (its admin listener, e.g. http://127.0.0.1:9090) instead of opening the database (default $"+serverEnv+")")
	fs.StringVar(&s.adminToken, "admin-token", "", "admin API bearer `token` (default $LATCH_ADMIN_TOKEN or the config file's admin-token; prefer those or --admin-token-file: a flag shows in ps)")
	fs.StringVar(&s.adminTokenFile, config.FileKey("admin-token"), "", "`file` holding the admin API bearer token (default $LATCH_ADMIN_TOKEN_FILE)")
}

// remote returns the admin API client when --server (or LATCH_SERVER) is
// set, nil otherwise. The token comes from --admin-token, else the
// configuration (LATCH_ADMIN_TOKEN, the config file).
func (s *sharedFlags) remote(e *env, fs *flag.FlagSet, cmd string) (*adminClient, error) {
	set := setFlags(fs)
	server := s.server
	if !set["server"] {
		server = e.getenv(serverEnv)
	}
	if server == "" {
		if set["admin-token"] || set[config.FileKey("admin-token")] {
			return nil, usageErrorf("%s: --admin-token needs --server", cmd)
		}
		return nil, nil
	}
	if set["db"] {
		return nil, usageErrorf("%s: give --server or --db, not both", cmd)
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usageErrorf("%s: --server wants the admin listener's base URL, e.g. http://127.0.0.1:9090", cmd)
	}
	tok := s.adminToken
	if set["admin-token"] && set[config.FileKey("admin-token")] {
		return nil, usageErrorf("%s: give --admin-token or --admin-token-file, not both", cmd)
	}
	if !set["admin-token"] { // LATCH_ADMIN_TOKEN(_FILE), the config file or --admin-token-file
		cfg, err := s.load(e, fs)
		if err != nil {
			return nil, err
		}
		tok = cfg.AdminToken
	}
	if tok == "" {
		return nil, errors.New("--server needs the admin token: set LATCH_ADMIN_TOKEN (or admin-token in the config file)")
	}
	return &adminClient{
		base:  strings.TrimRight(u.String(), "/"),
		token: tok,
		hc:    &http.Client{Timeout: remoteTimeout},
	}, nil
}

// adminClient calls the admin API (internal/admin): the records of the
// client, user and keys commands with --server.
type adminClient struct {
	base  string
	token string
	hc    *http.Client
}

// do sends in (when not nil) as JSON and decodes a 2xx answer into out
// (when not nil). An error answer becomes a one-line error carrying the
// server's error_description.
func (c *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin API: reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(data, &e) == nil && e.Description != "" {
			return fmt.Errorf("%s (admin API: %d %s)", e.Description, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("admin API: %s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin API: %s %s: unexpected answer: %w", method, path, err)
		}
	}
	return nil
}

// clientJSON is the admin API body for the client flags that were given.
func (f *clientFlags) clientJSON() map[string]any {
	set := f.given
	m := map[string]any{}
	list := func(flagName, key string, vals []string) {
		if set[flagName] {
			if vals == nil {
				vals = []string{}
			}
			m[key] = vals
		}
	}
	list("redirect-uri", "redirect_uris", f.redirectURIs.vals)
	list("post-logout-redirect-uri", "post_logout_redirect_uris", f.postLogoutURIs.vals)
	list("allowed-origin", "allowed_origins", f.origins.vals)
	list("grant-type", "grant_types", f.grantTypes.vals)
	list("scope", "scopes", f.scopes.vals)
	list("audience", "audiences", f.audiences.vals)
	for _, v := range []struct {
		flagName, key string
		val           any
	}{
		{"name", "client_name", f.name},
		{"first-party", "first_party", f.firstParty},
		{"require-dpop", "dpop_bound_access_tokens", f.requireDPoP},
		{"id-token-alg", "id_token_signed_response_alg", f.idTokenAlg},
		{"refresh-grace", "refresh_grace", registration.FormatDuration(f.refreshGrace)},
		{"refresh-idle", "refresh_idle", registration.FormatDuration(f.refreshIdle)},
		{"refresh-absolute", "refresh_absolute", registration.FormatDuration(f.refreshAbsolute)},
		{"access-token-ttl", "access_token_ttl", registration.FormatDuration(f.accessTokenTTL)},
		{"revoke-refresh-on-logout", "revoke_refresh_on_logout", f.revokeOnLogout},
		{"resource-server", "resource_server", f.resourceServer},
		{"auth", "token_endpoint_auth_method", f.authMethod},
		{"jwks-uri", "jwks_uri", f.jwksURI},
		{"require-par", "require_pushed_authorization_requests", f.requirePAR},
		{"backchannel-logout-uri", "backchannel_logout_uri", f.backchannelURI},
		{"backchannel-logout-session-required", "backchannel_logout_session_required", f.backchannelSession},
		{"require-fresh-challenge", "require_fresh_challenge", f.freshChallenge},
		{"authentication-policy", "authentication_policy", f.authPolicy},
	} {
		if set[v.flagName] {
			m[v.key] = v.val
		}
	}
	// One of jwks and jwks_uri: the new one replaces the old (as apply).
	if set["jwks-file"] {
		m["jwks"] = nil
		if f.jwks != "" {
			m["jwks"] = json.RawMessage(f.jwks)
			if !set["jwks-uri"] {
				m["jwks_uri"] = ""
			}
		}
	}
	if set["jwks-uri"] && f.jwksURI != "" && !set["jwks-file"] {
		m["jwks"] = nil
	}
	return m
}

// The records methods below call the admin API (internal/admin): one
// request each, plus a look-up by username (GetUser) where the API names a
// user by ID.

// clientResponse is the admin API's answer to a client change: the view
// and the service's warnings.
type clientResponse struct {
	clientView
	Warnings []string `json:"warnings"`
}

func (r clientResponse) result() manage.ClientResult {
	return manage.ClientResult{View: r.clientView, Warnings: r.Warnings}
}

func (c *adminClient) CreateClient(ctx context.Context, _ store.Client, f *clientFlags) (manage.ClientResult, error) {
	body := f.clientJSON()
	body["client_id"] = f.id
	body["client_type"] = "confidential"
	if f.public {
		body["client_type"] = "public"
	}
	var res clientResponse
	err := c.do(ctx, http.MethodPost, "/admin/clients", body, &res)
	return res.result(), err
}

func (c *adminClient) UpdateClient(ctx context.Context, id string, f *clientFlags) (manage.ClientResult, error) {
	body := f.clientJSON()
	switch {
	case f.public:
		body["client_type"] = "public"
	case f.confidential:
		body["client_type"] = "confidential"
	}
	if f.rotateSecret {
		body["rotate_secret"] = true
	}
	var res clientResponse
	err := c.do(ctx, http.MethodPatch, "/admin/clients/"+url.PathEscape(id), body, &res)
	return res.result(), err
}

func (c *adminClient) ListClients(ctx context.Context) ([]clientView, error) {
	views := []clientView{}
	err := c.do(ctx, http.MethodGet, "/admin/clients", nil, &views)
	return views, err
}

func (c *adminClient) GetClient(ctx context.Context, id string) (clientView, error) {
	var v clientView
	err := c.do(ctx, http.MethodGet, "/admin/clients/"+url.PathEscape(id), nil, &v)
	return v, err
}

func (c *adminClient) DeleteClient(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/admin/clients/"+url.PathEscape(id), nil, nil)
}

// CreateUser reads the password before sending anything.
func (c *adminClient) CreateUser(ctx context.Context, u store.User, pw io.Reader) (userView, error) {
	password, err := readPassword(pw)
	if err != nil {
		return userView{}, err
	}
	body := map[string]any{"username": u.Username, "password": password, "email": u.Email, "email_verified": u.EmailVerified, "name": u.Name}
	var v userView
	err = c.do(ctx, http.MethodPost, "/admin/users", body, &v)
	return v, err
}

// SetPassword reads the password before sending anything.
func (c *adminClient) SetPassword(ctx context.Context, username string, pw io.Reader, logout bool) (sessions, grants int, err error) {
	password, err := readPassword(pw)
	if err != nil {
		return 0, 0, err
	}
	u, err := c.GetUser(ctx, username)
	if err != nil {
		return 0, 0, err
	}
	var res struct {
		Sessions int `json:"sessions_ended"`
		Grants   int `json:"grants_revoked"`
	}
	body := map[string]any{"password": password, "logout": logout}
	if err := c.do(ctx, http.MethodPut, "/admin/users/"+url.PathEscape(u.ID)+"/password", body, &res); err != nil {
		return 0, 0, err
	}
	return res.Sessions, res.Grants, nil
}

func (c *adminClient) ListUsers(ctx context.Context) ([]userView, error) {
	views := []userView{}
	err := c.do(ctx, http.MethodGet, "/admin/users", nil, &views)
	return views, err
}

// GetUser finds a user's view by username.
func (c *adminClient) GetUser(ctx context.Context, username string) (userView, error) {
	var users []userView
	if err := c.do(ctx, http.MethodGet, "/admin/users?"+url.Values{"username": {username}}.Encode(), nil, &users); err != nil {
		return userView{}, err
	}
	if len(users) != 1 {
		return userView{}, fmt.Errorf("user %q not found", username)
	}
	return users[0], nil
}

func (c *adminClient) DeleteUser(ctx context.Context, username string) error {
	u, err := c.GetUser(ctx, username)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/admin/users/"+url.PathEscape(u.ID), nil, nil)
}

func (c *adminClient) ListKeys(ctx context.Context) ([]token.KeyInfo, error) {
	var infos []token.KeyInfo
	err := c.do(ctx, http.MethodGet, "/admin/keys", nil, &infos)
	return infos, err
}

func (c *adminClient) RotateKey(ctx context.Context, alg string, now bool) (manage.Rotation, error) {
	var res manage.Rotation
	err := c.do(ctx, http.MethodPost, "/admin/keys/rotate", map[string]any{"alg": alg, "now": now}, &res)
	return res, err
}

func (c *adminClient) PruneKeys(ctx context.Context) (int, error) {
	var res struct {
		Pruned int `json:"pruned"`
	}
	err := c.do(ctx, http.MethodPost, "/admin/keys/prune", nil, &res)
	return res.Pruned, err
}
