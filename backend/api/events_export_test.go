package api

import "time"

// SetEventTimingsForTest shortens the event stream's poll and heartbeat intervals and returns
// a function restoring them.
func SetEventTimingsForTest(poll, beat time.Duration) (restore func()) {
	p, b := eventPollInterval, eventHeartbeat
	eventPollInterval, eventHeartbeat = poll, beat
	return func() { eventPollInterval, eventHeartbeat = p, b }
}

// ActiveEventStreams is the number of run event streams being served.
func ActiveEventStreams() int64 { return activeEventStreams.Load() }

// SetEndpointProbeTimeoutForTest changes the serving probe's timeout and returns a function
// restoring it.
func SetEndpointProbeTimeoutForTest(d time.Duration) (restore func()) {
	old := endpointProbeTimeout
	endpointProbeTimeout = d
	return func() { endpointProbeTimeout = old }
}

// ActiveRunFeeds is the number of run feeds (store pollers) running.
func ActiveRunFeeds() int64 { return activeRunFeeds.Load() }

// SetRunsSummaryIntervalForTest changes how often the runs summary stream reads the store and
// returns a function restoring it.
func SetRunsSummaryIntervalForTest(d time.Duration) (restore func()) {
	old := runsSummaryInterval
	runsSummaryInterval = d
	return func() { runsSummaryInterval = old }
}
