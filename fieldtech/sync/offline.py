"""A sync by file, for sites with no link (fieldtech.sync.bundles says what the files are).

`export_bundle` writes what the next sync would send, signed by this device's key. It
changes nothing here: every operation stays in the outbox until HQ has acknowledged it, by
a reply imported here or by a sync. `import_reply` checks that a reply is HQ's and for
this device, then applies it as a sync's answer is applied: the outcome settles the
operations it names, and each page of changes goes in with its cursor in one transaction.
A reply older than what the device already holds changes nothing, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldtech.domain.attachments import size_words
from fieldtech.paths import write_whole
from fieldtech.services import Device
from fieldtech.sync import bundles, credentials, keys, outgoing, protocol
from fieldtech.sync.bundles import BadBundle

# JSON of operations one bundle carries at most: what HQ takes in one sync, compressed.
BUNDLE_JSON = 4 * protocol.MAX_BODY


@dataclass(frozen=True)
class Exported:
    path: Path
    operations: int
    waiting: int  # operations left for the next bundle or sync
    size: int
    cursor: int

    def words(self) -> str:
        rest = f"; {self.waiting:,} more wait for the next bundle or sync" if self.waiting else ""
        return (
            f"written {self.path}: {self.operations:,} change(s), {size_words(self.size)}, for "
            f"HQ{rest}. They stay on this device until HQ's reply is imported or a sync goes."
        )


@dataclass(frozen=True)
class ReplyApplied:
    settled: int  # operations of this device HQ acknowledged or refused
    rejected: int
    pulled: int  # rows of changes applied
    cursor: int
    stale: bool  # older than what the device held: nothing changed
    more: bool  # HQ has more for this device than the reply held

    def words(self) -> str:
        if self.stale:
            return "this reply is older than what this device already holds: nothing changed"
        more = "; HQ has more for this device: the next bundle or sync brings it"
        refused = f" ({self.rejected} refused: see `fieldtech outbox`)" if self.rejected else ""
        return (
            f"HQ's reply applied: {self.settled:,} change(s) settled{refused}, "
            f"{self.pulled:,} received{more if self.more else ''}"
        )


def export_bundle(
    device: Device, credential: Path, out: Path, max_size: int | None = None
) -> Exported:
    cred = credentials.load(credential)
    if not cred.get(keys.DEVICE_KEY) or not cred.get(keys.KEY_AT_HQ) or not cred.get(keys.HQ_BOX):
        raise BadBundle(
            "HQ does not hold this device's key yet, so it could not trust a bundle from it: "
            "sync once where there is signal first"
        )
    ops = outgoing.next_batch(
        device, limit=protocol.MAX_OPS, batch_bytes=BUNDLE_JSON, left=max_size
    )
    if max_size is not None and not ops and device.store.outbox("pending", limit=1):
        raise BadBundle(f"nothing waiting fits in {max_size:,} bytes")
    body = outgoing.request_body(device, ops)
    manifest = {
        "kind": bundles.OUTGOING,
        "device": device.device_id,
        "user": cred.get("user", {}).get("id"),
        "cursor": body["cursor"],
        "operations": len(ops),
        "made_at": device.at(),
    }
    data = bundles.pack(manifest, body, str(cred[keys.DEVICE_KEY]), str(cred[keys.HQ_BOX]))
    if max_size is not None and len(data) > max_size:
        raise BadBundle(f"the bundle would be {len(data):,} bytes, over {max_size:,}")
    write_whole(out, data)
    waiting = len(device.store.outbox("pending")) - len(ops)
    return Exported(out, len(ops), waiting, len(data), int(body["cursor"]))


def import_reply(device: Device, credential: Path, data: bytes) -> ReplyApplied:
    cred = credentials.load(credential)
    bundle = bundles.read(data)
    if bundle.kind != bundles.REPLY:
        raise BadBundle(
            "this is a device's bundle for HQ: import it at HQ (fieldtech hq bundle import)"
        )
    if bundle.manifest["device"] != device.device_id:
        raise BadBundle(f"this reply is for device {bundle.manifest['device']}, not this one")
    if not cred.get(keys.HQ_KEY) or not cred.get(keys.DEVICE_BOX):
        raise BadBundle("this device does not hold HQ's key yet: sync once where there is signal")
    bundles.verify(bundle, str(cred[keys.HQ_KEY]), "HQ")
    body = bundle.body(str(cred[keys.DEVICE_BOX]))
    try:
        outcome, pages = dict(body["outcome"]), list(body["pages"])
        sent = [str(i) for i in outcome.pop("sent")]
        reach = int(bundle.manifest["cursor"])
    except (KeyError, TypeError, ValueError):
        raise BadBundle("HQ's reply is not in the form this release reads") from None
    st = device.store
    pending = {o["id"] for o in st.outbox("pending")}
    settles = [i for i in sent if i in pending]
    before = st.pull_cursor()
    more = bool(bundle.manifest.get("more"))
    if not settles and reach <= before:
        return ReplyApplied(0, 0, 0, before, True, more)
    from fieldtech.sync.client import SyncClient, SyncReport

    report = SyncReport()
    client = SyncClient(device, str(cred["hq_url"]), str(cred["token"]))
    try:
        # HQ settles a bundle's operations all at once (or refuses the bundle), so all of
        # those still here are settled: the watermark is the last of them (the bundle's own
        # last one may have been settled by a sync meanwhile).
        client.apply({**outcome, "through": settles[-1] if settles else None}, report, sent=settles)
        for page in pages:
            # A page the device already holds all of (a sync came first) is passed by: its
            # rows are the versions the device has, and the cursor never goes back.
            if int(page.get("cursor", 0)) > st.pull_cursor():
                client.apply(page, report, sent=[])
        with st.transaction():
            st.index_waiting()
    finally:
        client.close()
    rejected = [r for r in report.rejected if r["id"] in settles]
    return ReplyApplied(
        report.acknowledged + len(rejected),
        len(rejected),
        report.pulled,
        st.pull_cursor(),
        False,
        more and reach >= st.pull_cursor(),
    )


@dataclass(frozen=True)
class Carried:
    device: str
    operations: int
    size: int
    new: bool  # False: this very bundle was carried already

    def words(self) -> str:
        again = "" if self.new else " (already carried: kept once)"
        return (
            f"carrying device {self.device}'s bundle ({self.operations:,} change(s), "
            f"{size_words(self.size)}) to HQ with the next sync{again}"
        )


def carry(device: Device, data: bytes) -> Carried:
    """Keep another device's bundle to take to HQ with this device's next sync. It stays
    sealed: this device checks only that it is whole and a device's bundle for HQ."""
    bundle = bundles.read(data)
    if bundle.kind != bundles.OUTGOING:
        raise BadBundle("this is HQ's reply to a device: hand it to that device to import")
    owner = str(bundle.manifest["device"])
    if owner == device.device_id:
        raise BadBundle("this is this device's own bundle: its changes go with its own sync")
    operations = int(bundle.manifest.get("operations") or 0)
    st = device.store
    with st.transaction():
        new = st.keep_carried(bundle.manifest["payload"], owner, operations, data, device.at())
    return Carried(owner, operations, len(data), new)


def hand_over(device: Device, owner: str, out: Path) -> int:
    """Write HQ's newest reply for device `owner` (carried back by this device) to `out`;
    its size. A device may hand over its reply as often as asked: it is only read there."""
    st = device.store
    replies = st.carried_replies(owner)
    if not replies:
        waiting = [c for c in st.carried() if c["device"] == owner]
        if not waiting:
            raise BadBundle(f"this device carries nothing for device {owner}")
        problems = [c["problem"] for c in waiting if c["problem"]]
        if problems:
            raise BadBundle(f"HQ refused device {owner}'s bundle: {problems[-1]}")
        raise BadBundle(f"HQ's reply for device {owner} comes with this device's next sync")
    key, reply = replies[0]
    write_whole(out, reply)
    with st.transaction():
        st.carried_handed(key, device.at())
    return len(reply)


def describe(data: bytes) -> dict[str, Any]:
    """What a bundle says it holds (before anyone checks who signed it)."""
    b = bundles.read(data)
    return {**b.manifest, "bytes": len(data)}
