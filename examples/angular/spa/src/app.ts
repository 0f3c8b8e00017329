import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { Component, inject, signal } from '@angular/core';
import { AuthConfig, OAuthService } from 'angular-oauth2-oidc';
import { APP_CONFIG } from './config';

@Component({
  selector: 'app-root',
  template: `
    <h1>Latch Angular example: browser-only (angular-oauth2-oidc)</h1>
    @if (!ready()) {
      <p>Loading…</p>
    } @else if (!signedIn()) {
      <section id="signed-out">
        <p>Not signed in. This app signs in at Latch with the authorization code flow and PKCE,
          and keeps the tokens in this tab's memory.</p>
        <button id="login" type="button" (click)="login()">Sign in</button>
      </section>
    } @else {
      <section id="signed-in">
        <dl>
          <dt>sub</dt><dd id="sub">{{ claims()['sub'] }}</dd>
          <dt>name</dt><dd id="name">{{ claims()['name'] }}</dd>
          <dt>access token expires</dt><dd id="expires">{{ expires() }}</dd>
        </dl>
        <p>
          <button id="call-api" type="button" (click)="callApi()">Call the API</button>
          <button id="refresh" type="button" class="secondary" (click)="refresh()">Refresh the tokens</button>
          <button id="logout" type="button" class="secondary" (click)="logout()">Sign out</button>
        </p>
        @if (apiResult()) {
          <pre id="api-result" [attr.data-calls]="calls()">{{ apiResult() }}</pre>
        }
      </section>
    }
    @if (error()) {
      <p id="error" class="error">{{ error() }}</p>
    }
  `,
})
export class App {
  private readonly oauth = inject(OAuthService);
  private readonly http = inject(HttpClient);
  private readonly cfg = inject(APP_CONFIG);
  readonly ready = signal(false);
  readonly signedIn = signal(false);
  readonly claims = signal<Record<string, unknown>>({});
  readonly expires = signal('');
  readonly apiResult = signal('');
  readonly calls = signal(0); // answers shown so far (tests wait for the next one)
  readonly error = signal('');

  constructor() {
    const auth: AuthConfig = {
      issuer: this.cfg.issuer,
      clientId: this.cfg.clientId, // public: no secret; PKCE protects the code
      responseType: 'code', // RFC 6749 §4.1; PKCE S256 is on by default (disablePKCE: false)
      redirectUri: window.location.origin + '/',
      postLogoutRedirectUri: window.location.origin + '/',
      scope: this.cfg.scope, // offline_access: a refresh token
      useSilentRefresh: false, // refresh with the refresh token, not a hidden iframe
      sessionChecksEnabled: false,
      requireHttps: 'remoteOnly', // http only for localhost (latch dev)
      // The ID token comes straight from the token endpoint over TLS, so its
      // signature may go unchecked (OIDC Core §3.1.3.7 item 6); the library
      // still checks iss, aud, exp, iat and nonce.
      strictDiscoveryDocumentValidation: true,
    };
    this.oauth.configure(auth);
    this.oauth.events.subscribe((e) => {
      if (e.type === 'token_received' || e.type === 'token_refreshed') this.update();
      if (e.type === 'token_refresh_error' || e.type === 'code_error' || e.type === 'token_error') {
        this.error.set(`${e.type}: ${describe((e as { reason?: unknown }).reason)}`);
      }
    });
    // Mix-up defence (RFC 9207 §2.4): an authorization response must come
    // from this app's issuer. angular-oauth2-oidc does not check iss.
    const iss = new URLSearchParams(window.location.search).get('iss');
    if (iss !== null && iss !== this.cfg.issuer) {
      this.error.set(`the authorization response comes from ${iss}, not from ${this.cfg.issuer}: refused`);
      this.ready.set(true);
      return;
    }
    // Fetches discovery (and the JWKS), then finishes a sign-in when the
    // URL carries Latch's response (code, state, iss).
    this.oauth
      .loadDiscoveryDocumentAndTryLogin()
      .then(() => {
        // The library removes code and state from the address bar; iss too.
        if (iss !== null) window.history.replaceState(null, '', window.location.pathname);
        // Refresh shortly before the access token expires (75% of its
        // lifetime), with the refresh token since useSilentRefresh is off.
        this.oauth.setupAutomaticSilentRefresh();
        this.update();
      })
      .catch((err) => this.error.set(describe(err)))
      .finally(() => this.ready.set(true));
  }

  login(): void {
    this.oauth.initCodeFlow();
  }

  callApi(): void {
    this.error.set('');
    // The library's interceptor adds "Authorization: Bearer …" for apiUrl.
    this.http.get(this.cfg.apiUrl + '/api/messages', { observe: 'response' }).subscribe({
      next: (res) => {
        this.apiResult.set(`HTTP ${res.status}\n${JSON.stringify(res.body, null, 2)}`);
        this.calls.update((n) => n + 1);
      },
      error: (err: HttpErrorResponse) => this.error.set(`HTTP ${err.status}: ${err.headers.get('WWW-Authenticate') ?? err.message}`),
    });
  }

  // grant_type=refresh_token: Latch rotates the refresh token (the old one
  // is spent; presenting it again revokes the grant, RFC 9700 §4.14.2).
  refresh(): void {
    this.error.set('');
    this.oauth.refreshToken().catch((err) => this.error.set(describe(err)));
  }

  // Revokes the refresh and access tokens (RFC 7009), then RP-initiated
  // logout at Latch with id_token_hint and post_logout_redirect_uri.
  logout(): void {
    this.oauth.revokeTokenAndLogout().catch((err) => this.error.set(describe(err)));
  }

  private update(): void {
    const ok = this.oauth.hasValidAccessToken() && this.oauth.hasValidIdToken();
    this.signedIn.set(ok);
    this.claims.set(ok ? this.oauth.getIdentityClaims() : {});
    this.expires.set(ok ? new Date(this.oauth.getAccessTokenExpiration()).toISOString() : '');
  }
}

function describe(err: unknown): string {
  if (err instanceof HttpErrorResponse) {
    const body = err.error as { error?: string; error_description?: string } | null;
    return `HTTP ${err.status}: ${body?.error ?? ''} ${body?.error_description ?? ''}`.trim();
  }
  if (err instanceof Error) return err.message;
  // angular-oauth2-oidc rejects with an OAuthErrorEvent, e.g. invalid_nonce_in_state.
  if (typeof err === 'object' && err !== null && 'type' in err) return String((err as { type: unknown }).type);
  return String(err);
}
