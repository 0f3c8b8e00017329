package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latchauth/latch/internal/oauth"
)

// TestAdmissionBurst: of a burst of concurrent requests with every slot
// held, exactly max-concurrent-requests run, request-queue wait and the
// rest are refused at once with temporarily_unavailable + Retry-After;
// the waiters are refused once request-queue-wait has passed.
func TestAdmissionBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slots, queue, burst = 4, 8, 100
		a := newAdmission(Overload{MaxConcurrent: slots, Queue: queue, QueueWait: time.Second})
		results := make(chan error, burst)
		hold := make(chan struct{})
		for range burst {
			go func() {
				err := a.acquire(t.Context())
				results <- err
				if err == nil {
					<-hold
					a.release()
				}
			}()
		}
		synctest.Wait()
		admitted, shed := 0, 0
		for range burst - queue {
			switch err := <-results; {
			case err == nil:
				admitted++
			case isShed(err):
				shed++
			default:
				t.Fatalf("acquire = %v", err)
			}
		}
		if admitted != slots || shed != burst-slots-queue {
			t.Fatalf("burst of %d: %d admitted, %d shed at once; want %d and %d", burst, admitted, shed, slots, burst-slots-queue)
		}
		if n := a.waiting.Load(); n != queue {
			t.Fatalf("%d waiting, want %d", n, queue)
		}
		time.Sleep(time.Second) // request-queue-wait passes
		for range queue {
			if err := <-results; !isShed(err) {
				t.Errorf("queued past request-queue-wait: %v, want shed", err)
			}
		}
		close(hold)
		synctest.Wait()
		if err := a.acquire(t.Context()); err != nil {
			t.Errorf("acquire once the burst is over: %v", err)
		}
	})
}

// TestAdmissionQueueGetsFreedSlot: a queued request runs as soon as a
// slot frees up, within request-queue-wait.
func TestAdmissionQueueGetsFreedSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAdmission(Overload{MaxConcurrent: 1, Queue: 1, QueueWait: time.Second})
		if err := a.acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- a.acquire(context.Background()) }()
		time.Sleep(500 * time.Millisecond)
		a.release()
		if err := <-done; err != nil {
			t.Errorf("queued acquire after a release = %v, want nil", err)
		}
	})
}

func isShed(err error) bool {
	e, ok := oauth.As(err)
	return ok && e.Code == oauth.TemporarilyUnavailable && e.RetryAfter > 0 && errors.Is(err, e)
}

// TestAdmissionClassesApart: browser pages and API endpoints are admitted
// apart, so a flood of sign-ins that fills every page slot (and queue)
// never sheds a token request.
func TestAdmissionClassesApart(t *testing.T) {
	o := Overload{RequestTimeout: time.Second, MaxConcurrent: 1, Queue: 0, QueueWait: time.Millisecond}
	s := &Server{opts: Options{Overload: o}, admitAPI: newAdmission(o), admitPages: newAdmission(o)}
	if err := s.admitPages.acquire(t.Context()); err != nil { // a sign-in holds the only page slot
		t.Fatal(err)
	}
	defer s.admitPages.release()
	ran := false
	h := func(w http.ResponseWriter, r *http.Request) error {
		ran = true
		w.WriteHeader(http.StatusOK)
		return nil
	}
	rec := httptest.NewRecorder()
	s.api(h).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/token", nil))
	if !ran || rec.Code != http.StatusOK {
		t.Errorf("API request with every page slot taken: ran %v, status %d; want it admitted", ran, rec.Code)
	}
	if err := s.limited(s.admitPages, h)(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/login", nil)); err == nil {
		t.Error("a page request with the page slot taken was admitted, want it shed")
	}
}
