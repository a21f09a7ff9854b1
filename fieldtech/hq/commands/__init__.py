"""`fieldtech hq …`: HQ's commands. `main` holds the group and the office's work (set-up,
users and devices, catalogue, part requests, the server) and adds `jobs` (dispatch, assign,
cancel, the list, imports); `context` is the HQ they work on; `standards` adds running the
service standards (escalations, call-backs, KPIs, reports, planning)."""
