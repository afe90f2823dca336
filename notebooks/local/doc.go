// Package local runs notebooks as Jupyter server processes on this machine: Kiln's embedded
// default.
//
// New finds Jupyter (JupyterLab when installed, else the notebook server; Debian's
// jupyter-notebook provides notebook 6, whose options live in NotebookApp, while notebook 7 and
// JupyterLab use ServerApp). Each notebook gets Dir/<namespace>/<name>/ holding its workspace (the
// server's root directory, kept across stop and start), jupyter.log (kept across restarts) and a
// pid file. The server listens on a free loopback port with base URL /notebook/<namespace>/<name>/
// and a random token passed in the environment (not on the command line, where ps would show it).
//
// A supervisor goroutine per notebook starts the server in its own process group, marks it Running
// once /api/status answers with the token, and restarts it with backoff when it crashes (Failed
// after Options.MaxRestarts). Stopping sends SIGTERM so Jupyter shuts its kernels down, then kills
// the group and every process seen below the server: kernels run in their own sessions, so the
// process group alone would miss them. The same happens after a crash, from the last snapshot of
// the process tree. If Kiln dies without stopping, Linux's parent-death signal kills the server,
// and the pid file (which lists the processes seen below the server) lets the next start kill
// whatever was left behind. Close
// stops every server, so a server shutdown leaves no process and no bound port.
package local
