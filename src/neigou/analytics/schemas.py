"""Request bodies and responses of the analytics endpoints (fen and bp as integers)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class RefreshOut(BaseModel):
    """The refresh ran; for a platform administrator, the rows it copied per table (``opt_outs``:
    opt-outs applied to the store), every organization's: an organization's operator is not told them."""

    refreshed: bool = True
    tables: dict[str, int] | None = None


class RepeatRowOut(BaseModel):
    """Customers whose first order in the range came through the channel, and repeaters."""

    channel: str
    customers: int
    repeat_customers: int
    repeat_rate_bp: int
    # first orders whose window has not ended by the data's time: in neither figure above
    customers_in_window: int = 0


class PriceRowOut(BaseModel):
    """The same split by whether the first order used a hidden coupon."""

    price: str
    customers: int
    repeat_customers: int
    repeat_rate_bp: int
    # first orders whose window has not ended by the data's time: in neither figure above
    customers_in_window: int = 0


class RepeatOut(BaseModel):
    """Repeat purchase within ``window_days`` of the first order, by acquisition channel."""

    program_id: int
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    window_days: int
    channels: list[RepeatRowOut]
    prices: list[PriceRowOut]


class CohortOut(BaseModel):
    """A monthly cohort: ``active[k]`` customers bought in month k after the first (k = 0: all)."""

    month: str
    channel: str
    customers: int
    active: list[int]
    retention_bp: list[int]


class CohortsOut(BaseModel):
    """Monthly cohorts of first orders in the range."""

    program_id: int
    cohorts: list[CohortOut]


class LevelOut(BaseModel):
    """Commission paid at one level, net of reversals."""

    level: int
    commission_fen: int


class EconomicsRowOut(BaseModel):
    """The economics of one day, tier, group, sku or brand (sku and brand: shared line by line)."""

    key: str
    orders: int
    gmv_fen: int
    refund_fen: int
    commission_fen: int
    net_fen: int
    coupon_fen: int
    promotion_fen: int


class EconomicsOut(BaseModel):
    """Orders paid in the range (program time zone) and what they cost and earned."""

    program_id: int
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    orders: int
    gmv_fen: int
    refund_fen: int
    commission_fen: int
    net_fen: int
    coupon_fen: int = Field(description="coupon discounts given on these orders (beside, not subtracted)")
    promotion_fen: int = Field(description="promotion discounts given on these orders (beside)")
    commission_by_level: list[LevelOut]
    by: str | None = Field(default=None, description="the key of ``rows``: day, tier, group, sku or brand")
    rows: list[EconomicsRowOut] | None = Field(
        default=None, description="the same figures per key when ``by`` is given (empty key: none)"
    )


class DepthOut(BaseModel):
    """Members at one level of the invite tree (1: the roots)."""

    level: int
    members: int


class FissionOut(BaseModel):
    """The invite tree over a month."""

    program_id: int
    period: str
    members_at_start: int
    recruits: int
    k_factor_bp: int
    recruits_active_after_30_days: int
    # recruits whose first 30 days have not ended by the data's time (the last refresh)
    recruits_within_30_days: int = 0
    depth: list[DepthOut]


class TierRatesIn(BaseModel):
    """A tier's rates for the simulation."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40)
    share_bp: int = Field(ge=0, le=10_000)
    override_bp: int = Field(ge=0, le=10_000)


class SimulationIn(BaseModel):
    """Recompute commission on the orders paid in ``[from, to]`` with other tier rates."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: dt.date = Field(alias="from")
    to: dt.date
    tiers: list[TierRatesIn] = Field(max_length=50)
    volume_change_bp: int | None = Field(
        default=None,
        ge=-10_000,
        le=100_000,
        description="optional demand assumption: orders change by this much with the new rates",
    )


class SimulationOut(BaseModel):
    """Commission as earned and as simulated (both net of refunds), and the difference."""

    program_id: int
    actual_commission_fen: int
    simulated_commission_fen: int
    delta_fen: int
    volume_change_bp: int | None
    adjusted_commission_fen: int | None
    assumption: str


class ChannelValueOut(BaseModel):
    """Net contribution (paid − refunds − commission) of the customers of one channel, tier or group
    (their first order's), with exact percentiles."""

    key: str = Field(description="the channel, the seller's tier code or the group id; empty: none")
    channel: str | None = Field(description="the key when the split is by channel")
    customers: int
    net_fen: int
    average_net_fen: int
    coupon_fen: int
    promotion_fen: int
    percentiles: dict[str, int] = Field(description='"p10", "p25", "p50", "p75", "p90": net fen per customer')


class TopCustomerOut(BaseModel):
    """A valuable customer by a masked reference."""

    reference: str
    key: str
    orders: int
    net_fen: int
    coupon_fen: int
    promotion_fen: int


class CustomerValueOut(BaseModel):
    """Customers whose first order lies in the range, valued over all their orders."""

    program_id: int
    by: str
    channels: list[ChannelValueOut]
    top: list[TopCustomerOut]


class SkuPriceOut(BaseModel):
    """Group price against list price for one sku."""

    sku: str
    units: int
    list_fen: int
    paid_fen: int
    discount_bp: int
    hidden_units: int
    hidden_paid_fen: int
    hidden_share_bp: int


class ClaimPriceOut(BaseModel):
    """App (list) price against the group price after the claimed coupon, over a sku's claims."""

    sku: str
    claims: int
    hidden_claims: int
    average_list_fen: int
    average_group_fen: int
    discount_bp: int


class PricesOut(BaseModel):
    """Price comparison over orders paid (their quoted lines) and claims made in the range."""

    program_id: int
    list_fen: int
    paid_fen: int
    discount_bp: int
    hidden_share_bp: int
    skus: list[SkuPriceOut]
    claims: int
    claim_discount_bp: int = Field(description="average depth of the claimed discounts, list-weighted")
    claimed_skus: list[ClaimPriceOut]


class FunnelRowOut(BaseModel):
    """Clicks by people → claims → orders → net GMV for one link, member or group."""

    key: int
    clicks: int
    claims: int
    orders: int
    net_fen: int


class FunnelOut(BaseModel):
    """The funnel per link, member or group."""

    program_id: int
    by: str
    rows: list[FunnelRowOut]
