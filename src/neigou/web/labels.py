"""Labels the pages look up by a value (an enum member, an error code, a field name): English msgids,
translated where they are shown: ``label("g_kind", a.kind.value)`` in a template."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label
from neigou.web.audit_labels import FAMILIES as AUDIT_FAMILIES
from neigou.web.catalog_labels import FAMILIES as CATALOG_FAMILIES
from neigou.web.crm_labels import FAMILIES as CRM_FAMILIES
from neigou.web.feed_labels import FAMILIES as FEED_FAMILIES
from neigou.web.ledger_labels import FAMILIES as LEDGER_FAMILIES
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
    "robot busy": N_("not sent yet: the robot had its 20 messages this minute; a later run sends it"),
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
    "invalid_name": N_("Give the group a name (up to 120 characters)."),
}
# Why the console's "register a group" form was refused (?error=).
cg_error: dict[str, Label] = {
    "owner_not_in_program": N_("No member of this program has that ID."),
    "group_name_taken": N_("This owner already has a group with this name."),
    "invalid_name": N_("Give the group a name (up to 120 characters)."),
    "member_not_found": N_("No member of this program has that ID."),
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
# Who acted (``kit.actor.Actor.kind``), where a page names the kind of actor.
actor: dict[str, Label] = {
    "operator": N_("Operator"),
    "integration": N_("Integration"),
    "merchant": N_("Merchant"),
    "cli": N_("Command line"),
    "system": N_("Scheduler"),
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
    "metric": metric,
    "n_metric": n_metric,
    "pv_kind": pv_kind,
    "tr_kind": tr_kind,
    "n_error": n_error,
    "l_error": l_error,
    "ev_error": ev_error,
    "g_error": g_error,
    "cg_error": cg_error,
    "field": field,
    "pv_error": pv_error,
    "actor": actor,
    **CATALOG_FAMILIES,
    **LEDGER_FAMILIES,
    **PLATFORM_FAMILIES,
    **CRM_FAMILIES,
    **MERCHANT_FAMILIES,
    **FEED_FAMILIES,
    **RISK_FAMILIES,
    **AUDIT_FAMILIES,
}
