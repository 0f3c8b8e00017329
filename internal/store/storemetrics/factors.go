package storemetrics

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/store"
)

func (i *instrumentedStore) SetUserMFARequired(ctx context.Context, id string, required bool) error {
	start := time.Now()
	err := i.Store.SetUserMFARequired(ctx, id, required)
	i.done("SetUserMFARequired", start, err)
	return err
}

func (i *instrumentedStore) SaveFactors(ctx context.Context, userID string, replace []string, fs ...store.Factor) error {
	start := time.Now()
	err := i.Store.SaveFactors(ctx, userID, replace, fs...)
	i.done("SaveFactors", start, err)
	return err
}

func (i *instrumentedStore) ListFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	start := time.Now()
	v, err := i.Store.ListFactors(ctx, userID)
	i.done("ListFactors", start, err)
	return v, err
}

func (i *instrumentedStore) AdvanceFactor(ctx context.Context, userID, id string, counter int64, now time.Time) error {
	start := time.Now()
	err := i.Store.AdvanceFactor(ctx, userID, id, counter, now)
	i.done("AdvanceFactor", start, err)
	return err
}

func (i *instrumentedStore) DeleteFactor(ctx context.Context, userID, id string) error {
	start := time.Now()
	err := i.Store.DeleteFactor(ctx, userID, id)
	i.done("DeleteFactor", start, err)
	return err
}
