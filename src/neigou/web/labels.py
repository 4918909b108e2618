"""Labels the pages look up by a value (an enum member, an error code, a field name): English msgids,
translated where they are shown: ``label("g_kind", a.kind.value)`` in a template."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label
from neigou.web.audit_labels import FAMILIES as AUDIT_FAMILIES
from neigou.web.crm_labels import FAMILIES as CRM_FAMILIES
from neigou.web.feed_labels import FAMILIES as FEED_FAMILIES
from neigou.web.merchant_labels import FAMILIES as MERCHANT_FAMILIES
from neigou.web.platform_labels import FAMILIES as PLATFORM_FAMILIES
from neigou.web.risk_labels import FAMILIES as RISK_FAMILIES

g_delivery: dict[str, Label] = {
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "skipped": N_("not sent"),
}
# Why a robot message was not sent (stored as these English words on the delivery).
g_delivery_detail: dict[str, Label] = {
    "nothing to report": N_("nothing to report"),
    "no webhook configured": N_("no robot webhook configured"),
}
g_kind: dict[str, Label] = {
    "missed": N_("Missed"),
    "at_risk": N_("At risk"),
}
g_platform: dict[str, Label] = {
    "wechat": N_("WeChat"),
    "wecom": N_("WeCom"),
    "qq": N_("QQ"),
    "other": N_("Other"),
}
g_status: dict[str, Label] = {
    "active": NP_("group status", "Active"),
    "archived": NP_("group status", "Archived"),
}
g_reason: dict[str, Label] = {
    "over_platform_limit": N_("Above the platform's group size limit"),
    "implausible_jump": N_("Implausible jump"),
}
gs_by: dict[str, Label] = {
    "gmv": N_("GMV"),
    "orders": NP_("count", "Orders"),
    "growth": N_("Member growth"),
}
an_channel: dict[str, Label] = {
    "group_link": N_("Share link"),
    "organic": N_("Organic"),
    "push": N_("Push"),
    "event": N_("Live event"),
    "hidden_coupon": N_("Hidden coupon price"),
    "public": N_("Public price"),
}
l_state: dict[str, Label] = {
    "sold_out": N_("Coupon sold out"),
    "expired": N_("Coupon expired"),
    "not_started": N_("Not started yet"),
    "off_sale": N_("Product off sale"),
}
metric: dict[str, Label] = {
    "direct_recruits": N_("recruits"),
    "orders": N_("orders"),
    "gmv_fen": N_("GMV"),
}
n_metric: dict[str, Label] = {
    "orders": NP_("count", "Orders"),
    "gmv_fen": N_("Sales"),
    "recruits": N_("Recruits"),
}
o_account: dict[str, Label] = {
    "pending": N_("Pending"),
    "frozen": N_("Frozen"),
    "available": N_("Available"),
    "withdrawing": N_("Being withdrawn"),
    "withdrawn": N_("Withdrawn"),
    "commission_expense": N_("Platform commission expense"),
    "payout_fees": N_("Withdrawal fees"),
}
o_kind: dict[str, Label] = {
    "commission_earned": N_("Order commission"),
    "commission_frozen": N_("Order completed, commission frozen"),
    "commission_released": N_("Freeze over, commission available"),
    "commission_reversed": N_("Refund, commission reversed"),
    "withdrawal_requested": N_("Withdrawal requested"),
    "withdrawal_rejected": N_("Withdrawal rejected, returned"),
    "withdrawal_paid": N_("Withdrawal paid"),
}
m_kind: dict[str, Label] = {  # a movement as a member reads it on their phone
    "commission_earned": N_("Earned"),
    "commission_frozen": N_("Frozen: order completed"),
    "commission_released": N_("Available: freeze over"),
    "commission_reversed": N_("Clawed back: refund"),
    "withdrawal_requested": N_("Withdrawal requested"),
    "withdrawal_rejected": N_("Withdrawal returned"),
    "withdrawal_paid": N_("Withdrawn"),
}
o_level: dict[str, Label] = {
    "1": N_("Own sale"),
    "2": N_("Upline 1"),
    "3": N_("Upline 2"),
}
o_state: dict[str, Label] = {
    "pending": N_("Pending"),
    "frozen": N_("Frozen"),
    "available": N_("Released"),
    "reversed": N_("Reversed (fully refunded)"),
}
o_status: dict[str, Label] = {
    "requested": N_("Requested"),
    "approved": N_("Approved"),
    "paid": NP_("payout status", "Paid"),
    "rejected": N_("Rejected"),
}
pv_kind: dict[str, Label] = {
    "touches": N_("Attribution touches"),
    "bindings": N_("Locked bindings"),
    "visitors": N_("Visitor linkage"),
    "clicks": N_("Clicks (now anonymous)"),
    "claims": N_("Coupon claims"),
    "claim_counters": N_("Claim counters"),
    "orders": N_("Orders"),
    "members": N_("Member identity"),
    "customers": N_("Customer book entries"),
    "consents": N_("Consent records"),
    "push_messages": N_("Pushed messages"),
    "audit_entries": N_("Customer audit entries (values redacted)"),
    "event_reservations": N_("Event reservations"),
    "event_counts": N_("Event per-person counters"),
    "event_invitations": N_("Event invitation bindings"),
    "event_employees": N_("Event employee-number bindings"),
}
tr_kind: dict[str, Label] = {
    "upgrade": N_("Upgrade"),
    "demotion": N_("Demotion"),
    "manual": N_("Manual change"),
}
n_error: dict[str, Label] = {
    "invalid_name": N_("Enter your name (1–40 characters)."),
    "invalid_phone": N_("Enter an 11-digit mobile number."),
    "failed": N_("Joining failed; please try again."),
    "invalid_period": N_("A month looks like 2026-03; showing this month instead."),
}
o_error: dict[str, Label] = {
    "insufficient_balance": N_("Not enough available balance."),
    "below_minimum": N_("Below the minimum withdrawal."),
    "fee_exceeds_amount": N_("The fee would take the whole amount."),
    "invalid_amount": N_("Enter a valid amount."),
    "invalid_account": N_("That is not an account of this kind: check the number."),
    "invalid_holder": N_("Enter the account holder's name."),
    "request_id_reused": N_("This request was sent already."),
    "withdrawal_before_available": N_(
        "Part of this balance is not available yet; please try again in a few minutes."
    ),
}
ev_error: dict[str, Label] = {
    "guest_quota_exceeded": N_("You have used every guest invitation of this event."),
    "event_not_found": N_("You are not on this event's employee list."),
    "invitation_not_found": N_("This invitation code is not yours."),
    "idempotency_key_reused": N_("These codes were already asked for with another count; reload the page."),
}
l_error: dict[str, Label] = {
    "sold_out": N_("Too late: the coupon is sold out."),
    "limit_reached": N_("You already hold this coupon."),
    "link_required": N_("This coupon can only be claimed through a share link."),
    "not_active": N_("The coupon is not open for claims now."),
    "link_disabled": N_("This share link has been disabled."),
    "invalid_phone": N_("Enter a valid 11-digit mainland mobile number."),
    "phone_required": N_("Enter your mobile number first."),
    "unknown_sku": N_("Unknown product."),
    "product_inactive": N_("The product is off sale."),
    "unknown_coupon": N_("Unknown coupon."),
    "coupon_not_for_sku": N_("This coupon does not cover the chosen product."),
    "coupon_ended": N_("This coupon has ended."),
    "group_not_owned": N_("You can only pick your own groups."),
    "group_archived": NP_("share link", "This group is archived."),
    "no_tiers": N_("The program has no tier ladder yet; ask its operator to set the tiers."),
    "failed": N_("Not done:"),
    "overloaded": N_("Many people are using the service right now. Please try again in a moment."),
}
g_error: dict[str, Label] = {
    "observation_conflict": N_("A different count is recorded for this time."),
    "observed_in_future": N_("The time is in the future."),
    "group_archived": N_("This group is archived."),
    "group_name_taken": N_("You already have a group with this name."),
    "other_member": N_("You can only change your own groups."),
}
# Why the console's "register a group" form was refused (?error=).
cg_error: dict[str, Label] = {
    "owner_not_in_program": N_("No member of this program has that ID."),
    "group_name_taken": N_("This owner already has a group with this name."),
    "invalid_name": N_("Give the group a name (up to 120 characters)."),
    "member_not_found": N_("No member of this program has that ID."),
}
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
field: dict[str, Label] = {
    "sku": N_("Sku"),
    "title": N_("Title"),
    "price_yuan": N_("List price"),
    "price_fen": N_("List price (fen)"),
    "commission_percent": N_("Commission rate"),
    "commission_rate_bp": N_("Commission rate (bp)"),
    "value": NP_("coupon value", "Value"),
    "starts_at": N_("Starts"),
    "ends_at": N_("Ends"),
    "name": N_("Name"),
    "kind": N_("Kind"),
    "skus": N_("Skus"),
    "at": N_("Price at"),
    "tier": N_("Tier"),
    "inviter_id": N_("Inviter"),
    "member_id": N_("Member ID"),
    "username": N_("Username"),
    "password": N_("Password"),
    "min_withdrawal": N_("Smallest withdrawal (yuan)"),
    "fee_fixed": N_("Fixed fee (yuan)"),
    "fee_percent": N_("Fee rate (percent)"),
    "outbound_url": N_("Commission events to (optional)"),
    "coupon_id": N_("Coupon"),
    "group_id": N_("Group ID (optional, the member's own)"),
    "boost_percent": N_("Commission boost"),
    "copy_text": N_("Selling copy"),
    "owner_member_id": N_("Owner"),
}
pv_error: dict[str, Label] = {
    "customer_required": N_("Enter the customer reference."),
    "confirm_required": N_("Tick the confirmation first."),
    "invalid_program": N_("The chosen program is not valid."),
}
visibility: dict[str, Label] = {
    "public": N_("Public"),
    "hidden": N_("Hidden"),
}
payee_kind: dict[str, Label] = {
    "wechat": N_("WeChat"),
    "alipay": N_("Alipay"),
    "bank_card": N_("Bank card"),
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
attribution: dict[str, Label] = {
    "last_click": N_("Last click"),
    "first_click": N_("First click"),
    "locked": N_("Locked"),
}
# Who acted (``kit.actor.Actor.kind``), where a page names the kind of actor.
actor: dict[str, Label] = {
    "operator": N_("Operator"),
    "integration": N_("Integration"),
    "merchant": N_("Merchant"),
    "cli": N_("Command line"),
    "system": N_("Scheduler"),
}
# Why an order went to its member (``links.attribution.Basis``, stored on the order).
basis: dict[str, Label] = {
    "order_link": N_("The order's own share link"),
    "last_touch": N_("Last click"),
    "first_touch": N_("First click"),
    "locked_binding": N_("Locked customer binding"),
    "no_touch": N_("No click in the window"),
}
offer_source: dict[str, Label] = {
    "promotion": N_("Promotion"),
    "coupon": N_("Coupon"),
}
gs_error: dict[str, Label] = {
    "bad_range": N_("The start date is after the end date; showing the last 30 days."),
    "range_too_long": N_("At most 366 days at a time; showing the last 30 days."),
}


role: dict[str, Label] = {
    "operator": N_("Operator"),
    "member": NP_("seller", "Member"),
    "integration": N_("Integration"),
}
# What the access page says after a change (?done=).
access_done: dict[str, Label] = {
    "user_created": N_("Console user created; they can sign in now."),
    "user_stopped": N_("Console user stopped; their sessions have ended."),
    "user_activated": N_("Console user can sign in again."),
    "not_yourself": N_("You cannot stop your own account."),
    "token_revoked": N_("Token revoked; calls with it are refused from now on."),
}

# What a member's card says after a change (?done=).
member_done: dict[str, Label] = {
    "created": N_("Member added. Send them their invite link, or issue them a sign-in under Access."),
    "tier": N_("Tier changed from now on; the change is in the tier history."),
    "inviter": N_("Inviter changed."),
}


FAMILIES: dict[str, dict[str, Label]] = {
    "member_done": member_done,
    "an_channel": an_channel,
    "role": role,
    "access_done": access_done,
    "gs_error": gs_error,
    "g_delivery": g_delivery,
    "g_delivery_detail": g_delivery_detail,
    "g_kind": g_kind,
    "g_platform": g_platform,
    "g_status": g_status,
    "g_reason": g_reason,
    "gs_by": gs_by,
    "l_state": l_state,
    "metric": metric,
    "n_metric": n_metric,
    "o_account": o_account,
    "o_kind": o_kind,
    "m_kind": m_kind,
    "o_level": o_level,
    "o_state": o_state,
    "o_status": o_status,
    "pv_kind": pv_kind,
    "tr_kind": tr_kind,
    "n_error": n_error,
    "o_error": o_error,
    "l_error": l_error,
    "ev_error": ev_error,
    "g_error": g_error,
    "cg_error": cg_error,
    "code": code,
    "field": field,
    "pv_error": pv_error,
    "visibility": visibility,
    "stacking": stacking,
    "payee_kind": payee_kind,
    "coupon_kind": coupon_kind,
    "promotion_kind": promotion_kind,
    "attribution": attribution,
    "basis": basis,
    "actor": actor,
    "offer_source": offer_source,
    **PLATFORM_FAMILIES,
    **CRM_FAMILIES,
    **MERCHANT_FAMILIES,
    **FEED_FAMILIES,
    **RISK_FAMILIES,
    **AUDIT_FAMILIES,
}
