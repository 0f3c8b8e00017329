package storemetrics

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/store"
)

func (i *instrumentedStore) CreateUpstream(ctx context.Context, u store.Upstream) error {
	start := time.Now()
	err := i.Store.CreateUpstream(ctx, u)
	i.done("CreateUpstream", start, err)
	return err
}

func (i *instrumentedStore) GetUpstream(ctx context.Context, id string) (store.Upstream, error) {
	start := time.Now()
	v, err := i.Store.GetUpstream(ctx, id)
	i.done("GetUpstream", start, err)
	return v, err
}

func (i *instrumentedStore) ListUpstreams(ctx context.Context) ([]store.Upstream, error) {
	start := time.Now()
	v, err := i.Store.ListUpstreams(ctx)
	i.done("ListUpstreams", start, err)
	return v, err
}

func (i *instrumentedStore) UpdateUpstream(ctx context.Context, u store.Upstream) error {
	start := time.Now()
	err := i.Store.UpdateUpstream(ctx, u)
	i.done("UpdateUpstream", start, err)
	return err
}

func (i *instrumentedStore) DeleteUpstream(ctx context.Context, id string) error {
	start := time.Now()
	err := i.Store.DeleteUpstream(ctx, id)
	i.done("DeleteUpstream", start, err)
	return err
}

func (i *instrumentedStore) LinkUpstream(ctx context.Context, l store.UpstreamLink) error {
	start := time.Now()
	err := i.Store.LinkUpstream(ctx, l)
	i.done("LinkUpstream", start, err)
	return err
}

func (i *instrumentedStore) GetUpstreamLink(ctx context.Context, upstreamID, subject string) (store.UpstreamLink, error) {
	start := time.Now()
	v, err := i.Store.GetUpstreamLink(ctx, upstreamID, subject)
	i.done("GetUpstreamLink", start, err)
	return v, err
}

func (i *instrumentedStore) ListUserUpstreamLinks(ctx context.Context, userID string) ([]store.UpstreamLink, error) {
	start := time.Now()
	v, err := i.Store.ListUserUpstreamLinks(ctx, userID)
	i.done("ListUserUpstreamLinks", start, err)
	return v, err
}
