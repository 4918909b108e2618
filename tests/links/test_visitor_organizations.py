"""A visitor's linkage (the cookie that claimed with a phone) holds only for the organization the
shopper gave the phone to: another organization's landing page shows no masked phone, claims nothing
in one tap and adds nobody to its member's customer book until the shopper types the phone there, and
its links' clicks make no touches from the linkage. Linkages stored before the organization was
recorded (NULL) are honoured nowhere."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.links import claim_stream, claims
from neigou.links.models import ClaimSource, CouponClaim, ShareLink, Touch, Visitor
from neigou.links.touches import identify_visitor
from neigou.privacy.models import OptOut
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker
from tests.links.builders import limited_coupon
from tests.links.conftest import behind_gate
from tests.offers import factories as offers
from tests.organizations.builders import Tenant, open_window, tenant

PHONE, MASKED = "13812345678", "138****5678"


def _coupon_link(client: TestClient, owner: Tenant) -> str:
    """A link of ``owner``'s member carrying a coupon of ``owner``'s."""
    coupon = offers.coupon(client, owner.headers, 500, skus=[owner.sku], **open_window())
    made = client.post(
        "/api/v1/links",
        json={"member_id": owner.member_id, "sku": owner.sku, "coupon_id": coupon["id"]},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["code"])


def _claims(factory: sessionmaker[Session], code: str) -> list[str]:
    """The masked references of the claims through the link with this code."""
    with factory() as session:
        query = (
            select(CouponClaim.customer_ref_masked)
            .join(ShareLink, ShareLink.id == CouponClaim.link_id)
            .where(ShareLink.code == code)
        )
        return list(session.scalars(query))


def _one_tap(page: str) -> bool:
    return MASKED in page or 'data-testid="phone"' not in page


def _book(client: TestClient, owner: Tenant) -> list[object]:
    book = client.get(f"/api/v1/members/{owner.member_id}/customers", headers=owner.headers)
    assert book.status_code == 200, book.text
    return list(book.json())


def test_a_shopper_identified_to_one_organization_is_unknown_to_another(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    on_a, on_b = _coupon_link(client, a), _coupon_link(client, b)
    client.get(f"/p/{on_a}")  # the visitor cookie
    client.post(f"/p/{on_a}/claim", data={"phone": PHONE, "marketing": "true"})
    assert _claims(factory, on_a) == [MASKED]
    # B's page neither shows the phone A was given nor claims with it in one tap.
    page = client.get(f"/p/{on_b}").text
    assert not _one_tap(page)
    tapped = client.post(f"/p/{on_b}/claim", data={"marketing": "true"}, follow_redirects=False)
    assert "error=phone_required" in tapped.headers["location"]
    assert _claims(factory, on_b) == []
    assert _book(client, b) == []
    # Typed on B's page, the phone is B's: the claim is taken and the linkage recorded for B.
    done = client.post(f"/p/{on_b}/claim", data={"phone": PHONE, "marketing": "true"})
    assert 'data-testid="claimed"' in done.text
    assert _claims(factory, on_b) == [MASKED]
    assert len(_book(client, b)) == 1
    with factory() as session:
        assert session.scalars(select(Visitor.organization_id)).one() == b.organization_id


def test_one_tap_still_claims_within_the_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    first, second = _coupon_link(client, a), _coupon_link(client, a)
    client.get(f"/p/{first}")
    client.post(f"/p/{first}/claim", data={"phone": PHONE})
    page = client.get(f"/p/{second}").text
    assert MASKED in page
    assert 'data-testid="phone"' not in page
    done = client.post(f"/p/{second}/claim", data={})
    assert 'data-testid="claimed"' in done.text
    assert _claims(factory, second) == [MASKED]


def test_a_linkage_without_an_organization_is_not_honoured(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    first, second = _coupon_link(client, a), _coupon_link(client, a)
    client.get(f"/p/{first}")
    client.post(f"/p/{first}/claim", data={"phone": PHONE})
    with transaction(factory) as session:  # as stored before migration 0052
        session.execute(update(Visitor).values(organization_id=None))
    assert not _one_tap(client.get(f"/p/{second}").text)
    tapped = client.post(f"/p/{second}/claim", data={}, follow_redirects=False)
    assert "error=phone_required" in tapped.headers["location"]
    assert _claims(factory, second) == []


def test_clicks_become_touches_only_in_the_organization_the_visitor_identified_to(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    app: FastAPI,
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    on_a = _coupon_link(client, a)
    client.get(f"/l/{b.link}", follow_redirects=False)  # a click on B's link before identifying
    app.state.links.flush()
    client.post(f"/p/{on_a}/claim", data={"phone": PHONE})
    client.get(f"/l/{b.link}", follow_redirects=False)  # and one after
    client.get(f"/l/{a.link}", follow_redirects=False)
    app.state.links.flush()

    def touched() -> dict[int, set[str]]:
        with factory() as session:
            rows = session.execute(select(Touch.program_id, Touch.kind))
            found: dict[int, set[str]] = {}
            for program_id, kind in rows:
                found.setdefault(program_id, set()).add(kind.value)
            return found

    assert touched() == {a.program_id: {"claim", "click"}}
    # Identified to B (typing the phone there), B's links' clicks become B's touches.
    on_b = _coupon_link(client, b)
    client.post(f"/p/{on_b}/claim", data={"phone": PHONE})
    assert touched()[b.program_id] == {"claim", "click"}


def test_a_claim_written_behind_the_gate_records_the_coupons_organization(
    factory: sessionmaker[Session],
) -> None:
    coupon = limited_coupon(factory, total=5, per_customer=1)
    with transaction(factory) as session:  # a linkage another organization recorded
        session.add(
            Visitor(
                visitor_id="visitor-gate",
                customer_ref_hash="ab" * 32,
                customer_ref_masked="139****0000",
                organization_id=coupon.organization_id + 1000,
                identified_at=utcnow(),
            )
        )
    for stock in behind_gate():
        with transaction(factory) as session:
            made = claims.claim_coupon(
                session,
                coupon_id=coupon.id,
                customer=claims.Customer.from_ref(SECRET, PHONE),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                visitor_id="visitor-gate",
                gate=stock,
            )
        assert made.queued
        assert stock.stream is not None
        assert claim_stream.ClaimWriter(stock.client, stock.stream, factory).drain() == 1
    with factory() as session:
        linkage = session.get(Visitor, "visitor-gate")
        assert linkage is not None
        assert (linkage.organization_id, linkage.customer_ref_masked) == (coupon.organization_id, MASKED)


OTHER_PHONE, OTHER_MASKED = "13987654321", "139****4321"


def test_a_second_shopper_typing_their_number_on_a_shared_browser_takes_it_over(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    first, second, third = (_coupon_link(client, a) for _ in range(3))
    client.get(f"/p/{first}")
    client.post(f"/p/{first}/claim", data={"phone": PHONE})
    client.post(f"/p/{second}/claim", data={"phone": OTHER_PHONE})  # another shopper, same browser
    assert _claims(factory, second) == [OTHER_MASKED]
    page = client.get(f"/p/{third}").text
    assert OTHER_MASKED in page
    assert MASKED not in page
    done = client.post(f"/p/{third}/claim", data={})  # one tap: the second shopper's claim
    assert 'data-testid="claimed"' in done.text
    assert _claims(factory, third) == [OTHER_MASKED]
    with factory() as session:
        assert session.scalars(select(Visitor.customer_ref_masked)).one() == OTHER_MASKED


def test_the_claim_writer_rebinds_a_browser_to_the_shopper_who_claimed_on_it(
    factory: sessionmaker[Session],
) -> None:
    coupon = limited_coupon(factory, total=5, per_customer=1)
    with transaction(factory) as session:  # another shopper's linkage, same organization
        session.add(
            Visitor(
                visitor_id="visitor-shared",
                customer_ref_hash="ab" * 32,
                customer_ref_masked="139****0000",
                organization_id=coupon.organization_id,
                identified_at=utcnow(),
            )
        )
    for stock in behind_gate():
        with transaction(factory) as session:
            made = claims.claim_coupon(
                session,
                coupon_id=coupon.id,
                customer=claims.Customer.from_ref(SECRET, PHONE),
                actor=TEST_ACTOR,
                source=ClaimSource.API,
                visitor_id="visitor-shared",
                gate=stock,
            )
        assert made.queued
        assert stock.stream is not None
        assert claim_stream.ClaimWriter(stock.client, stock.stream, factory).drain() == 1
    with factory() as session:
        linkage = session.get(Visitor, "visitor-shared")
        assert linkage is not None
        assert (linkage.organization_id, linkage.customer_ref_masked) == (coupon.organization_id, MASKED)


def test_an_opted_out_shopper_on_a_shared_browser_leaves_it_linked_to_nobody(
    factory: sessionmaker[Session],
) -> None:
    coupon = limited_coupon(factory, total=5, per_customer=1)
    opted_out = claims.Customer.from_ref(SECRET, OTHER_PHONE)
    with transaction(factory) as session:
        session.add(
            Visitor(
                visitor_id="visitor-shared",
                customer_ref_hash=claims.Customer.from_ref(SECRET, PHONE).ref_hash,
                customer_ref_masked=MASKED,
                organization_id=coupon.organization_id,
                identified_at=utcnow(),
            )
        )
        session.add(
            OptOut(
                request_id="opt-out-1",
                customer_ref_hash=opted_out.ref_hash,
                requested_at=utcnow(),
                actor_kind="shopper",
                actor_ref="test",
                erased={},
            )
        )
    with transaction(factory) as session:
        identify_visitor(
            session,
            visitor_id="visitor-shared",
            customer_ref_hash=opted_out.ref_hash,
            customer_ref_masked=opted_out.masked,
            organization_id=coupon.organization_id,
            at=utcnow(),
        )
    with factory() as session:  # neither the opted-out shopper's nor still the first shopper's
        assert session.get(Visitor, "visitor-shared") is None
