"""HTML form posts run their database work in a worker thread, not on the event loop: while one
waits for SQLite's write turn, the server still answers everyone else."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from sqlalchemy import func, select

from glabella.services import links as link_svc
from glabella.services import patients as patient_svc
from glabella.services.context import Database
from glabella.services.users import UserView
from glabella.settings import Settings
from glabella.store.models import Assessment
from glabella.web.app import create_app


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the write turn is SQLite's
def test_a_form_post_waiting_to_write_does_not_stall_other_requests(
    settings: Settings, db: Database, clinician: UserView
) -> None:
    actor = clinician.actor("test")
    data = patient_svc.parse_patient_input(
        {"mrn": "F-1", "given_name": "Ada", "family_name": "Byron",
         "date_of_birth": "1980-01-01", "sex": "female"}
    )  # fmt: skip
    pid = patient_svc.create_patient(db, actor, data).id
    token = link_svc.create_link(db, actor, pid, ["phq9"], valid_hours=24).token
    form = {f"phq9__phq9_{i}": "0" for i in range(1, 10)}
    app = create_app(settings, db)
    assert db._writer is not None
    held = threading.Event()
    release = threading.Event()

    def hold_the_write_turn() -> None:  # another writer of this process, in a long transaction
        with db.transaction():
            held.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_the_write_turn)
    holder.start()
    assert held.wait(timeout=10)

    async def main() -> tuple[int, bool, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            post = asyncio.ensure_future(c.post(f"/r/{token}", data=form))
            await asyncio.sleep(0.3)  # the post is now waiting for the write turn
            other = await asyncio.wait_for(c.get("/login"), timeout=10)
            post_still_waiting = not post.done()
            release.set()
            submitted = await post
        return other.status_code, post_still_waiting, submitted.status_code

    try:
        other, post_still_waiting, submitted = asyncio.run(main())
    finally:
        release.set()
        holder.join(timeout=30)
    assert other == 200
    # Answered while the post still waited for its turn. Had the post blocked the event loop,
    # nothing else would have run until its wait for the turn timed out, and the post would
    # have finished first.
    assert post_still_waiting
    assert submitted == 200
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 1
