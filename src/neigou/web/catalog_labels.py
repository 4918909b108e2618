"""Labels of the catalog and its prices: products, coupons and promotions, the refusal codes of the
offerings' import and pricing, a link's coupon state and how an order is attributed
(``label("coupon_kind", c.kind.value)``)."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label

code: dict[str, Label] = {
    "validation_error": N_("Malformed value"),
    "required": N_("Required"),
    "invalid_amount": N_("Not a valid amount or number"),
    "too_many_decimals": N_("Too many decimals (two at most for money)"),
    "negative_amount": N_("Must not be negative"),
    "percent_out_of_range": N_("A percentage cannot exceed 100%"),
    "invalid_integer": N_("Must be a whole number"),
    "invalid_boolean": N_("active must be true or false."),
    "invalid_datetime": N_("Not a valid date and time"),
    "invalid_value": N_("Invalid value"),
    "sku_taken": N_("This sku exists already"),
    "unknown_sku": N_("Unknown sku"),
    "unknown_brand": N_("Unknown brand"),
    "unknown_category": N_("Unknown category"),
    "unknown_coupon": N_("Unknown coupon"),
    "duplicate_coupon": N_("A coupon can be used once per basket"),
    "product_inactive": N_("This product is off sale"),
    "product_not_found": N_("No such product"),
    "invalid_window": N_("The end must be after the start"),
    "boost_too_high": N_("The boost would take a product's commission rate above 100%"),
    "coupon_not_for_sku": N_("The coupon covers none of these skus"),
    "program_not_found": N_("No such program"),
    "invalid_percent": NP_("discount", "A percentage cannot exceed 100%"),
    "cap_not_allowed": N_("Only percent-off coupons take a cap"),
    "price_out_of_scope": N_("An event-priced sku lies outside the promotion's skus"),
    "import_invalid": N_("The file has errors; nothing was imported"),
    "duplicate_sku": N_("This sku appears twice in the file"),
    "missing_column": N_("A required column is missing"),
    "unknown_column": N_("Unknown column"),
    "duplicate_column": N_("A column appears twice"),
    "wrong_column_count": N_("The row does not have as many cells as the header"),
    "empty_file": N_("The file is empty"),
    "bad_encoding": N_("Unreadable encoding (use UTF-8 or GBK)"),
    "file_too_large": N_("The file is too large"),
    "too_many_rows": N_("Too many rows"),
    "link_required": N_("Hidden coupon: only through a share link"),
    "not_claimed": N_("Hidden coupon not claimed by this customer"),
    "not_active": N_("Not open at this time"),
    "condition_not_met": N_("Condition not met"),
    "min_spend_not_met": N_("Minimum spend not reached (after promotions)"),
    "out_of_scope": N_("Does not cover these skus"),
    "excluded_by_exclusive": N_("Excluded by an exclusive offer"),
    "one_per_kind": N_("Another coupon of this kind is already used"),
    "nothing_to_discount": N_("Nothing left to discount"),
}
visibility: dict[str, Label] = {
    "public": N_("Public"),
    "hidden": N_("Hidden"),
}
stacking: dict[str, Label] = {
    "combinable": N_("Combinable (one coupon per kind)"),
    "exclusive": N_("Exclusive (no other coupon)"),
}
coupon_kind: dict[str, Label] = {
    "amount_off": NP_("coupon kind", "Amount off"),
    "percent_off": N_("Percent off"),
}
promotion_kind: dict[str, Label] = {
    "quantity_discount": N_("Quantity discount"),
    "spend_threshold_off": N_("Spend threshold off"),
    "event_price": N_("Event price"),
}
offer_source: dict[str, Label] = {
    "promotion": N_("Promotion"),
    "coupon": N_("Coupon"),
}
attribution: dict[str, Label] = {
    "last_click": N_("Last click"),
    "first_click": N_("First click"),
    "locked": N_("Locked"),
}
# Why an order went to its member (``links.attribution.Basis``, stored on the order).
basis: dict[str, Label] = {
    "order_link": N_("The order's own share link"),
    "last_touch": N_("Last click"),
    "first_touch": N_("First click"),
    "locked_binding": N_("Locked customer binding"),
    "no_touch": N_("No click in the window"),
}
l_state: dict[str, Label] = {
    "sold_out": N_("Coupon sold out"),
    "expired": N_("Coupon expired"),
    "not_started": N_("Not started yet"),
    "off_sale": N_("Product off sale"),
}

FAMILIES: dict[str, dict[str, Label]] = {
    "code": code,
    "visibility": visibility,
    "stacking": stacking,
    "coupon_kind": coupon_kind,
    "promotion_kind": promotion_kind,
    "offer_source": offer_source,
    "attribution": attribution,
    "basis": basis,
    "l_state": l_state,
}
