"""`fieldtech hq …`: HQ's commands. `main` holds the group and the office's work (set-up,
users and devices, dispatch, imports, catalogue, part requests, the server); `standards`
adds running the service standards (escalations, call-backs, KPIs, reports, planning)."""
