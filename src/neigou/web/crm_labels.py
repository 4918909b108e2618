"""Labels of the customer book and pushes (``label("skip_reason", s.reason)``)."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label

cu_power: dict[str, Label] = {
    "low": NP_("spending power", "Low"),
    "mid": NP_("spending power", "Mid"),
    "high": NP_("spending power", "High"),
}

cu_error: dict[str, Label] = {
    "customer_exists": N_("This customer is already in your book."),
    "customer_opted_out": N_(
        "This customer has opted out of personal information processing and cannot be added."
    ),
    "invalid_customer_ref": N_("Enter the customer's mobile number."),
    "invalid_birthday": N_("That birthday is not a plausible date of birth."),
    "invalid": N_("Check the fields and try again."),
}

# Pushes to customers (crm): errors on the composer, channels, message states, skip reasons.
push_error: dict[str, Label] = {
    "no_products": N_("Choose at least one product."),
    "key_too_long": N_("This form's key is too long; nothing was sent. Send the form again."),
    "no_customers": N_("Choose customers or a segment."),
    "customer_not_found": N_("A chosen customer is not in your book."),
    "segment_not_found": N_("That segment is not yours."),
    "segment_empty": N_("That segment holds none of your customers."),
    "segment_too_large": N_(
        "That segment holds more than 500 of your customers; a push reaches at most 500."
    ),
    "unknown_sku": N_("A chosen product does not exist."),
    "product_inactive": N_("A chosen product is no longer on sale."),
    "duplicate_sku": N_("A product was chosen twice."),
    "duplicate_customer": N_("A customer was chosen twice."),
    "template_invalid": N_(
        "The words use a field that does not exist: use {name}, {product}, {group_price}, {app_price}, {link}."
    ),
    "no_tiers": N_("The program has no tier ladder yet."),
    "member_suspended": N_("Your account is on hold; pushes are paused."),
    "not_a_task": N_("This message goes out through the program's channel."),
    "message_not_found": N_("That message is not in this push."),
    "unsendable_url": N_("The target cannot be sent to: check its host name and port."),
    "address_not_allowed": N_(
        "The target is not a public Internet address: pushes go to public addresses only."
    ),
    "idempotency_key_reused": N_("This form was already sent with other choices; open the composer again."),
    "target_required": N_("The webhook channel needs a target URL."),
    "target_not_for_robot": N_(
        "The WeCom group robot channel takes no target URL: each message goes only to the robot of its "
        "customer's own group."
    ),
}

push_channel: dict[str, Label] = {
    "task": N_("Task list"),
    "wecom_robot": N_("WeCom group robot"),
    "webhook": N_("Signed webhook"),
}

push_status: dict[str, Label] = {
    "pending": N_("To send"),
    "sent": NP_("push message", "Sent"),
    "failed": NP_("push message", "Failed"),
}

# Whose robot a robot-channel message went through (``push_messages.sent_via``).
push_via: dict[str, Label] = {
    "group": N_("Through the customer's group robot"),
    "program": N_("Through the program's robot"),
}

skip_reason: dict[str, Label] = {
    "no_consent": N_("No marketing consent"),
    "opted_out": N_("Opted out"),
    "frequency_cap": N_("Frequency cap reached"),
}

# Where a consent decision was taken (``Consent.source``): the sources the platform writes, and the
# demo's store form; a source an API caller named itself is shown as written.
consent_source: dict[str, Label] = {
    "salesperson": N_("recorded by the salesperson"),
    "workspace": N_("added in the workspace"),
    "landing": N_("share-link page"),
    "claim": N_("coupon claim"),
    "order": N_("order"),
    "import": N_("store records import"),
    "store_vip_form": N_("store VIP form"),
}

FAMILIES: dict[str, dict[str, Label]] = {
    "cu_power": cu_power,
    "cu_error": cu_error,
    "push_error": push_error,
    "push_channel": push_channel,
    "push_status": push_status,
    "push_via": push_via,
    "skip_reason": skip_reason,
    "consent_source": consent_source,
}
