"""Attachments' bytes: the core of tus 1.0.0, with the file's SHA-256 as its upload URL.

The reference (attachment.add, through /v1/sync) creates the upload, so there is no tus
creation step: HEAD says how much HQ has, PATCH sends the next chunk at that offset, GET
gives the whole file to those who may see its job."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from fieldtech.domain.errors import BadInput
from fieldtech.hq import uploads
from fieldtech.hq.api_models import TooLarge
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.uploads import Progress
from fieldtech.sync import protocol

router = APIRouter(prefix="/v1", tags=["attachments"])

Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The file's SHA-256")]


def _offsets(got: Progress) -> dict[str, str]:
    return {
        "Tus-Resumable": protocol.TUS_VERSION,
        "Upload-Offset": str(got.received),
        "Upload-Length": str(got.size),
        "Cache-Control": "no-store",
    }


OFFSETS = {
    "Upload-Offset": {"description": "Bytes of the file HQ has", "schema": {"type": "integer"}},
    "Upload-Length": {"description": "The file's size", "schema": {"type": "integer"}},
}


@router.head(
    "/files/{sha256}",
    status_code=200,
    response_class=Response,
    responses={200: {"description": "How much HQ has", "headers": OFFSETS}, **refusals(404, 422)},
)
def file_offset(sha256: Sha, p: Who, hq: Store) -> Response:
    """How much of the file HQ has: Upload-Offset of Upload-Length bytes."""
    return Response(status_code=200, headers=_offsets(uploads.progress(hq, p, sha256)))


@router.patch(
    "/files/{sha256}",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Kept: the new offset", "headers": OFFSETS},
        **refusals(400, 404, 409, 413, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {protocol.OFFSET_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def file_chunk(
    sha256: Sha,
    request: Request,
    p: Who,
    hq: Store,
    upload_offset: Annotated[int, Header(ge=0, le=protocol.MAX_INT)],
    content_type: Annotated[str, Header()] = "",
) -> Response:
    """The next chunk of the file, at Upload-Offset (at most 1 MiB). The bytes that came
    before a cut are kept: the device goes on from the Upload-Offset a HEAD reports."""
    if content_type.split(";")[0].strip() != protocol.OFFSET_TYPE:
        raise BadInput(f"a chunk's Content-Type is {protocol.OFFSET_TYPE}")
    data = bytearray()
    try:
        async for piece in request.stream():
            data += piece
            if len(data) > protocol.MAX_FILE_CHUNK:
                raise TooLarge("a chunk is at most 1 MiB: send less at a time")
    except ClientDisconnect:
        if not data:
            return Response(status_code=400)
    got = await run_in_threadpool(uploads.receive, hq, p, sha256, upload_offset, bytes(data))
    return Response(status_code=204, headers=_offsets(got))


@router.get(
    "/files/{sha256}",
    responses={
        200: {
            "content": {t: {} for t in ("image/jpeg", "image/png", "application/pdf")},
            "description": "The file, or its thumbnail",
        },
        **refusals(400, 404, 409, 422),
    },
)
def file_download(
    sha256: Sha,
    p: Who,
    hq: Store,
    thumb: Annotated[int | None, Query(ge=64, le=1024, description="A JPEG this size")] = None,
) -> Response:
    """The whole file, for someone who may see a job it is attached to; with `thumb`, a
    small JPEG of a picture (its long edge in px), what a device asks for first."""
    got, chunks = uploads.fetch(hq, p, sha256)
    if thumb is not None:
        if got.media_type not in ("image/jpeg", "image/png"):
            raise BadInput("only a picture has a thumbnail")
        if got.size > uploads.THUMB_MAX_BYTES:
            raise BadInput("this picture is too large for HQ to make a thumbnail of it")
        small = uploads.thumbnail(b"".join(chunks), thumb)
        if small is None:
            raise BadInput("HQ cannot read this picture to make its thumbnail")
        return Response(small, media_type="image/jpeg", headers={"Cache-Control": "private"})
    return StreamingResponse(
        chunks,
        media_type=got.media_type,
        headers={"Content-Length": str(got.size), "Cache-Control": "private, max-age=86400"},
    )
