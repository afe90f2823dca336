package api

// registerLiveRoutes registers the routes the portal needs for live views: a run's event
// stream, a namespace's runs summary stream, a model's serving endpoints and the caller's
// namespaces.
func (h *Handler) registerLiveRoutes() {
	feeds := newRunFeeds(h)
	h.handle("GET /api/v1/runs/{id}/events", feeds.runEvents)
	h.handle("GET /api/v1/runs/events", feeds.runsEvents)
	h.handle("GET /api/v1/models/{name}/endpoints", h.modelEndpoints)
	h.handle("GET /api/v1/namespaces", h.listNamespaces)
}
