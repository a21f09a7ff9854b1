"""The demo: an HQ and a technician's (or supervisor's) device in one process.

The one composition root allowed to import both houses, fieldtech.hq and the device
(app, services, store, sync client); an import contract in pyproject.toml keeps it the only
one."""
