"""A merchant's sales by day over a year, for an organization whose programs keep many time zones: the
days of every zone are bound as a constant number of parameters (a row of four each passed PostgreSQL's
65,535 parameters from some 45 zones)."""

from __future__ import annotations

from fastapi.testclient import TestClient

ZONES = [
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Singapore",
    "Asia/Bangkok",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Africa/Cairo",
    "Africa/Lagos",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Europe/Istanbul",
    "America/Mexico_City",
    "America/Bogota",
    "America/Lima",
    "Asia/Ho_Chi_Minh",
    "Asia/Kuala_Lumpur",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Yangon",
    "Asia/Colombo",
    "Asia/Riyadh",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Warsaw",
    "America/Toronto",
    "America/Vancouver",
    "America/Halifax",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Asia/Almaty",
    "Asia/Tashkent",
    "Asia/Baku",
]


def test_a_years_sales_over_many_program_zones_answers(client: TestClient, operator: dict[str, str]) -> None:
    for n, zone in enumerate(ZONES):
        made = client.post(
            "/api/v1/programs",
            json={"code": f"p{n}", "name": f"Program {n}", "timezone": zone},
            headers=operator,
        )
        assert made.status_code == 201, made.text
    shop = client.post("/api/v1/merchants", json={"code": "shop", "name": "Shop"}, headers=operator)
    assert shop.status_code == 201, shop.text
    answer = client.get(
        f"/api/v1/merchants/{shop.json()['id']}/sales?from=2026-01-01&to=2026-12-31&by=day", headers=operator
    )
    assert answer.status_code == 200, answer.text[:300]
    assert (answer.json()["orders"], answer.json()["rows"]) == (0, [])
