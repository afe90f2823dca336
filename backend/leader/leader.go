package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Defaults of Config, those of Kubernetes' own controllers.
const (
	DefaultName          = "kiln-backend"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// ErrInvalidConfig reports a Config that cannot run an election; it wraps the field errors.
var ErrInvalidConfig = errors.New("leader: invalid config")

// Config configures an election. The zero value with Client and Namespace set campaigns for
// the Lease DefaultName with an identity made from POD_NAME (or the host name) and a random
// suffix.
type Config struct {
	// AlwaysLeader makes the process the leader until Run's context ends, with no Lease: the
	// embedded setup, where one process is the whole backend. The other fields are ignored.
	AlwaysLeader bool
	// Client reaches the Leases; a kubernetes.Interface's CoordinationV1() is one.
	Client coordinationv1client.LeasesGetter
	// Namespace holds the Lease, normally the server's own namespace (POD_NAMESPACE).
	Namespace string
	// Name is the Lease's name; empty means DefaultName.
	Name string
	// Identity names this candidate in the Lease; empty means Identity().
	Identity string
	// LeaseDuration is how long a Lease that is not renewed keeps others from taking it;
	// zero means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before it gives up
	// leadership; zero means DefaultRenewDeadline. It must be shorter than LeaseDuration.
	RenewDeadline time.Duration
	// RetryPeriod is the interval between attempts to acquire or renew; zero means
	// DefaultRetryPeriod.
	RetryPeriod time.Duration
	// Logger receives leadership changes; nil discards them.
	Logger *slog.Logger
}

// Identity returns a candidate identity unique to this process: POD_NAME (set through the
// downward API) or the host name, and a random suffix, so a restarted container does not
// inherit its predecessor's Lease.
func Identity() string {
	name := os.Getenv("POD_NAME")
	if name == "" {
		name, _ = os.Hostname()
	}
	if name == "" {
		name = "kiln"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return name + "_" + hex.EncodeToString(b)
}

// withDefaults returns c with its zero fields defaulted.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Identity == "" {
		c.Identity = Identity()
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every problem of c (with its defaults applied) that would keep Run from
// campaigning, wrapped in ErrInvalidConfig; nil when there is none or AlwaysLeader is set.
func (c Config) Validate() error {
	if c.AlwaysLeader {
		return nil
	}
	if errs := c.withDefaults().validate(); len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errs.ToAggregate())
	}
	return nil
}

// validate reports every problem of a defaulted Config.
func (c Config) validate() field.ErrorList {
	var errs field.ErrorList
	if c.Client == nil {
		errs = append(errs, field.Required(field.NewPath("client"), "a Kubernetes client is needed unless alwaysLeader is set"))
	}
	if c.Namespace == "" {
		errs = append(errs, field.Required(field.NewPath("namespace"), "the Lease's namespace"))
	}
	if c.RenewDeadline >= c.LeaseDuration {
		errs = append(errs, field.Invalid(field.NewPath("renewDeadline"), c.RenewDeadline.String(), "must be shorter than leaseDuration "+c.LeaseDuration.String()))
	}
	// client-go jitters retries by up to 1.2 times the period.
	if float64(c.RenewDeadline) <= leaderelection.JitterFactor*float64(c.RetryPeriod) {
		errs = append(errs, field.Invalid(field.NewPath("retryPeriod"), c.RetryPeriod.String(), "must be shorter than renewDeadline/1.2"))
	}
	return errs
}

// Run calls onLead whenever this process holds the leadership, with a context that ends when
// leadership is lost or ctx ends, and campaigns again after a loss, until ctx ends. It returns
// nil after ctx ends (having waited for onLead to return and released the Lease so that
// another replica takes over at once), or an error wrapping ErrInvalidConfig.
func Run(ctx context.Context, cfg Config, onLead func(ctx context.Context)) error {
	if cfg.AlwaysLeader {
		log := cfg.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		log.Info("leading: single process, no election")
		onLead(ctx)
		return nil
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaOf(cfg),
		Client:     cfg.Client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	log := cfg.Logger.With("lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
	for ctx.Err() == nil {
		if err := campaign(ctx, cfg, lock, log, onLead); err != nil {
			return err
		}
	}
	return nil
}

// campaign runs one election: it waits for the Lease, leads until the Lease is lost or ctx
// ends, and returns once onLead has returned.
func campaign(ctx context.Context, cfg Config, lock resourcelock.Interface, log *slog.Logger, onLead func(context.Context)) error {
	// The elector's own context outlives ctx until onLead has returned: ReleaseOnCancel gives
	// the Lease away as soon as that context ends, and the next leader must not overlap with
	// work this one is still finishing.
	elCtx, elCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer elCancel()
	var mu sync.Mutex
	var leading chan struct{} // made when onLead starts, closed when it returns
	waitLead := func() {
		mu.Lock()
		d := leading
		mu.Unlock()
		if d != nil {
			<-d
		}
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				d := make(chan struct{})
				mu.Lock()
				leading = d
				mu.Unlock()
				defer close(d)
				if lctx.Err() != nil {
					return // the term ended before it began
				}
				leadCtx, cancel := context.WithCancel(lctx)
				defer cancel()
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				log.Info("leading")
				onLead(leadCtx)
				log.Info("stopped leading")
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				if id != cfg.Identity {
					log.Info("another replica leads", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			waitLead() // stop leading first, then let the elector release the Lease
			elCancel()
		case <-finished:
		}
	}()
	le.Run(elCtx)
	waitLead()
	return nil
}

func metaOf(cfg Config) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name}
}
