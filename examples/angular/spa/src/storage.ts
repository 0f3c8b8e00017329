import { OAuthStorage } from 'angular-oauth2-oidc';

// RedirectOnlyStorage keeps the tokens in this tab's memory and puts only
// what a sign-in needs across the redirect to Latch and back (the PKCE
// verifier and the nonce, which also carries the state) in sessionStorage
// — RFC 10017 §8.4-8.5 for browser-only apps: no token where an
// injected script can read it at leisure or where it outlives the tab.
// angular-oauth2-oidc's default is sessionStorage for everything.
//
// The price: a reload signs the tab out of the app (not out of Latch: the
// next sign-in is a redirect without the password form).
export class RedirectOnlyStorage implements OAuthStorage {
  private static readonly acrossRedirect = new Set(['nonce', 'PKCE_verifier']);
  private readonly memory = new Map<string, string>();

  getItem(key: string): string | null {
    if (RedirectOnlyStorage.acrossRedirect.has(key)) return sessionStorage.getItem(key);
    return this.memory.get(key) ?? null;
  }

  removeItem(key: string): void {
    if (RedirectOnlyStorage.acrossRedirect.has(key)) sessionStorage.removeItem(key);
    this.memory.delete(key);
  }

  setItem(key: string, data: string): void {
    if (RedirectOnlyStorage.acrossRedirect.has(key)) sessionStorage.setItem(key, data);
    else this.memory.set(key, data);
  }
}
