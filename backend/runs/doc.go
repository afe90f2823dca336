// Package runs executes runs through an engine.Engine and keeps the store in step with them.
//
// Manager.Create submits the workflow (with KILN_RUN_ID and KILN_NAMESPACE injected into every
// container and script template) and stores the run; a follower goroutine then applies the
// engine's typed events to the store, coalescing bursts into one UpsertNodes and one UpdateRun,
// so node phases, inputs, outputs and timings are persisted as they change. Cancel, Retry and
// Logs go to the engine; logs of runs the engine no longer knows are read from the run directory.
//
// Manager.Reconcile runs at start-up: every run the store has in a non-terminal phase is
// followed again if the engine still knows it, and otherwise marked Error with RestartMessage
// (its active nodes too), so no run is left claiming to run. Retry of such a run submits its
// stored spec again. Tracking-only runs (no spec) belong to their clients and are left alone.
//
// With several replicas (Options.Elected) one of them, elected by package leader, follows the
// runs: Manager.Lead follows every active run of the store, scanning it every few seconds for
// runs created or retried through other replicas, marks runs the engine has not known for a
// minute as lost, and runs the scheduler, until leadership ends. Other replicas submit runs
// and serve the API without following them; a cancel through any replica is recorded in the
// run's message (CancelRequestedMessage) so the leader records the run Cancelled. A follower
// skips node records the store already holds, so a new leader replaying a run's events from
// the engine writes no transition twice; Close of an elected manager leaves runs running.
//
// Manager.ScheduleOnce and RunScheduler fire recurring runs: cron expressions (robfig/cron,
// five fields or descriptors, in the schedule's time zone) or fixed intervals, bounded by
// MaxConcurrency, with or without catch-up of missed ticks. MarkRecurringRunFired makes a tick
// fire once even with several servers.
//
// Parameters are type-checked against the pipeline's inputs (Schema, CheckParameters). Compiled
// workflows carry no declared types, so an input's type is inferred from its default value.
package runs
