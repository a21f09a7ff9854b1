"""HQ's HTTP API, one APIRouter per area; fieldtech.hq.api assembles them into the app."""
