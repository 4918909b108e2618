"""Labels of the member's feed and posts: errors, posting slots, post states (``label("post_slot", p.slot)``)."""

from __future__ import annotations

from neigou.kit.i18n import N_, NP_, Label

feed_error: dict[str, Label] = {
    "group_not_found": N_("That group is not one of yours."),
    "group_archived": N_("That group is archived."),
    "not_in_feed": N_("A chosen product is no longer in today's selection."),
    "duplicate_sku": N_("A product was chosen twice."),
    "duplicate_group": N_("A group was chosen twice."),
    "no_tiers": N_("The program has no tier ladder yet."),
    "member_suspended": N_("Your account is on hold; posts are paused."),
    "post_not_found": N_("That post is not one of yours."),
    "robot_post": N_("That post goes out through the group's robot."),
    "image_type": N_("The QR image must be a PNG or JPEG picture."),
    "image_too_large": N_("The QR image is larger than 1 MB."),
    "live_code_not_found": N_("That live code is not one of yours."),
    "no_groups": N_("Choose at least one group."),
    "post_too_long": N_("The post is too long for the group's chat: choose fewer products."),
    "capacity": N_("The capacity must be a whole number from 1 to 100000."),
}

post_slot: dict[str, Label] = {
    "now": NP_("post slot", "Now"),
    "morning": NP_("post slot", "Morning (08:00)"),
    "noon": NP_("post slot", "Noon (12:00)"),
    "evening": NP_("post slot", "Evening (20:00)"),
}

post_status: dict[str, Label] = {
    "scheduled": NP_("post status", "Scheduled for the robot"),
    "to_copy": NP_("post status", "To copy"),
    "sent": NP_("post status", "Sent by the robot"),
    "copied": NP_("post status", "Posted"),
    "failed": NP_("post status", "Robot failed: copy it"),
}

FAMILIES: dict[str, dict[str, Label]] = {
    "feed_error": feed_error,
    "post_slot": post_slot,
    "post_status": post_status,
}
