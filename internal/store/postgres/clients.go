package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

const clientCols = `id, secret_hash, public, name, redirect_uris, post_logout_redirect_uris,
	allowed_origins, grant_types, scopes, audiences, first_party, require_dpop, id_token_alg,
	refresh_grace, refresh_idle, refresh_absolute, access_token_ttl, revoke_refresh_on_logout, created_at, resource_server,
	token_endpoint_auth_method, jwks, jwks_uri, require_par,
	backchannel_logout_uri, backchannel_logout_session_required, require_fresh_challenge, authentication_policy, origin, registration_token_hash`

func clientArgs(c store.Client) []any {
	return []any{c.ID, c.SecretHash, c.Public, c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs,
		c.AllowedOrigins, c.GrantTypes, c.Scopes, c.Audiences, c.FirstParty, c.RequireDPoP, c.IDTokenAlg,
		int64(c.RefreshGrace), int64(c.RefreshIdle), int64(c.RefreshAbsolute), int64(c.AccessTokenTTL),
		c.RevokeRefreshOnLogout, toNanos(c.CreatedAt), c.ResourceServer,
		c.AuthMethod, c.JWKS, c.JWKSURI, c.RequirePAR, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired, c.RequireFreshChallenge, c.AuthenticationPolicy, c.Origin, c.RegistrationTokenHash}
}

func scanClient(row pgx.Row) (store.Client, error) {
	var (
		c                               store.Client
		grace, idle, absolute, tokenTTL int64
		created                         int64
	)
	err := row.Scan(&c.ID, &c.SecretHash, &c.Public, &c.Name, &c.RedirectURIs, &c.PostLogoutRedirectURIs,
		&c.AllowedOrigins, &c.GrantTypes, &c.Scopes, &c.Audiences, &c.FirstParty, &c.RequireDPoP, &c.IDTokenAlg,
		&grace, &idle, &absolute, &tokenTTL, &c.RevokeRefreshOnLogout, &created, &c.ResourceServer,
		&c.AuthMethod, &c.JWKS, &c.JWKSURI, &c.RequirePAR, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired, &c.RequireFreshChallenge, &c.AuthenticationPolicy, &c.Origin, &c.RegistrationTokenHash)
	if err != nil {
		return store.Client{}, err
	}
	c.RedirectURIs = list(c.RedirectURIs)
	c.PostLogoutRedirectURIs = list(c.PostLogoutRedirectURIs)
	c.AllowedOrigins = list(c.AllowedOrigins)
	c.GrantTypes = list(c.GrantTypes)
	c.Scopes = list(c.Scopes)
	c.Audiences = list(c.Audiences)
	c.RefreshGrace = time.Duration(grace)
	c.RefreshIdle = time.Duration(idle)
	c.RefreshAbsolute = time.Duration(absolute)
	c.AccessTokenTTL = time.Duration(tokenTTL)
	c.CreatedAt = fromNanos(created)
	return c, nil
}

// CreateClient inserts c; ErrAlreadyExists if its ID is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`,
		clientArgs(c)...)
	return mapErr("create client", err)
}

// GetClient returns the client with that ID; ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id))
	return c, mapErr("get client", err)
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientCols+` FROM clients ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, mapErr("list clients", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Client, error) { return scanClient(r) })
	return cs, mapErr("list clients", err)
}

// UpdateClient replaces every field of the client with c.ID; ErrNotFound.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET (`+clientCols+`)
		= ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)
		WHERE id = $1`, clientArgs(c)...)
	if err != nil {
		return mapErr("update client", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update client")
	}
	return nil
}

// DeleteClient deletes the client; ErrNotFound. It does not delete the
// client's codes, grants, tokens or consents: the contract does not ask
// for it, and they expire or are swept on their own.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete client", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete client")
	}
	return nil
}
