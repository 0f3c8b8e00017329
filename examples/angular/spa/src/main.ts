// The browser-only Angular example: angular-oauth2-oidc does the
// authorization code flow with PKCE (S256) against Latch directly, as a
// public client, and attaches the access token to calls to the example
// API. Refresh uses the rotating refresh token (no silent refresh in an
// iframe). See docs/spa.md; the backend-for-frontend variant
// (examples/angular/bff) keeps every token out of the browser instead.
import { provideHttpClient, withFetch, withInterceptorsFromDi } from '@angular/common/http';
import { provideZonelessChangeDetection } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { OAuthStorage, provideOAuthClient } from 'angular-oauth2-oidc';
import { App } from './app';
import { APP_CONFIG, AppConfig } from './config';
import { RedirectOnlyStorage } from './storage';

async function main(): Promise<void> {
  const res = await fetch('/config.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`/config.json: HTTP ${res.status}`);
  const cfg = (await res.json()) as AppConfig;
  await bootstrapApplication(App, {
    providers: [
      provideZonelessChangeDetection(),
      // The library's interceptor is class-based (HTTP_INTERCEPTORS).
      provideHttpClient(withFetch(), withInterceptorsFromDi()),
      // Only requests to the API get the access token: never send it to
      // another origin (RFC 6750 §5.3).
      provideOAuthClient({ resourceServer: { allowedUrls: [cfg.apiUrl], sendAccessToken: true } }),
      { provide: OAuthStorage, useValue: new RedirectOnlyStorage() },
      { provide: APP_CONFIG, useValue: cfg },
    ],
  });
}

main().catch((err) => {
  console.error(err);
  document.body.textContent = String(err);
});
