package storemetrics

import (
	"context"
	"time"
)

func (i *instrumentedStore) TouchFactor(ctx context.Context, userID, id string, now time.Time) error {
	start := time.Now()
	err := i.Store.TouchFactor(ctx, userID, id, now)
	i.done("TouchFactor", start, err)
	return err
}
