import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { Component, inject, signal } from '@angular/core';

// What the BFF's GET /me answers: claims of the ID token and the session's
// end, never a token (docs/bff.md).
interface User {
  sub: string;
  name?: string;
  preferred_username?: string;
  email?: string;
  session_expires?: string;
}

@Component({
  selector: 'app-root',
  template: `
    <h1>Latch Angular example: backend-for-frontend</h1>
    @if (user() === undefined) {
      <p>Loading…</p>
    } @else if (user() === null) {
      <section id="signed-out">
        <p>Not signed in. The BFF signs you in at Latch and keeps the tokens on the server;
          this page only ever gets an HttpOnly session cookie.</p>
        <!-- A plain navigation: the BFF answers with a redirect to Latch. -->
        <a id="login" class="button" href="/login">Sign in</a>
      </section>
    } @else {
      <section id="signed-in">
        <dl>
          <dt>sub</dt><dd id="sub">{{ user()!.sub }}</dd>
          <dt>name</dt><dd id="name">{{ user()!.name }}</dd>
          <dt>email</dt><dd id="email">{{ user()!.email }}</dd>
          <dt>session ends</dt><dd id="session-expires">{{ user()!.session_expires }}</dd>
        </dl>
        <p>
          <button id="call-api" type="button" (click)="callApi()">Call the API</button>
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
  private readonly http = inject(HttpClient);
  // undefined: not known yet; null: signed out.
  readonly user = signal<User | null | undefined>(undefined);
  readonly apiResult = signal('');
  readonly calls = signal(0); // answers shown so far (tests wait for the next one)
  readonly error = signal('');

  constructor() {
    this.loadUser();
  }

  // GET /me: 200 with the user, or 401 login_required without a session.
  loadUser(): void {
    this.http.get<User>('/me').subscribe({
      next: (u) => this.user.set(u),
      error: (err: HttpErrorResponse) => this.fail(err),
    });
  }

  // The API through the BFF's proxy (/api/ → the example API): the BFF
  // adds the access token, refreshing it first when it is about to expire.
  // A GET carries no X-XSRF-TOKEN (Angular adds it to mutating requests
  // only); the BFF checks its origin instead.
  callApi(): void {
    this.error.set('');
    this.http.get('/api/messages', { observe: 'response' }).subscribe({
      next: (res) => {
        this.apiResult.set(`HTTP ${res.status}\n${JSON.stringify(res.body, null, 2)}`);
        this.calls.update((n) => n + 1);
      },
      error: (err: HttpErrorResponse) => this.fail(err),
    });
  }

  // POST /logout (with X-XSRF-TOKEN, added by HttpClient) ends the BFF's
  // session and answers Latch's end-session URL, where the browser goes
  // so that Latch ends its session too, then comes back here.
  logout(): void {
    this.http.post<{ logout_url: string }>('/logout', null).subscribe({
      next: (res) => window.location.assign(res.logout_url),
      error: (err: HttpErrorResponse) => this.fail(err),
    });
  }

  // A 401 from the BFF means no (more) session: signed out, e.g. by
  // another tab or by Latch's back-channel logout.
  private fail(err: HttpErrorResponse): void {
    if (err.status === 401) {
      this.user.set(null);
      this.apiResult.set('');
      return;
    }
    const body = err.error as { error?: string; error_description?: string } | null;
    this.error.set(`HTTP ${err.status}: ${body?.error ?? ''} ${body?.error_description ?? err.message}`.trim());
  }
}
