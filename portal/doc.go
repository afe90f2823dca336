// Package portal serves Kiln's web UI: static HTML, CSS and JavaScript modules embedded in the
// binary with embed.FS. The pages call the same REST API as the CLI (/api/v1, and the notebooks
// API) with fetch(); there is no private back door and no server-side data access here.
//
// Mount it at "/" next to the API; the more specific /api/v1/ and /notebook/ patterns win:
//
//	mux.Handle("/api/v1/", apiHandler)
//	mux.Handle("/", portal.Handler(portal.Options{}))
//
// The assets need no build step: they are hand-written ES modules loaded by the browser as they
// are (see docs/portal.md for why). Routing is done in the browser on the URL fragment
// (#/runs/…), so every deep link is served by the same index page.
package portal
